"""Issue 13: corrupted plans are gated or refused, never allowed; every input problem is exit 2
with a one-line cause and a hint; plan logs lose no message. One minimal reproducer per
finding, named by what it proves (each failed on the code before the fix)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cli import main
from gatekeeper.errors import PlanError
from gatekeeper.plan.model import LOG_DEPOSED, Action
from gatekeeper.plan.parse import parse_plan
from tests.helpers import FIXTURES, fixture_plan

TRIGGERS = "production:\n  tag_attributes: [triggers]\n"
TF115 = FIXTURES / "terraform-1.15"
DATA = Path(__file__).parents[1] / "data" / "terraform-1.15"


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def prod_db() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(fixture_plan("replace_prod_db").read_text("utf-8"))
    return doc


def check(
    tmp_path: Path, data: bytes, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, str, str]:
    cfg = tmp_path / "policy.yml"
    cfg.write_text(TRIGGERS)
    plan = tmp_path / "plan.json"
    plan.write_bytes(data)
    return run(["check", "--config", str(cfg), str(plan), *extra], capsys)


def assert_bad_input(code: int, out: str, err: str, cause: str) -> None:
    lines = err.splitlines()
    assert code == 2 and out == "", err
    assert len(lines) == 2 and lines[0].startswith("error: ") and cause in lines[0], err
    assert lines[1].startswith("hint: "), err


def dumps(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


# ---------------------------------------------------------------- corrupted plans


def test_the_fixture_is_blocked_before_any_corruption(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert check(tmp_path, dumps(prod_db()), capsys)[0] == 1


def test_invalid_utf8_inside_a_skipped_json_key_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = dumps(prod_db()).replace(b'"resource_changes"', b'"resource_\xffchanges"')
    assert_bad_input(*check(tmp_path, data, capsys), "invalid UTF-8 at byte")


def test_invalid_utf8_inside_a_raw_attribute_value_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = dumps(prod_db()).replace(b'"orders-prod"', b'"orders-\xc3prod"', 1)
    assert_bad_input(*check(tmp_path, data, capsys), "invalid UTF-8 at byte")


def test_invalid_utf8_in_a_corpus_plan_key_does_not_drop_its_gated_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = (FIXTURES / "corpus" / "terraform-json" / "actions_invocations.json").read_bytes()
    assert b'"action_invocations"' in data
    code, out, err = check(
        tmp_path, data.replace(b'"action_invocations"', b'"act\xffions"'), capsys
    )
    assert_bad_input(code, out, err, "invalid UTF-8")


def test_a_bit_flip_in_the_resource_changes_key_is_refused_not_read_as_no_changes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = dumps(prod_db()).replace(b'"resource_changes"', b'"resource_changds"')
    code, out, err = check(tmp_path, data, capsys)
    assert_bad_input(code, out, err, "the plan's parts disagree: planned_values lists")


def test_a_destroy_plan_without_resource_changes_is_refused_by_prior_state(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(fixture_plan("destroy_all").read_text("utf-8"))
    assert doc["prior_state"]["values"]["root_module"] and doc["resource_changes"]
    doc["resource_changds"] = doc.pop("resource_changes")
    code, out, err = check(tmp_path, dumps(doc), capsys)
    assert_bad_input(code, out, err, "prior_state lists")


def test_applyable_true_with_nothing_changing_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = {"format_version": "1.2", "applyable": True, "complete": True, "planned_values": {}}
    assert_bad_input(*check(tmp_path, dumps(doc), capsys), "`applyable` is true")
    doc["applyable"] = False  # an honest empty plan is still fine
    assert check(tmp_path, dumps(doc), capsys)[0] == 0


def test_applyable_false_with_a_destroy_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = prod_db()
    doc["applyable"] = False
    assert_bad_input(*check(tmp_path, dumps(doc), capsys), "`applyable` is false")


def test_a_plan_marked_incomplete_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = prod_db()
    doc["complete"] = False
    assert_bad_input(*check(tmp_path, dumps(doc), capsys), "`complete: false`")


def test_real_terraform_1_15_plans_pass_the_cross_checks() -> None:
    for plan in sorted(TF115.glob("*/plan.json")):
        if plan.parent.name.startswith("plan_"):
            continue  # the errored ones
        parse_plan(plan.read_bytes(), label="p", path=str(plan))


def _delete_without_before(doc: dict[str, Any], how: str) -> None:
    doc.pop("prior_state")  # its copy of the object would give the tags (tested below)
    change = doc["resource_changes"][0]["change"]
    change["actions"] = ["delete"]
    change["after"] = None
    if how == "null":
        change["before"] = None
    else:
        del change["before"]


@pytest.mark.parametrize("how", ["null", "missing"])
def test_a_delete_without_before_is_possibly_production(
    how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = prod_db()
    _delete_without_before(doc, how)
    code, out, _ = check(tmp_path, dumps(doc), capsys)
    assert code == 1
    assert "possibly production: the plan gives no `before` object for this delete" in out


def test_a_replace_with_both_sides_null_is_possibly_production(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = prod_db()
    doc.pop("prior_state")
    doc["resource_changes"][0]["change"].update(before=None, after=None)
    code, out, _ = check(tmp_path, dumps(doc), capsys)
    assert code == 1 and "the plan gives neither side of this replace" in out


@pytest.mark.parametrize(
    ("tags", "shape"),
    [
        ("env=prod", "a string"),
        ({"env": ["prod"]}, "a map whose 'env' is a list"),
        ({"env": {"v": "prod"}}, "a map whose 'env' is a map"),
        (["env", "prod"], "a list"),
    ],
)
def test_a_tag_attribute_that_is_not_a_map_of_strings_is_possibly_production(
    tags: Any, shape: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = prod_db()
    change = doc["resource_changes"][0]["change"]
    change["before"]["triggers"] = tags
    change["after"]["triggers"] = copy.deepcopy(tags)
    code, out, _ = check(tmp_path, dumps(doc), capsys)
    assert code == 1
    assert f"possibly production: before.triggers is {shape}, not a map of strings" in out


# ---------------------------------------------------------------- exit 3 that must be exit 2


def test_a_number_out_of_range_in_a_destroyed_object_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = dumps(prod_db()).replace(b'"engine_version": "13.4"', b'"engine_version": 1e400')
    code, out, err = check(tmp_path, data, capsys)
    assert_bad_input(code, out, err, "module.prod_db.null_resource.primary: before cannot be read")


def test_an_integer_of_5000_digits_in_a_value_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = dumps(prod_db()).replace(
        b'"engine_version": "13.4"', b'"engine_version": ' + b"9" * 5000
    )
    assert_bad_input(*check(tmp_path, data, capsys), "before cannot be read")


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_an_integer_1e29_as_after_is_never_exit_3(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = prod_db()
    doc["resource_changes"][0]["change"]["after"] = 10**29
    code, _, err = check(tmp_path, dumps(doc), capsys, "--format", fmt)
    assert code in (1, 2) and "internal error" not in err


def test_a_format_version_of_5000_digits_is_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = prod_db()
    doc["format_version"] = "1" * 5000 + ".0"
    assert_bad_input(*check(tmp_path, dumps(doc), capsys), "unrecognized format_version '111")


# ---------------------------------------------------------------- plan logs, Terraform 1.15.5


def test_a_deposed_objects_delete_in_the_log_is_kept_and_told_apart() -> None:
    plan = TF115 / "deposed_tainted_cbd" / "plan.jsonl"
    changes = parse_plan(plan.read_bytes(), label="p", path="p").changes
    web = [(c.action, c.deposed) for c in changes if c.address == "terraform_data.web"]
    assert len(web) == 2 and set(web) == {(Action.DELETE, LOG_DEPOSED), (Action.REPLACE, None)}


def test_two_tainted_plus_deposed_objects_count_as_terraforms_remove_4(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two addresses, each a tainted current object and a deposed one: `"remove": 4`. The
    report showed "2 replace"; it shows the two deposed deletes too, as separate entries."""
    lines = []
    for addr in ('terraform_data.x["a"]', 'terraform_data.x["b"]'):
        res = {"addr": addr, "resource_type": "terraform_data", "resource_name": "x"}
        lines.append(
            {
                "@level": "info",
                "type": "planned_change",
                "change": {"resource": res, "action": "delete"},
            }
        )
    for addr in ('terraform_data.x["a"]', 'terraform_data.x["b"]'):
        res = {"addr": addr, "resource_type": "terraform_data", "resource_name": "x"}
        change = {"resource": res, "action": "replace", "reason": "tainted"}
        lines.append({"@level": "info", "type": "planned_change", "change": change})
    summary = {"add": 2, "change": 0, "import": 0, "remove": 4, "operation": "plan"}
    lines.append({"@level": "info", "type": "change_summary", "changes": summary})
    path = tmp_path / "plan.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    code, out, _ = run(["check", str(path), "--format", "json"], capsys)
    report = json.loads(out)
    assert code == 1 and report["summary"]["by_action"] == {"delete": 2, "replace": 2}
    assert sorted((c["action"], c["deposed"]) for c in report["changes"]) == [
        ("delete", LOG_DEPOSED),
        ("delete", LOG_DEPOSED),
        ("replace", None),
        ("replace", None),
    ]


