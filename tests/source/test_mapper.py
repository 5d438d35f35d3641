"""The source map on real Terraform fixtures (fixtures/terraform) and hand-written trees
(fixtures/source): locations, removed blocks, tags from code, lifecycle, bad HCL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gatekeeper.plan.model import Plan
from gatekeeper.policy.model import ProductionPolicy
from gatekeeper.source.model import Location, SourceFacts
from gatekeeper.source.tree import find_repo_root
from tests.helpers import ROOT, TERRAFORM, log_summary
from tests.support.source_trees import (
    SOURCE,
    TRIGGERS,
    analysis,
    facts_for,
    log_plan,
    real,
    rel,
)


def loc(f: SourceFacts) -> tuple[str, int, int, str] | None:
    return (
        None
        if f.location is None
        else (f.location.file, f.location.line, f.location.end_line, f.location.kind)
    )


# ---------------------------------------------------------------- real Terraform fixtures


def test_nested_local_modules_count_and_for_each() -> None:
    head = TERRAFORM / "nested_modules" / "head"
    f = facts_for(real("nested_modules"), head)
    db = rel(head / "modules" / "db" / "main.tf")
    app = rel(head / "modules" / "app" / "main.tf")
    assert loc(f['module.app.module.db["main"].null_resource.primary']) == (db, 17, 23, "resource")
    assert loc(f['module.app.module.db["main"].null_resource.replica[1]']) == (
        db,
        25,
        33,
        "resource",
    )
    assert loc(f["module.app.null_resource.web[2]"]) == (app, 16, 23, "resource")
    # Tags flow root literal -> module.app var -> module.db var (each.key for the name).
    assert f['module.app.module.db["main"].null_resource.primary'].tags["triggers"] == {
        "env": "prod",
        "name": "main",
        "engine_version": "14",
    }
    assert f['module.app.module.db["main"].null_resource.replica[1]'].tags["triggers"] == {
        "env": "prod",
        "name": "main-replica-1",
    }
    assert f["module.app.null_resource.web[2]"].notes == (
        "tags read from the PR's code (give --base-source to read those of the object being "
        "destroyed)",
        f"count is 2 at {app}:17: instance [2] is no longer in the code",
    )
    gone = f['module.app.module.db["analytics"].null_resource.primary']
    assert f"for_each at {app}:27 no longer has the key 'analytics'" in " ".join(gone.notes)
    assert not any(x.removed_from_code for x in f.values())


def test_for_each_awkward_keys_map_to_the_block_and_bind_each_key() -> None:
    scenario = TERRAFORM / "for_each_awkward_keys"
    plan = real("for_each_awkward_keys")
    f = facts_for(plan, scenario / "head", scenario / "base")
    main = rel(scenario / "head" / "main.tf")
    keys = [
        "with space",
        "@org/team",
        "::error::pwned",
        "line\nbreak",
        'double "quoted"',
        "back`tick`",
        "</details><img src=x>",
        "café ☕",
        "${{ github.token }}",
    ]
    for key in keys:
        addr = "null_resource.member[" + json.dumps(key, ensure_ascii=False) + "]"
        assert loc(f[addr]) == (main, 18, 26, "resource"), addr
        assert f[addr].tags["triggers"]["name"] == key
        assert f[addr].tags["triggers"]["env"] == "prod"
    removed = f['null_resource.member["line\\nbreak"]']
    assert any("no longer has the key 'line\\nbreak'" in n for n in removed.notes)
    # A delete reads the base code: rev-1 there (each.value of a key gone from the PR).
    assert removed.tags["triggers"]["rev"] == "rev-1"
    gated = analysis(plan, f, TRIGGERS).gated
    assert len(gated) == 10 and all(c.production for c in gated)


def test_count_shrink_evaluates_count_index() -> None:
    head = TERRAFORM / "count_shrink" / "head"
    f = facts_for(real("count_shrink"), head)
    assert f["null_resource.node[2]"].tags["triggers"] == {"env": "prod", "shard": "shard-2"}
    assert f"count is 1 at {rel(head / 'main.tf')}:2: instance [2] is no longer in the code" in (
        f["null_resource.node[2]"].notes
    )


def test_resource_removed_from_code_without_base_stays_gated() -> None:
    plan = real("removed_from_code")
    f = facts_for(plan, TERRAFORM / "removed_from_code" / "head")
    legacy = f["null_resource.legacy_queue"]
    assert legacy.removed_from_code and legacy.location is None
    assert legacy.unresolved == (
        "tags of null_resource.legacy_queue are unknown: its block was removed from the code "
        "(give --base-source to read them)",
    )
    cache = f["module.cache.null_resource.node"]
    assert cache.removed_from_code
    assert cache.notes[0].startswith(
        "module 'cache' is not called in fixtures/terraform/removed_from_code/head"
    )
    a = analysis(plan, f, TRIGGERS)
    assert [c.possibly_production for c in a.gated] == [True, True]
    assert "its block was removed from the code" in a.gated[0].notes


def test_removed_block_found_in_the_base_code() -> None:
    scenario = TERRAFORM / "removed_from_code"
    plan = real("removed_from_code")
    f = facts_for(plan, scenario / "head", scenario / "base")
    legacy = f["null_resource.legacy_queue"]
    assert loc(legacy) == (rel(scenario / "base" / "main.tf"), 7, 12, "removed_block")
    assert legacy.tags["triggers"] == {"env": "prod", "queue": "orders-v1"}
    node = f["module.cache.null_resource.node"]
    assert loc(node) == (
        rel(scenario / "base" / "modules" / "cache" / "main.tf"),
        5,
        9,
        "removed_block",
    )
    assert node.tags["triggers"] == {"env": "prod"}  # var.env from the base's module call
    assert all(c.production for c in analysis(plan, f, TRIGGERS).gated)


def test_tf_json_source() -> None:
    head = TERRAFORM / "tf_json_source" / "head"
    f = facts_for(real("tf_json_source"), head)
    api = f["null_resource.api"]
    assert loc(api) == (rel(head / "main.tf.json"), 12, 17, "resource")
    assert api.tags["triggers"] == {"env": "prod", "version": "3.0.0"}


def test_create_before_destroy_is_reported() -> None:
    head = TERRAFORM / "replace_create_before_destroy" / "head"
    plan = real("replace_create_before_destroy")
    f = facts_for(plan, head)
    assert f["null_resource.load_balancer"].create_before_destroy
    (c,) = analysis(plan, f, TRIGGERS).gated
    assert "lifecycle.create_before_destroy is set" in c.notes


def test_prevent_destroy_says_terraform_will_refuse() -> None:
    # Terraform refuses to plan this one (only the error log exists), so the log is built here.
    plan = log_plan(("null_resource.db", "replace"))
    f = facts_for(plan, TERRAFORM / "prevent_destroy" / "head")
    assert f["null_resource.db"].prevent_destroy
    (c,) = analysis(plan, f, TRIGGERS).gated
    assert "lifecycle.prevent_destroy is set: Terraform will refuse this destroy" in c.notes


def test_show_json_plans_get_locations_but_tags_come_from_the_plan() -> None:
    head = TERRAFORM / "replace_prod_db" / "head"
    f = facts_for(real("replace_prod_db", "plan.json"), head)
    primary = f["module.prod_db.null_resource.primary"]
    assert loc(primary) == (rel(head / "modules" / "db" / "main.tf"), 9, 15, "resource")
    assert primary.tags == {} and primary.unresolved == ()
    # Creates get a location too.
    assert loc(f["null_resource.notify_queue"]) == (rel(head / "main.tf"), 14, 19, "resource")


def test_paths_are_relative_to_the_repo_root() -> None:
    scenario = TERRAFORM / "nested_modules"
    assert find_repo_root(str(scenario / "head"), os.getcwd()) == str(ROOT)
    f = facts_for(real("nested_modules"), scenario / "head", repo_root=str(scenario))
    assert f["module.app.null_resource.web[2]"].location == Location(
        "head/modules/app/main.tf", 16, 23, "resource"
    )


def test_base_tags_count_for_a_destroy_when_the_pr_retags(tmp_path: Path) -> None:
    base, head = tmp_path / "base", tmp_path / "head"
    for d, env in ((base, "prod"), (head, "dev")):
        d.mkdir()
        (d / "main.tf").write_text(
            f'resource "aws_instance" "x" {{\n  count = 1\n  tags = {{ env = "{env}" }}\n}}\n'
        )
    plan = log_plan(("aws_instance.x[0]", "replace"), ("aws_instance.x[1]", "delete"))
    f = facts_for(plan, head, base, production=ProductionPolicy())
    assert f["aws_instance.x[0]"].tags["tags"] == {"env": "prod"}  # replace: production wins
    assert (
        "tags.env is 'dev' in the PR code and 'prod' in the base code"
        in f["aws_instance.x[0]"].notes
    )
    assert f["aws_instance.x[1]"].tags["tags"] == {"env": "prod"}  # delete: the base's object
    assert all(c.production for c in analysis(plan, f, ProductionPolicy()).gated)
    # Without the base, the PR's (retagged) code is all there is: said in a note.
    f = facts_for(plan, head, production=ProductionPolicy())
    assert f["aws_instance.x[1]"].tags["tags"] == {"env": "dev"}
    assert any("--base-source" in n for n in f["aws_instance.x[1]"].notes)


# ---------------------------------------------------------------- AWS provider default_tags


def test_provider_default_tags() -> None:
    root = SOURCE / "aws_default_tags"
    plan = log_plan(
        ("aws_sns_topic.alerts", "delete"),
        ("aws_sns_topic.scratch", "delete"),
        ("aws_sns_topic.sandbox", "delete"),
        ("module.app.aws_iam_role.worker", "delete"),
        ("module.app_staging.aws_iam_role.worker", "delete"),
        ("module.vpc.aws_vpc.this[0]", "delete"),
    )
    prod = ProductionPolicy()
    # The PR did not touch this code: the base checkout is the same tree. (PR-only code can
    # make a destroy production, never clear it; see tests/source/test_failclosed.py.)
    f = facts_for(plan, root, root, production=prod)
    assert f["aws_sns_topic.alerts"].tags == {
        "tags": {"Name": "alerts"},
        "tags_all": {"Environment": "production", "Team": "data", "Name": "alerts"},
    }
    assert f["aws_sns_topic.scratch"].tags == {
        "tags_all": {"Environment": "staging"}
    }  # aws.staging
    assert f["aws_sns_topic.sandbox"].tags["tags_all"]["Environment"] == "dev"  # own tag wins
    assert f["module.app.aws_iam_role.worker"].tags["tags_all"]["Environment"] == "production"
    assert f["module.app_staging.aws_iam_role.worker"].tags["tags_all"]["Environment"] == "staging"
    vpc = f["module.vpc.aws_vpc.this[0]"]
    assert loc(vpc) == (rel(root / "main.tf"), 39, 43, "module_call")
    assert "terraform-aws-modules/vpc/aws" in vpc.unresolved[0]
    a = analysis(plan, f, prod)
    gated = {c.change.address: c for c in a.gated}
    assert set(gated) == {
        "aws_sns_topic.alerts",
        "module.app.aws_iam_role.worker",
        "module.vpc.aws_vpc.this[0]",
    }
    assert gated["aws_sns_topic.alerts"].production
    assert gated["module.vpc.aws_vpc.this[0]"].possibly_production


# ---------------------------------------------------------------- locals, merge, variables


@pytest.fixture(scope="module")
def locals_facts() -> dict[str, SourceFacts]:
    plan = log_plan(
        *[
            (a, "delete")
            for a in (
                "aws_instance.merged",
                "aws_instance.from_var",
                "aws_instance.conditional",
                "aws_instance.no_default",
                "aws_instance.other_resource",
                "aws_instance.function",
                "aws_instance.irrelevant_unknown",
                "aws_instance.tfvars",
                'aws_instance.each["blue"]',
                'aws_instance.each["green"]',
                "module.svc.aws_lambda_function.handler",
                "module.svc_dev.aws_lambda_function.handler",
            )
        ]
    )
    return facts_for(plan, SOURCE / "locals_merge", production=ProductionPolicy())


def test_merge_of_locals_resolves(locals_facts: dict[str, SourceFacts]) -> None:
    f = locals_facts["aws_instance.merged"]
    assert f.tags["tags"] == {"env": "prod", "team": "core", "tier": "web", "Name": "web-1"}
    assert f.unresolved == ()


def test_root_variable_defaults_resolve_but_stay_overridable(
    locals_facts: dict[str, SourceFacts],
) -> None:
    f = locals_facts["aws_instance.from_var"]
    assert f.tags["tags"] == {"env": "staging"}
    main = rel(SOURCE / "locals_merge" / "main.tf")
    assert f.unresolved == (
        f"tags ({main}:8, PR code): env = 'staging' can change: var.environment is a root module "
        "variable: -var, -var-file or TF_VAR_environment can set it when Terraform runs",
    )
    cond = locals_facts["aws_instance.conditional"]
    assert cond.tags["tags"] == {"env": "nonprod"} and "var.environment" in cond.unresolved[0]


def test_tfvars_value_that_is_production_needs_no_caveat(
    locals_facts: dict[str, SourceFacts],
) -> None:
    f = locals_facts["aws_instance.tfvars"]
    assert f.tags["tags"] == {"stage": "prod"} and f.unresolved == ()


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("aws_instance.no_default", "var.owner has no default: it is set when Terraform runs"),
        (
            "aws_instance.other_resource",
            'aws_instance.merged.tags["env"] is an attribute of another resource',
        ),
        ("aws_instance.function", "format() is not evaluated statically"),
    ],
)
def test_what_does_not_resolve_says_why(
    locals_facts: dict[str, SourceFacts], address: str, reason: str
) -> None:
    f = locals_facts[address]
    assert (
        len(f.unresolved) == 1 and reason in f.unresolved[0] and "env is unknown" in f.unresolved[0]
    )


def test_unknown_values_of_other_keys_do_not_matter(locals_facts: dict[str, SourceFacts]) -> None:
    f = locals_facts["aws_instance.irrelevant_unknown"]
    assert f.tags["tags"] == {"env": "dev"} and f.unresolved == ()


def test_for_each_values_and_module_arguments(locals_facts: dict[str, SourceFacts]) -> None:
    assert locals_facts['aws_instance.each["blue"]'].tags["tags"] == {
        "env": "prod",
        "Name": "node-blue",
    }
    assert locals_facts['aws_instance.each["green"]'].tags["tags"] == {
        "env": "dev",
        "Name": "node-green",
    }
    assert locals_facts["module.svc.aws_lambda_function.handler"].tags["tags"] == {
        "team": "payments",
        "env": "prod",
    }
    dev = locals_facts["module.svc_dev.aws_lambda_function.handler"]
    assert dev.tags["tags"] == {"env": "dev"} and dev.unresolved == ()  # child var default {}


# ---------------------------------------------------------------- lifecycle, moved, removed


def test_lifecycle_moved_and_removed_blocks() -> None:
    root = SOURCE / "lifecycle_moved"
    main = rel(root / "main.tf")
    plan = log_plan(
        ("aws_instance.guarded", "replace"),
        ("aws_instance.new_name", "delete"),
        ("aws_instance.retired", "forget"),
        ("module.legacy.aws_instance.x", "delete"),
    )
    f = facts_for(plan, root, production=ProductionPolicy())
    g = f["aws_instance.guarded"]
    assert (g.prevent_destroy, g.create_before_destroy, g.ignore_changes) == (
        True,
        True,
        ('tags["Owner"]', "ami"),
    )
    assert f"moved block at {main}:17: from aws_instance.old_name to aws_instance.new_name" in (
        f["aws_instance.new_name"].notes
    )
    retired = f["aws_instance.retired"]
    assert retired.removed_from_code and loc(retired) == (main, 22, 28, "file")
    assert (
        f"removed block at {main}:22 for aws_instance.retired: lifecycle.destroy = false: "
        "Terraform forgets it, the object is kept"
    ) in retired.notes
    legacy = f["module.legacy.aws_instance.x"]
    assert loc(legacy) == (main, 30, 32, "file")
    assert f"removed block at {main}:30 for module.legacy: Terraform destroys it" in legacy.notes
    a = analysis(plan, f, ProductionPolicy())
    guarded = next(c for c in a.changes if c.change.address == "aws_instance.guarded")
    assert 'lifecycle.ignore_changes: tags["Owner"], ami' in guarded.notes


def test_tf_json_lifecycle_moved_default_tags_and_templates() -> None:
    root = SOURCE / "tf_json"
    path = rel(root / "main.tf.json")
    plan = log_plan(("aws_sns_topic.events", "delete"), ("aws_iam_role.reader", "delete"))
    f = facts_for(plan, root, production=ProductionPolicy())
    ev = f["aws_sns_topic.events"]
    assert loc(ev) == (path, 17, 27, "resource")
    assert ev.tags["tags"] == {"Owner": "data-team", "tier": "backend"}
    assert ev.tags["tags_all"]["Environment"] == "production"
    assert ev.prevent_destroy and ev.ignore_changes == ("tags",)
    assert (
        f"moved block at {path}:37: from aws_sns_topic.old_events to aws_sns_topic.events"
        in ev.notes
    )
    # "${merge(...)}" as a whole JSON string is the map itself.
    assert f["aws_iam_role.reader"].tags["tags"] == {"env": "dev", "Name": "reader"}


# ---------------------------------------------------------------- bad HCL never stops the gate


@pytest.fixture(scope="module")
def broken() -> tuple[Plan, dict[str, SourceFacts]]:
    plan = log_plan(
        ("aws_instance.web", "delete"),
        ("aws_instance.logs", "delete"),
        ("aws_instance.typo", "delete"),
        ("aws_instance.before", "delete"),
        ("aws_instance.after", "delete"),
    )
    tree = SOURCE / "syntax_error"  # unchanged by the PR: the base checkout is the same tree
    return plan, facts_for(plan, tree, tree, production=ProductionPolicy())


BROKEN = rel(SOURCE / "syntax_error" / "broken.tf")
SYNTAX = f'{BROKEN}:6: HCL syntax error: block resource "aws_instance" "unclosed" is never closed'


def test_a_block_after_a_syntax_error_points_at_the_failure(
    broken: tuple[Plan, dict[str, SourceFacts]],
) -> None:
    _, f = broken
    after = f["aws_instance.after"]
    assert loc(after) == (BROKEN, 6, 6, "file")
    assert not after.removed_from_code  # unknown, not removed
    assert after.unresolved == (
        f"{SYNTAX}: the code of aws_instance.after may be in this file, which does not parse: "
        "its tags are unknown",
    )


def test_whatever_depends_on_a_broken_file_stays_gated(
    broken: tuple[Plan, dict[str, SourceFacts]],
) -> None:
    plan, f = broken
    main = rel(SOURCE / "syntax_error" / "main.tf")
    logs = f["aws_instance.logs"]
    assert loc(logs) == (main, 9, 12, "resource")
    assert "local.common is not declared" in logs.unresolved[0] and SYNTAX in logs.unresolved[0]
    typo = f["aws_instance.typo"]
    assert f"{main}:17: cannot parse tags: unexpected '='" in typo.unresolved[0]
    # Blocks before the error and in other files are still read, with the failure noted.
    assert f["aws_instance.before"].tags["tags"] == {"env": "dev"}
    assert f["aws_instance.web"].tags["tags"] == {"env": "staging"}
    assert f"source: {SYNTAX}" in f["aws_instance.web"].notes
    a = analysis(plan, f, ProductionPolicy())
    assert {c.change.address for c in a.gated} == {
        "aws_instance.logs",
        "aws_instance.typo",
        "aws_instance.after",
    }
    assert all(c.possibly_production for c in a.gated)


def test_a_module_call_hidden_by_bad_hcl_or_without_code_is_unknown_not_removed(
    tmp_path: Path,
) -> None:
    (tmp_path / "modules" / "ok").mkdir(parents=True)
    (tmp_path / "modules" / "ok" / "main.tf").write_text('resource "aws_instance" "x" {}\n')
    (tmp_path / "main.tf").write_text('module "gone_dir" {\n  source = "./modules/nope"\n}\n')
    (tmp_path / "bad.tf").write_text('module "hidden" {\n  source = "./modules/ok"\n')
    plan = log_plan(
        ("module.gone_dir.aws_instance.x", "delete"), ("module.hidden.aws_instance.x", "delete")
    )
    f = facts_for(plan, tmp_path, production=ProductionPolicy(), repo_root=str(tmp_path))
    gone = f["module.gone_dir.aws_instance.x"]
    assert loc(gone) == ("main.tf", 1, 3, "module_call") and not gone.removed_from_code
    assert gone.unresolved == (
        "tags of module.gone_dir.aws_instance.x are unknown: module 'gone_dir': directory "
        "'./modules/nope' not found (main.tf:1)",
    )
    hidden = f["module.hidden.aws_instance.x"]
    assert loc(hidden) == ("bad.tf", 1, 1, "file") and not hidden.removed_from_code
    assert hidden.unresolved == (
        'bad.tf:1: HCL syntax error: block module "hidden" is never closed: the code of '
        "module.hidden.aws_instance.x may be in this file, which does not parse: its tags "
        "are unknown",
    )
    assert all(c.possibly_production for c in analysis(plan, f, ProductionPolicy()).gated)


# ---------------------------------------------------------------- command line


def gk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper", *args], capture_output=True, text=True, cwd=ROOT, env=e
    )


@pytest.mark.slow
def test_cli_check_with_source_on_a_log(tmp_path: Path) -> None:
    cfg = tmp_path / "policy.yml"
    cfg.write_text("production:\n  tag_attributes: [tags, triggers]\n")
    s = "fixtures/terraform/nested_modules"
    r = gk("check", "--config", str(cfg), "--plan", f"{s}/plan.jsonl", "--source", f"{s}/head")
    assert r.returncode == 1, r.stderr
    assert (
        f"module.app.null_resource.web[2]  delete  [plan {s}/plan.jsonl]  "
        f"at {s}/head/modules/app/main.tf:16" in r.stdout
    )
    assert "production: triggers.env = 'prod' (from code)" in r.stdout
    # Without --source the log has no tags: possibly production only.
    r = gk("check", "--config", str(cfg), "--plan", f"{s}/plan.jsonl")
    assert r.returncode == 1 and "from code" not in r.stdout


@pytest.mark.slow
def test_cli_labelled_sources_and_bad_label() -> None:
    a, b = "fixtures/terraform/count_shrink", "fixtures/terraform/tf_json_source"
    r = gk(
        "check",
        "--plan",
        f"a={a}/plan.jsonl",
        "--plan",
        f"b={b}/plan.jsonl",
        "--source",
        f"a={a}/head",
        "--source",
        f"b={b}/head",
        "--format",
        "json",
    )
    report = json.loads(r.stdout)
    files = {c["address"]: (c.get("location") or {}).get("file") for c in report["changes"]}
    assert files["null_resource.node[1]"] == f"{a}/head/main.tf"
    assert files["null_resource.api"] == f"{b}/head/main.tf.json"
    r = gk("check", "--plan", f"a={a}/plan.jsonl", "--source", f"nope={a}/head")
    assert r.returncode == 2 and "no plan is labelled 'nope'" in r.stderr
    r = gk("check", "--plan", f"{a}/plan.jsonl", "--source", "does/not/exist")
    assert r.returncode == 2 and "not a directory" in r.stderr


@pytest.mark.slow
def test_cli_bad_hcl_never_stops_the_gate(tmp_path: Path) -> None:
    s = "fixtures/source/syntax_error"
    change = {"resource": {"addr": "aws_instance.after"}, "action": "delete"}
    lines = [
        {"@level": "info", "type": "version", "terraform": "1.9.0", "ui": "1.2"},
        {"@level": "info", "type": "planned_change", "change": change},
        log_summary(["delete"]),
    ]
    path = tmp_path / "plan.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    r = gk("check", "--plan", str(path), "--source", s)
    assert r.returncode == 1, r.stderr  # blocked: not an error, and never allowed
    assert f"at {s}/broken.tf:6" in r.stdout
    assert "HCL syntax error" in r.stdout


@pytest.mark.slow
def test_reports_with_source_locations_match_the_report_schema(tmp_path: Path) -> None:
    import jsonschema

    schema = json.loads((ROOT / "gatekeeper" / "schemas" / "report.schema.json").read_text())
    change = {"resource": {"addr": "aws_instance.after"}, "action": "delete"}
    lines = [
        {"@level": "info", "type": "version", "ui": "1.2"},
        {"@level": "info", "type": "planned_change", "change": change},
        log_summary(["delete"]),
    ]
    (tmp_path / "plan.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    s = "fixtures/terraform/removed_from_code"
    runs = [
        ("--plan", f"{s}/plan.jsonl", "--source", f"{s}/head", "--base-source", f"{s}/base"),
        ("--plan", str(tmp_path / "plan.jsonl"), "--source", "fixtures/source/syntax_error"),
    ]
    kinds = set()
    for args in runs:
        r = gk("check", "--format", "json", *args)
        report = json.loads(r.stdout)
        jsonschema.validate(report, schema)
        kinds |= {c["location"]["kind"] for c in report["changes"] if c.get("location")}
    assert kinds == {"removed_block", "file"}


def test_check_without_source_does_not_import_python_hcl2() -> None:
    code = (
        "import sys, io, contextlib\n"
        "from gatekeeper.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['check', 'fixtures/terraform/replace_prod_db/plan.json'])\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] in ('hcl2', 'lark') "
        "             or (m.startswith('gatekeeper.source.')"
        "                 and m not in ('gatekeeper.source.cli', 'gatekeeper.source.model'))))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.stdout.strip() == "[]", r.stderr
