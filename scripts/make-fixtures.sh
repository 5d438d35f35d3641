#!/usr/bin/env bash
# Regenerates the real Terraform plan fixtures, two sets:
#   fixtures/terraform/<scenario>/       Terraform 1.0.3 + hashicorp/null 2.1.2 (the older format)
#   fixtures/terraform-1.15/<scenario>/  Terraform 1.15.5, built-in terraform_data only (moved,
#                                        removed, import, deposed, checks, errored plans, ...)
#
# For every scenario folder (or only those named on the command line):
#   1. copy base/ (the code on the base branch) to a temp dir, `terraform init` + `apply` it
#      (no cloud, no network);
#   2. replace the .tf sources with head/ (the PR's code) and `terraform init` again (modules);
#   3. run the commands in pre-plan (optional; one terraform command per line, e.g. `taint ADDR`);
#   4. `terraform plan -json -input=false -out=tfplan <plan-args>` > plan.jsonl (the streaming log)
#      and `terraform show -json tfplan` > plan.json;
#   5. check the result against expected.json (scripts/check_fixture.py: actions per address,
#      or the expected error).
#
# Per-scenario files (all optional except base/, head/ and expected.json):
#   plan-args      extra `terraform plan` arguments, one per line (# comments, blank lines ignored)
#   pre-plan       terraform commands run after the swap, before planning, one per line; words are
#                  split on whitespace (no quoting), e.g. `taint null_resource.worker`. A line
#                  starting with `!` must fail (e.g. `! apply -auto-approve -input=false` whose
#                  provisioner fails, to leave tainted and deposed objects in the state).
#   expected.json  see scripts/check_fixture.py; {"exit": "ok", "resource_changes": {...}} or
#                  {"exit": "error", "error_summary": "..."} (plan.json is then removed, unless
#                  "errored_plan": true says Terraform wrote a plan file marked errored).
#
# State, .terraform/ and the lock file stay in the temp dir and are never written to fixtures/.
#
# Terraform, per set:
#   1.0.3:  scripts/terraform/real-terraform.sh installs it into $REALTF_DIR (default
#           /tmp/realtf); or TERRAFORM=/path/to/terraform (and TF_PLUGIN_DIR=dir for an offline
#           plugin dir; without it `terraform init` may try to reach the registry).
#   1.15.5: scripts/terraform/modern-terraform.sh installs it into $MODERNTF_DIR (default
#           /tmp/modern-tf); or TERRAFORM_1_15=/path/to/terraform. terraform_data is built in,
#           so no provider and no plugin dir.
# Other versions produce different plans than the committed ones and may fail the checks.
#
# Usage: bash scripts/make-fixtures.sh [SET | SET/SCENARIO | SCENARIO ...]
#   no arguments: every scenario of both sets; SET is `terraform` or `terraform-1.15`;
#   a bare SCENARIO is looked up in both sets (it must be in exactly one).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
python=${PYTHON:-python3}
sets=(terraform terraform-1.15)

die() { echo "make-fixtures: ERROR: $*" >&2; exit 1; }

command -v "$python" >/dev/null 2>&1 || die "python3 not found (set PYTHON=...)"
checker="$here/check_fixture.py"
[ -f "$checker" ] || die "missing $checker"

# A clean, offline, non-interactive Terraform: no user CLI config, no checkpoint calls, no colour.
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
unset TF_CLI_ARGS TF_CLI_ARGS_plan TF_CLI_ARGS_apply TF_CLI_ARGS_init TF_DATA_DIR TF_WORKSPACE \
      TF_PLUGIN_CACHE_DIR TF_LOG TF_INPUT 2>/dev/null || true
work_root=$(mktemp -d "${TMPDIR:-/tmp}/gk-fixtures.XXXXXX")
trap 'rm -rf "$work_root"' EXIT
printf '# empty: ignore any ~/.terraformrc\n' > "$work_root/terraformrc"
export TF_CLI_CONFIG_FILE="$work_root/terraformrc"

# Per-set Terraform, set up on first use by use_set: TERRAFORM_BIN, TF_VERSION, INIT_ARGS.
current_set=""
TERRAFORM_BIN="" TF_VERSION="" INIT_ARGS=()
declare -A versions_used=()

