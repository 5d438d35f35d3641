#!/usr/bin/env bash
# Regenerates the real Terraform plan fixtures under fixtures/terraform/<scenario>/.
#
# For every scenario folder (or only those named on the command line):
#   1. copy base/ (the code on the base branch) to a temp dir, `terraform init` + `apply` it
#      (hashicorp/null only: no cloud, no network);
#   2. replace the .tf sources with head/ (the PR's code) and `terraform init` again (modules);
#   3. run the commands in pre-plan (optional; one terraform command per line, e.g. `taint ADDR`);
#   4. `terraform plan -json -input=false -out=tfplan <plan-args>` > plan.jsonl (the streaming log)
#      and `terraform show -json tfplan` > plan.json;
#   5. check the result against expected.json (actions per address, or the expected error).
#
# Per-scenario files (all optional except base/, head/ and expected.json):
#   plan-args      extra `terraform plan` arguments, one per line (# comments, blank lines ignored)
#   pre-plan       terraform commands run after the swap, before planning, one per line; words are
#                  split on whitespace (no quoting), e.g. `taint null_resource.worker`
#   expected.json  {"exit": "ok", "resource_changes": {ADDR: {"actions": [...], "action_reason": ...}}}
#                  or {"exit": "error", "error_summary": "substring of the error diagnostic summary"}
#                  (for "error" scenarios only plan.jsonl is written, and plan.json is removed).
#
# State, .terraform/ and the lock file stay in the temp dir and are never written to fixtures/.
#
# Terraform: by default the pinned Terraform 1.0.3 + hashicorp/null 2.1.2 that
# ../shared/tools/real-terraform.sh installs (into $REALTF_DIR, default /tmp/realtf).
# Or set TERRAFORM=/path/to/terraform (and TF_PLUGIN_DIR=dir for an offline plugin dir; without it
# `terraform init` may try to reach the registry). Other versions produce different plans than the
# committed ones and may fail the expected.json checks.
#
# Usage: bash scripts/make-fixtures.sh [scenario ...]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
fixtures="$root/fixtures/terraform"
python=${PYTHON:-python3}

die() { echo "make-fixtures: ERROR: $*" >&2; exit 1; }

command -v "$python" >/dev/null 2>&1 || die "python3 not found (set PYTHON=...)"

if [ -z "${TERRAFORM:-}" ]; then
    realtf=${REALTF_DIR:-/tmp/realtf}
    installer="$root/../shared/tools/real-terraform.sh"
    [ -f "$installer" ] || die "no TERRAFORM set and $installer not found"
    bash "$installer" "$realtf" >&2 || die "$installer failed"
    TERRAFORM="$realtf/terraform"
    TF_PLUGIN_DIR=${TF_PLUGIN_DIR:-$realtf/plugins}
fi
[ -x "$TERRAFORM" ] || TERRAFORM=$(command -v "$TERRAFORM" 2>/dev/null) || die "terraform not executable: ${TERRAFORM}"
init_args=(-input=false -no-color)
if [ -n "${TF_PLUGIN_DIR:-}" ]; then
    [ -d "$TF_PLUGIN_DIR" ] || die "TF_PLUGIN_DIR=$TF_PLUGIN_DIR is not a directory"
    init_args+=("-plugin-dir=$TF_PLUGIN_DIR")
fi

# A clean, offline, non-interactive Terraform: no user CLI config, no checkpoint calls, no colour.
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
unset TF_CLI_ARGS TF_CLI_ARGS_plan TF_CLI_ARGS_apply TF_CLI_ARGS_init TF_DATA_DIR TF_WORKSPACE \
      TF_PLUGIN_CACHE_DIR TF_LOG TF_INPUT 2>/dev/null || true
work_root=$(mktemp -d "${TMPDIR:-/tmp}/gk-fixtures.XXXXXX")
trap 'rm -rf "$work_root"' EXIT
printf '# empty: ignore any ~/.terraformrc\n' > "$work_root/terraformrc"
export TF_CLI_CONFIG_FILE="$work_root/terraformrc"

tf_version=$("$TERRAFORM" version | head -n1)
case "$tf_version" in
    "Terraform v1.0.3") ;;
    *) echo "make-fixtures: WARNING: $tf_version is not the pinned Terraform v1.0.3" >&2 ;;
esac

# read_lines FILE: prints its non-comment, non-blank lines (leading/trailing spaces trimmed).
read_lines() {
    [ -f "$1" ] || return 0
    sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//' -e '/^#/d' -e '/^$/d' "$1"
}

# tf LOG ARGS...: runs terraform, appending all output to LOG; on failure shows LOG and dies.
tf() {
    local log=$1; shift
    echo "+ terraform $*" >> "$log"
    if ! "$TERRAFORM" "$@" >> "$log" 2>&1; then
        cat "$log" >&2
        die "terraform $* failed (log above)"
    fi
}