@pytest.mark.parametrize(
    ("summary", "cause"),
    [
        ({"add": 0, "change": 0, "remove": 1}, "says 0 to add but 1 create messages"),
        ({"add": 1, "change": 1, "remove": 1}, "says 1 to change but 0 update messages"),
        ({"add": 1, "change": 0, "remove": 0}, "says 0 to destroy but 1 destroy messages"),
    ],
)
def test_a_log_whose_change_summary_disagrees_with_its_messages_is_refused(
    summary: dict[str, int], cause: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    res = {"addr": "a.b", "resource_type": "a", "resource_name": "b"}
    lines = [
        {
            "@level": "info",
            "type": "planned_change",
            "change": {"resource": res, "action": "replace"},
        },
        {"@level": "info", "type": "change_summary", "changes": {**summary, "operation": "plan"}},
    ]
    path = tmp_path / "plan.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    assert_bad_input(*run(["check", str(path)], capsys), cause)


def test_a_for_each_key_with_a_template_sequence_is_found_in_the_code(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Terraform 1.15 writes the key `${lit}` as `["$${lit}"]`: the lookup undoes the escape,
    so the dev objects are not gated with "for_each has no key '$${lit}'"."""
    cfg = tmp_path / "policy.yml"
    cfg.write_text("production:\n  tag_attributes: [input]\n")
    src = str(DATA / "template_keys_dev")
    code, out, _ = run(
        [
            "check",
            "--config",
            str(cfg),
            "--source",
            src,
            "--base-source",
            src,
            str(DATA / "template_keys_dev" / "plan.jsonl"),
            "--format",
            "json",
        ],
        capsys,
    )
    report = json.loads(out)
    gated = {c["address"] for c in report["changes"] if c["gated"]}
    assert code == 1 and gated == {'terraform_data.k["plain"]'}
    assert "has no key" not in out


def test_template_keys_of_a_terraform_before_1_3_are_go_quoted() -> None:
    from gatekeeper.source.address import hcl_quoted_keys, parse_address

    assert parse_address('a.b["$${x}"]', hcl_keys=True).key == "${x}"
    assert parse_address('a.b["%%{x}"]', hcl_keys=True).key == "%{x}"
    assert parse_address('a.b["$$${x}"]', hcl_keys=True).key == "$${x}"
    assert parse_address('a.b["$${x}"]').key == "$${x}"
    assert not hcl_quoted_keys("1.0.3") and not hcl_quoted_keys("0.15.5")
    assert hcl_quoted_keys("1.3.0") and hcl_quoted_keys("1.15.5") and hcl_quoted_keys(None)


def test_the_1_0_3_awkward_keys_fixture_still_maps_to_code(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Terraform 1.0.3 wrote `${{ github.token }}` unescaped: still found (no "has no key")."""
    s = FIXTURES / "terraform" / "for_each_awkward_keys"
    code, out, _ = run(
        [
            "check",
            str(s / "plan.jsonl"),
            "--source",
            str(s / "head"),
            "--base-source",
            str(s / "base"),
        ],
        capsys,
    )
    assert code in (0, 1) and "has no key" not in out


def test_forgotten_objects_are_listed_in_text_output(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", str(TF115 / "removed_forget" / "plan.json")], capsys)
    assert code == 0
    _, _, listing = out.partition("Forgotten, not destroyed (")
    assert listing, out
    forgotten = [ln for ln in listing.split("\n\n")[0].splitlines()[1:] if ln.startswith("  . ")]
    assert forgotten and all(" forget " in ln for ln in forgotten)


def test_an_import_that_is_also_a_replace_says_the_replace_destroys_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for kind in ("plan.json", "plan.jsonl"):
        _, out, _ = run(["check", str(TF115 / "import_then_replace" / kind)], capsys)
        assert "note: being imported" in out
        assert "the replace destroys the object just imported" in out


def test_a_stray_stderr_line_in_a_plan_log_says_not_to_redirect_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = fixture_plan("replace_prod_db", "plan.jsonl").read_bytes()
    for stray, n in (
        (b"Warning: Deprecated flag\n" + log, 1),
        (log.replace(b"\n", b"\n\xe2\x95\xb7\n", 1), 2),
    ):
        path = tmp_path / "plan.jsonl"
        path.write_bytes(stray)
        code, out, err = run(["check", str(path)], capsys)
        assert_bad_input(code, out, err, f"plan.jsonl:{n}: a line that is not JSON")
        assert "do not redirect stderr into the log" in err
        assert "human-readable" not in err


def test_plan_label_with_nothing_before_the_equals_sign_says_so(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(["check", "--plan", "=plan.json"], capsys)
    assert_bad_input(code, out, err, "=plan.json: no label before `=`")
    assert "plan file not found" not in err
    assert_bad_input(*run(["check", "--plan", "prod="], capsys), "prod=: no path after `=`")
    # a file whose name starts with `=` is still read as a path
    (tmp_path / "=plan.json").write_bytes(fixture_plan("no_changes").read_bytes())
    assert run(["check", "--plan", "=plan.json"], capsys)[0] == 0


def test_plan_errors_are_plan_errors() -> None:
    with pytest.raises(PlanError, match="invalid UTF-8 at byte 3"):
        parse_plan(b'{"a\xff": 1}', label="p", path="p")


@pytest.mark.parametrize("how", ["flipped", "missing"])
def test_a_corrupted_before_cannot_hide_the_production_tags_prior_state_still_has(
    how: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads(fixture_plan("destroy_all").read_text("utf-8"))
    (web,) = [rc for rc in doc["resource_changes"] if rc["address"] == "null_resource.web"]
    if how == "flipped":
        web["change"]["before"]["triggers"]["env"] = "psod"  # one bit
    else:
        del web["change"]["before"]
    code, out, _ = check(tmp_path, dumps(doc), capsys)
    assert code == 1
    assert "production: triggers.env = (value not shown) (prior_state)" in out
    assert "psod" not in out