use_set() {
    local set=$1 installer bin plugin_dir="" pinned
    [ "$set" = "$current_set" ] && return 0
    case "$set" in
        terraform)
            pinned="Terraform v1.0.3"
            bin=${TERRAFORM:-}
            plugin_dir=${TF_PLUGIN_DIR:-}
            if [ -z "$bin" ]; then
                local dir=${REALTF_DIR:-/tmp/realtf}
                installer="$here/terraform/real-terraform.sh"
                [ -f "$installer" ] || die "no TERRAFORM set and $installer not found"
                bash "$installer" "$dir" >&2 || die "$installer failed"
                bin="$dir/terraform"
                plugin_dir=${plugin_dir:-$dir/plugins}
            fi
            ;;
        terraform-1.15)
            pinned="Terraform v1.15.5"
            bin=${TERRAFORM_1_15:-}
            if [ -z "$bin" ]; then
                local dir=${MODERNTF_DIR:-/tmp/modern-tf}
                installer="$here/terraform/modern-terraform.sh"
                [ -f "$installer" ] || die "no TERRAFORM_1_15 set and $installer not found"
                [ -f "$here/terraform/tf-wrapper" ] || die "missing $here/terraform/tf-wrapper"
                bash "$installer" "$dir" >&2 || die "$installer failed"
                bin="$dir/terraform"
            fi
            ;;
        *) die "unknown fixture set $set (expected one of: ${sets[*]})" ;;
    esac
    [ -x "$bin" ] || bin=$(command -v "$bin" 2>/dev/null) || die "terraform not executable: $bin"
    INIT_ARGS=(-input=false -no-color)
    if [ -n "$plugin_dir" ]; then
        [ -d "$plugin_dir" ] || die "plugin dir $plugin_dir is not a directory"
        INIT_ARGS+=("-plugin-dir=$plugin_dir")
    fi
    TERRAFORM_BIN=$bin
    TF_VERSION=$("$TERRAFORM_BIN" version | sed -n 1p)
    [ "$TF_VERSION" = "$pinned" ] \
        || echo "make-fixtures: WARNING: $TF_VERSION is not the pinned $pinned for $set/" >&2
    versions_used[$set]=$TF_VERSION
    current_set=$set
}

# read_lines FILE: prints its non-comment, non-blank lines (leading/trailing spaces trimmed).
read_lines() {
    [ -f "$1" ] || return 0
    sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^#/d' -e '/^$/d' "$1"
}

# tf LOG ARGS...: runs terraform, appending all output to LOG; on failure shows LOG and dies.
tf() {
    local log=$1; shift
    echo "+ terraform $*" >> "$log"
    if ! "$TERRAFORM_BIN" "$@" >> "$log" 2>&1; then
        cat "$log" >&2
        die "terraform $* failed (log above)"
    fi
}

# tf_must_fail LOG ARGS...: runs terraform, which must fail (a `!` line in pre-plan).
tf_must_fail() {
    local log=$1; shift
    echo "+ ! terraform $*" >> "$log"
    if "$TERRAFORM_BIN" "$@" >> "$log" 2>&1; then
        cat "$log" >&2
        die "terraform $* succeeded, but pre-plan says it must fail (log above)"
    fi
}

