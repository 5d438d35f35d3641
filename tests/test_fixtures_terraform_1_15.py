"""Every Terraform 1.15.5 fixture (fixtures/terraform-1.15/) through `gatekeeper check`.

The expectations come from each scenario's expected.json, the file scripts/make-fixtures.sh
checks Terraform's own output against: `resource_changes` (plan.json), `log_changes`
(plan.jsonl) and `gate.production`, the destructive changes that are production under
fixtures/terraform-1.15/policy.yml. terraform_data has no `tags`, so under the default policy
nothing is production. What the gate must then decide follows from the plan format and the
code it is given:

- plan.json carries the attributes: gated = production (policy) or nothing (defaults).
- plan.jsonl carries no attributes: without --base-source every destructive change is gated
  (the PR's code alone can make a change production but never clear it); with --source and
  --base-source, gated = production, plus under any policy the destroyed objects whose tags the
  base code can't give (`gate.base_source_unknown`: imported, or known there by another name).
"""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from gatekeeper.cli import main
from gatekeeper.plan.model import LOG_DEPOSED
from gatekeeper.render.report import report_schema
from tests.helpers import FIXTURES, SECRET

pytestmark = pytest.mark.slow  # `gatekeeper check` on every 1.15 scenario: seconds

SET = FIXTURES / "terraform-1.15"
POLICY = SET / "policy.yml"
SCENARIOS = sorted(p.name for p in SET.iterdir() if (p / "base").is_dir())
LOG_DESTRUCTIVE = {"delete", "replace"}
# Terraform's actions -> the report's action word, written out here rather than imported so a
# wrong mapping in gatekeeper/plan.py fails these tests.
SHOW_ACTION = {
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
    ("delete",): "delete",
    ("create",): "create",
    ("update",): "update",
    ("forget",): "forget",
}
LOG_ACTION = {"replace": "replace", "delete": "delete", "create": "create", "update": "update"}
LOG_ACTION["remove"] = "forget"


def expected(scenario: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SET / scenario / "expected.json").read_text("utf-8"))
    return data


OK = [s for s in SCENARIOS if expected(s)["exit"] == "ok"]
ERROR = [s for s in SCENARIOS if expected(s)["exit"] == "error"]