run_scenario() {
    local name=$1
    local src="$fixtures/$name"
    local expected="$src/expected.json"
    [ -d "$src/base" ] || die "$name: missing $src/base/"
    [ -d "$src/head" ] || die "$name: missing $src/head/"
    [ -f "$expected" ] || die "$name: missing $expected"
    local expect_exit
    expect_exit=$("$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))["exit"])' "$expected") \
        || die "$name: bad expected.json"
    case "$expect_exit" in ok|error) ;; *) die "$name: expected.json exit must be ok or error" ;; esac

    local work="$work_root/$name/work" out="$work_root/$name/out" log="$work_root/$name/terraform.log"
    mkdir -p "$work" "$out"
    : > "$log"

    # 1. base: init + apply
    cp -R "$src/base/." "$work/"
    rm -rf "$work/.terraform" "$work/.terraform.lock.hcl" "$work"/terraform.tfstate* "$work/tfplan"
    ( cd "$work" && tf "$log" init "${init_args[@]}" )
    ( cd "$work" && tf "$log" apply -input=false -no-color -auto-approve )

    # 2. head: remove every base source (keep state, .terraform, lock file), copy head in, re-init
    find "$work" -mindepth 1 -maxdepth 1 ! -name .terraform ! -name .terraform.lock.hcl \
        ! -name 'terraform.tfstate' ! -name 'terraform.tfstate.backup' -exec rm -rf {} +
    cp -R "$src/head/." "$work/"
    rm -rf "$work/.terraform/modules"
    ( cd "$work" && tf "$log" init "${init_args[@]}" )

    # 3. pre-plan commands
    local line words
    while IFS= read -r line; do
        read -r -a words <<< "$line"
        ( cd "$work" && tf "$log" "${words[@]}" )
    done < <(read_lines "$src/pre-plan")

    # 4. plan (streaming JSON log) + show -json
    local plan_args=()
    while IFS= read -r line; do plan_args+=("$line"); done < <(read_lines "$src/plan-args")
    local rc=0
    echo "+ terraform plan -json -input=false -out=tfplan ${plan_args[*]:-}" >> "$log"
    ( cd "$work" && "$TERRAFORM" plan -json -input=false -out=tfplan "${plan_args[@]}" ) \
        > "$out/plan.jsonl" 2>> "$log" || rc=$?
    if [ "$expect_exit" = ok ]; then
        if [ "$rc" -ne 0 ]; then
            cat "$log" "$out/plan.jsonl" >&2
            die "$name: terraform plan exited $rc, expected success"
        fi
        ( cd "$work" && "$TERRAFORM" show -json tfplan ) > "$out/plan.json" 2>> "$log" \
            || { cat "$log" >&2; die "$name: terraform show -json failed"; }
    else
        [ "$rc" -ne 0 ] || die "$name: terraform plan succeeded, expected an error"
    fi

    # 5. check against expected.json; no temp paths may leak into the fixtures
    "$python" - "$name" "$expected" "$out" "$work_root" <<'PY' || die "$name: output does not match expected.json"
import json, os, sys
name, expected_path, out, work_root = sys.argv[1:]
expected = json.load(open(expected_path, encoding="utf-8"))
problems = []
events = []
with open(os.path.join(out, "plan.jsonl"), encoding="utf-8") as fh:
    for n, line in enumerate(fh, 1):
        if not line.strip():
            continue
        try:
            events.append(json.loads(line))
        except ValueError as exc:
            problems.append(f"plan.jsonl line {n} is not JSON: {exc}")
if not events or events[0].get("type") != "version":
    problems.append("plan.jsonl does not start with a version message")
for fn in ("plan.json", "plan.jsonl"):
    p = os.path.join(out, fn)
    if os.path.exists(p) and work_root in open(p, encoding="utf-8").read():
        problems.append(f"{fn} contains the temp dir path {work_root}")
errors = [e for e in events if e.get("type") == "diagnostic" and e.get("diagnostic", {}).get("severity") == "error"]
if expected["exit"] == "error":
    want = expected["error_summary"]
    if not any(want in e["diagnostic"].get("summary", "") for e in errors):
        problems.append(f"no error diagnostic with summary containing {want!r}; got "
                        f"{[e['diagnostic'].get('summary') for e in errors]}")
else:
    if errors:
        problems.append(f"unexpected error diagnostics: {[e['diagnostic'].get('summary') for e in errors]}")
    plan = json.load(open(os.path.join(out, "plan.json"), encoding="utf-8"))
    if "format_version" not in plan:
        problems.append("plan.json has no format_version")
    got = {}
    for rc in plan.get("resource_changes", []):
        got[rc["address"]] = {"actions": rc["change"]["actions"]}
        if "action_reason" in rc:
            got[rc["address"]]["action_reason"] = rc["action_reason"]
    want = expected["resource_changes"]
    for addr in sorted(set(want) | set(got)):
        if want.get(addr) != got.get(addr):
            problems.append(f"{addr}: expected {want.get(addr)}, got {got.get(addr)}")
    # the streaming log must agree with plan.json on what changes
    summary = [e for e in events if e.get("type") == "change_summary"]
    if len(summary) != 1:
        problems.append(f"plan.jsonl has {len(summary)} change_summary messages, expected 1")
for p in problems:
    print(f"  {name}: {p}", file=sys.stderr)
sys.exit(1 if problems else 0)
PY

    # 6. install the outputs (replace, never merge, so reruns are idempotent)
    mv -f "$out/plan.jsonl" "$src/plan.jsonl"
    if [ "$expect_exit" = ok ]; then
        mv -f "$out/plan.json" "$src/plan.json"
    else
        rm -f "$src/plan.json"
    fi
    rm -rf "$work_root/$name"
    echo "make-fixtures: $name ok" >&2
}

scenarios=()
if [ "$#" -gt 0 ]; then
    scenarios=("$@")
else
    for d in "$fixtures"/*/; do
        [ -d "$d/base" ] && scenarios+=("$(basename "$d")")
    done
fi
[ "${#scenarios[@]}" -gt 0 ] || die "no scenarios found under $fixtures"
for s in "${scenarios[@]}"; do
    run_scenario "$s"
done
echo "make-fixtures: regenerated ${#scenarios[@]} scenario(s) with $tf_version" >&2