run_scenario() {
    local set=$1 name=$2
    local src="$root/fixtures/$set/$name"
    local expected="$src/expected.json"
    [ -d "$src/base" ] || die "$set/$name: missing $src/base/"
    [ -d "$src/head" ] || die "$set/$name: missing $src/head/"
    [ -f "$expected" ] || die "$set/$name: missing $expected"
    local expect_exit errored_plan
    read -r expect_exit errored_plan < <("$python" -c '
import json, sys
e = json.load(open(sys.argv[1], encoding="utf-8"))
print(e["exit"], "yes" if e.get("errored_plan") else "no")' "$expected") \
        || die "$set/$name: bad expected.json"
    case "$expect_exit" in ok|error) ;; *) die "$set/$name: expected.json exit must be ok or error" ;; esac
    use_set "$set"

    local work="$work_root/$set/$name/work" out="$work_root/$set/$name/out"
    local log="$work_root/$set/$name/terraform.log"
    mkdir -p "$work" "$out"
    : > "$log"

    # 1. base: init + apply
    cp -R "$src/base/." "$work/"
    rm -rf "$work/.terraform" "$work/.terraform.lock.hcl" "$work"/terraform.tfstate* "$work/tfplan"
    ( cd "$work" && tf "$log" init "${INIT_ARGS[@]}" )
    ( cd "$work" && tf "$log" apply -input=false -no-color -auto-approve )

    # 2. head: remove every base source (keep state, .terraform, lock file), copy head in, re-init
    find "$work" -mindepth 1 -maxdepth 1 ! -name .terraform ! -name .terraform.lock.hcl \
        ! -name 'terraform.tfstate' ! -name 'terraform.tfstate.backup' -exec rm -rf {} +
    cp -R "$src/head/." "$work/"
    rm -rf "$work/.terraform/modules"
    ( cd "$work" && tf "$log" init "${INIT_ARGS[@]}" )

    # 3. pre-plan commands (`!` first: the command must fail)
    local line words
    while IFS= read -r line; do
        if [ "${line:0:1}" = "!" ]; then
            read -r -a words <<< "${line:1}"
            ( cd "$work" && tf_must_fail "$log" "${words[@]}" )
        else
            read -r -a words <<< "$line"
            ( cd "$work" && tf "$log" "${words[@]}" )
        fi
    done < <(read_lines "$src/pre-plan")

    # 4. plan (streaming JSON log) + show -json
    local plan_args=()
    while IFS= read -r line; do plan_args+=("$line"); done < <(read_lines "$src/plan-args")
    local rc=0
    rm -f "$work/tfplan"
    echo "+ terraform plan -json -input=false -out=tfplan ${plan_args[*]:-}" >> "$log"
    ( cd "$work" && "$TERRAFORM_BIN" plan -json -input=false -out=tfplan "${plan_args[@]}" ) \
        > "$out/plan.jsonl" 2>> "$log" || rc=$?
    if [ "$expect_exit" = ok ] && [ "$rc" -ne 0 ]; then
        cat "$log" "$out/plan.jsonl" >&2
        die "$set/$name: terraform plan exited $rc, expected success"
    fi
    if [ "$expect_exit" = error ]; then
        [ "$rc" -ne 0 ] || die "$set/$name: terraform plan succeeded, expected an error"
        if [ "$errored_plan" = yes ]; then
            [ -f "$work/tfplan" ] || die "$set/$name: expected an errored plan file, Terraform wrote none"
        fi
    fi
    if [ "$expect_exit" = ok ] || [ "$errored_plan" = yes ]; then
        ( cd "$work" && "$TERRAFORM_BIN" show -json tfplan ) > "$out/plan.json" 2>> "$log" \
            || { cat "$log" >&2; die "$set/$name: terraform show -json failed"; }
    fi

    # 5. check against expected.json; no temp paths may leak into the fixtures
    "$python" "$checker" "$set/$name" "$expected" "$out" "$work_root" \
        || die "$set/$name: output does not match expected.json"

    # 6. install the outputs (replace, never merge, so reruns are idempotent)
    mv -f "$out/plan.jsonl" "$src/plan.jsonl"
    if [ -f "$out/plan.json" ]; then
        mv -f "$out/plan.json" "$src/plan.json"
    else
        rm -f "$src/plan.json"
    fi
    rm -rf "${work_root:?}/$set/$name"
    echo "make-fixtures: $set/$name ok" >&2
}

# scenarios_of SET: prints every scenario folder of SET (one with a base/).
scenarios_of() {
    local d
    for d in "$root/fixtures/$1"/*/; do
        [ -d "$d/base" ] && echo "$1/$(basename "$d")"
    done
    return 0
}

is_set() { local s; for s in "${sets[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

targets=()
if [ "$#" -eq 0 ]; then
    for s in "${sets[@]}"; do
        while IFS= read -r t; do targets+=("$t"); done < <(scenarios_of "$s")
    done
else
    for arg in "$@"; do
        arg=${arg%/}; arg=${arg#fixtures/}
        if is_set "$arg"; then
            while IFS= read -r t; do targets+=("$t"); done < <(scenarios_of "$arg")
        elif [ "${arg%%/*}" != "$arg" ]; then
            is_set "${arg%%/*}" || die "$arg: unknown set ${arg%%/*} (expected one of: ${sets[*]})"
            [ -d "$root/fixtures/$arg/base" ] || die "$arg: no such scenario"
            targets+=("$arg")
        else
            found=()
            for s in "${sets[@]}"; do
                [ -d "$root/fixtures/$s/$arg/base" ] && found+=("$s/$arg")
            done
            [ "${#found[@]}" -gt 0 ] || die "$arg: no such scenario in ${sets[*]}"
            [ "${#found[@]}" -eq 1 ] || die "$arg: in several sets; name it as SET/$arg (${found[*]})"
            targets+=("${found[0]}")
        fi
    done
fi
[ "${#targets[@]}" -gt 0 ] || die "no scenarios found"
start=$SECONDS
for t in "${targets[@]}"; do
    run_scenario "${t%%/*}" "${t#*/}"
done
used=""
for s in "${sets[@]}"; do [ -n "${versions_used[$s]:-}" ] && used+="; $s/: ${versions_used[$s]}"; done
echo "make-fixtures: regenerated ${#targets[@]} scenario(s) in $((SECONDS - start)) s${used}" >&2