def check(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check", *args])
    out, err = capsys.readouterr()
    return code, out, err


def source_args(scenario: str, source: str) -> list[str]:
    d = SET / scenario
    return {
        "none": [],
        "head": ["--source", str(d / "head")],
        "head+base": ["--source", str(d / "head"), "--base-source", str(d / "base")],
    }[source]


def key(change: dict[str, Any]) -> str:
    return str(change["address"]) + (" (deposed)" if change.get("deposed") else "")


def json_report(
    scenario: str, kind: str, source: str, policy: bool, capsys: pytest.CaptureFixture[str]
) -> tuple[int, dict[str, Any]]:
    args = [str(SET / scenario / kind), "--format", "json", *source_args(scenario, source)]
    if policy:
        args += ["--config", str(POLICY)]
    code, out, err = check(args, capsys)
    assert err == ""
    report: dict[str, Any] = json.loads(out)
    jsonschema.validate(report, report_schema())
    return code, report


def log_destructive(exp: dict[str, Any]) -> set[str]:
    return {a for a, acts in exp["log_changes"].items() if LOG_DESTRUCTIVE & set(acts)}


def expected_gated(scenario: str, kind: str, source: str, policy: bool) -> set[str]:
    exp = expected(scenario)
    production = set(exp["gate"]["production"])
    if kind == "plan.json":
        return production if policy else set()
    unknown = set(exp["gate"].get("base_source_unknown", []))
    if source != "head+base":
        return with_deposed(exp, log_destructive(exp))
    # the log has no deposed keys: a deposed object is known by its address (issue 13: its
    # delete is kept as its own entry, marked deposed, when the address has another change)
    by_address = {a.removesuffix(" (deposed)") for a in production}
    return with_deposed(exp, by_address if policy else unknown)


def with_deposed(exp: dict[str, Any], addresses: set[str]) -> set[str]:
    """The keys the log's entries get: a delete message beside another message for the same
    address is a deposed object's."""
    out = set(addresses)
    for a in addresses:
        acts = exp["log_changes"].get(a, [])
        if "delete" in acts and len(acts) > 1:
            out.add(f"{a} (deposed)")
    return out


def test_every_scenario_is_here() -> None:
    assert len(SCENARIOS) >= 14 and set(OK) | set(ERROR) == set(SCENARIOS)
    assert {"deposed_tainted_cbd", "removed_forget", "import_then_replace", "moved"} <= set(OK)
    for s in OK:
        assert (SET / s / "plan.json").is_file() and (SET / s / "plan.jsonl").is_file()
        assert '"terraform_version":"1.15.5"' in (SET / s / "plan.json").read_text("utf-8")


@pytest.mark.parametrize("scenario", OK)
def test_show_json_actions_per_address(scenario: str, capsys: pytest.CaptureFixture[str]) -> None:
    want = {
        k: v for k, v in expected(scenario)["resource_changes"].items() if v["actions"] != ["no-op"]
    }
    _, report = json_report(scenario, "plan.json", "head", True, capsys)
    got = {key(c): c for c in report["changes"]}
    assert sorted(got) == sorted(want)
    for k, v in want.items():
        assert got[k]["actions"] == v["actions"], k
        assert got[k]["action"] == SHOW_ACTION[tuple(v["actions"])], k
        assert got[k]["action_reason"] == v.get("action_reason"), k
        assert got[k]["destructive"] == ("delete" in v["actions"]), k
    total = len(expected(scenario)["resource_changes"])
    assert report["summary"]["total"] == total


@pytest.mark.parametrize("scenario", OK)
def test_plan_log_actions_per_address(scenario: str, capsys: pytest.CaptureFixture[str]) -> None:
    # `move` and `import` alone are no-ops; a tainted current object and a deposed one give two
    # messages for one address, so only the set of addresses and actions is compared here
    want = {
        a: {LOG_ACTION[x] for x in acts if x in LOG_ACTION}
        for a, acts in expected(scenario)["log_changes"].items()
    }
    want = {a: acts for a, acts in want.items() if acts}
    _, report = json_report(scenario, "plan.jsonl", "head", True, capsys)
    got: dict[str, set[str]] = {}
    for c in report["changes"]:
        # issue 13: a deposed object's delete is its own entry, marked (the log has no key)
        assert len(c["actions"]) == 1 and c["deposed"] in (None, LOG_DEPOSED)
        assert c["deposed"] is None or c["action"] == "delete"
        got.setdefault(c["address"], set()).add(c["action"])
    assert got.keys() == want.keys()
    for a, acts in got.items():
        assert acts <= want[a], a
        assert any(c["destructive"] for c in report["changes"] if c["address"] == a) == bool(
            LOG_DESTRUCTIVE & set(expected(scenario)["log_changes"][a])
        ), a


@pytest.mark.parametrize("policy", [False, True], ids=["default-policy", "scenario-policy"])
@pytest.mark.parametrize("source", ["none", "head", "head+base"])
@pytest.mark.parametrize("kind", ["plan.json", "plan.jsonl"])
@pytest.mark.parametrize("scenario", OK)
def test_gated_addresses(
    scenario: str, kind: str, source: str, policy: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    code, report = json_report(scenario, kind, source, policy, capsys)
    gated = {key(c) for c in report["changes"] if c["gated"]}
    want = expected_gated(scenario, kind, source, policy)
    assert gated == want
    assert code == (1 if want else 0)
    assert report["decision"] == ("block" if want else "allow")
    # forgotten objects stay in the state's real world: never destructive, never gated
    for c in report["changes"]:
        if c["action"] == "forget":
            assert not c["destructive"] and not c["gated"], c["address"]
    if kind == "plan.jsonl" and source == "none":
        assert all(c["possibly_production"] for c in report["changes"] if c["gated"])
    if kind == "plan.json" or source == "head+base":
        definite = {key(c) for c in report["changes"] if c["production"]}
        # under the defaults, what is gated here is only possibly production
        assert definite == (want if policy else set())


@pytest.mark.parametrize("source", ["none", "head"])
@pytest.mark.parametrize("kind", ["plan.json", "plan.jsonl"])
@pytest.mark.parametrize("scenario", OK)
def test_text_and_markdown_name_every_destructive_change(
    scenario: str, kind: str, source: str, capsys: pytest.CaptureFixture[str]
) -> None:
    exp = expected(scenario)
    if kind == "plan.json":
        destructive = {a for a, v in exp["resource_changes"].items() if "delete" in v["actions"]}
        destructive = {a.removesuffix(" (deposed)") for a in destructive}
    else:
        destructive = log_destructive(exp)
    gated = bool(expected_gated(scenario, kind, source, True))
    base = [str(SET / scenario / kind), "--config", str(POLICY), *source_args(scenario, source)]
    code, text, err = check([*base, "--format", "text"], capsys)
    assert code == (1 if gated else 0) and err == ""
    assert text.startswith("BLOCKED:" if gated else "ALLOWED:")
    for address in destructive:
        assert f" {address}  " in text, address
    if source == "head":
        for address in destructive:
            line = next(ln for ln in text.splitlines() if f" {address}  " in ln)
            assert f"at fixtures/terraform-1.15/{scenario}/head/" in line, line
    code, md, err = check([*base, "--format", "markdown"], capsys)
    assert code == (1 if gated else 0) and err == ""
    assert md.startswith("### ⛔ Blocked" if gated else "### ")
    for address in destructive:
        # gated: in the table; not production: in the folded diffs, by Terraform's own line
        assert f"`{address}`" in md or f"\n# {address} " in md, address


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
@pytest.mark.parametrize("kind", ["plan.json", "plan.jsonl"])
def test_errored_plan_file_fails_closed(
    kind: str, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = SET / "plan_errored" / kind
    if kind == "plan.json":
        assert json.loads(plan.read_text("utf-8"))["errored"] is True
    code, out, err = check(
        [
            str(plan),
            "--format",
            fmt,
            "--config",
            str(POLICY),
            "--source",
            str(plan.parent / "head"),
        ],
        capsys,
    )
    assert code == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: ")
    assert ("errored" in lines[0]) if kind == "plan.json" else ("precondition" in lines[0])


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
@pytest.mark.parametrize("scenario", ERROR)
def test_failed_plan_log_is_bad_input(
    scenario: str, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = check([str(SET / scenario / "plan.jsonl"), "--format", fmt], capsys)
    assert code == 2 and out == "" and "Traceback" not in err
    assert expected(scenario)["error_summary"] in err


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
@pytest.mark.parametrize("kind", ["plan.json", "plan.jsonl"])
def test_ephemeral_variable_never_in_output(
    kind: str, fmt: str, capsys: pytest.CaptureFixture[str]
) -> None:
    d = SET / "ephemeral_variables"
    assert SECRET in (d / "plan-args").read_text("utf-8")  # given to terraform plan
    code, out, err = check(
        [str(d / kind), "--format", fmt, "--config", str(POLICY), "--source", str(d / "head")],
        capsys,
    )
    assert code == 1 and "terraform_data.api" in out
    assert SECRET not in out + err


def test_deposed_objects_in_show_json(capsys: pytest.CaptureFixture[str]) -> None:
    # a tainted current object and the deposed old one: two gated changes at one address
    _, report = json_report("deposed_tainted_cbd", "plan.json", "head+base", True, capsys)
    web = [c for c in report["changes"] if c["address"] == "terraform_data.web"]
    assert [(c["action"], c["deposed"] is not None) for c in web] == [
        ("replace", False),
        ("delete", True),
    ]
    assert web[0]["replace_order"] == "create-then-destroy"
    assert web[0]["action_reason"] == "replace_because_tainted"
    assert all(c["gated"] and c["production"] for c in web)
    code, text, _ = check(
        [str(SET / "deposed_tainted_cbd" / "plan.json"), "--config", str(POLICY)], capsys
    )
    assert code == 1 and f"deposed object {web[1]['deposed']}" in text


def test_template_keys_addresses_as_terraform_writes_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = json.loads((SET / "for_each_template_keys" / "plan.json").read_text("utf-8"))
    index = {rc["address"]: rc["index"] for rc in plan["resource_changes"]}
    assert index['terraform_data.member["$${lit}"]'] == "${lit}"
    _, report = json_report("for_each_template_keys", "plan.json", "none", True, capsys)
    assert 'terraform_data.member["$${lit}"]' in {c["address"] for c in report["changes"]}


def test_forget_is_counted_not_gated(capsys: pytest.CaptureFixture[str]) -> None:
    for kind in ("plan.json", "plan.jsonl"):
        _, report = json_report("removed_forget", kind, "head+base", True, capsys)
        assert report["summary"]["by_action"]["forget"] == 4
        forgotten = sorted(c["address"] for c in report["changes"] if c["action"] == "forget")
        assert forgotten == [
            "module.legacy.terraform_data.queue",
            "terraform_data.audit_log",
            'terraform_data.shard["a"]',
            'terraform_data.shard["b"]',
        ]


def test_import_then_replace_is_gated_as_a_replace(capsys: pytest.CaptureFixture[str]) -> None:
    _, report = json_report("import_then_replace", "plan.json", "head", True, capsys)
    (db,) = report["changes"]
    assert (db["address"], db["action"], db["gated"]) == ("terraform_data.db", "replace", True)
    assert "being imported" in db["notes"]
