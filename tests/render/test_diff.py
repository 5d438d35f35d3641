"""Attribute-level diffs (gatekeeper.render.diff) on real plans and on edge cases built with
tests/helpers.py where a real Terraform cannot be made to produce them."""

from __future__ import annotations

import re
from typing import Any

from gatekeeper.plan.model import ResourceChange
from gatekeeper.plan.parse import parse_plan
from gatekeeper.plan.redact import SENSITIVE, change_secrets, mask, union_masks
from gatekeeper.render.diff import MAX_STRING, masked_sides, render_change
from tests.helpers import CORPUS, SECRET, fixture_plan, rc, show_json

_MARKERS = ("-/+", "<=", "+", "-", "!", ".", "?", "#", " ")


def _changes(path: Any, label: str = "p") -> dict[str, ResourceChange]:
    plan = parse_plan(path.read_bytes(), label=label, path=str(path))
    return {c.address: c for c in plan.changes}


def _one(*entries: dict[str, Any]) -> ResourceChange:
    plan = parse_plan(show_json(*entries), label="p", path="t.json")
    return plan.changes[0]


def _assert_lines_start_with_markers(text: str) -> None:
    for line in text.splitlines():
        assert line.startswith(_MARKERS), line
        # After the 3-character marker column comes a space: data never starts a line.
        if not line.startswith("#"):
            assert len(line) < 4 or line[3] == " ", line


def test_replace_prod_db_like_terraform() -> None:
    c = _changes(fixture_plan("replace_prod_db"))["module.prod_db.null_resource.primary"]
    assert render_change(c) == (
        "# module.prod_db.null_resource.primary must be replaced"
        " (destroy the old object, then create the new)\n"
        '-/+ resource "null_resource" "primary" {\n'
        '!       id       = "3440488159632426721" -> (known after apply)\n'
        "!       triggers = { # forces replacement\n"
        '!           "engine_version" = "13.4" -> "14.1"\n'
        "            # (2 unchanged elements hidden)\n"
        "        }\n"
        "    }\n"
    )


def test_create_before_destroy_marker() -> None:
    c = _changes(fixture_plan("replace_create_before_destroy"))["null_resource.load_balancer"]
    text = render_change(c)
    assert text.splitlines()[1].startswith('-/+ resource "null_resource" "load_balancer"')
    assert "create the new object, then destroy the old" in text


def test_delete_shows_everything_going_away() -> None:
    c = _changes(fixture_plan("count_shrink"))["null_resource.node[2]"]
    text = render_change(c)
    lines = text.splitlines()
    assert lines[0] == "# null_resource.node[2] will be destroyed"
    assert lines[1] == '-   resource "null_resource" "node" {'
    assert re.search(r'^-       id\s+= "\d+" -> null$', text, re.M)
    assert re.search(r"^        \} -> null$", text, re.M)  # the triggers map closes with -> null


def test_taint_and_request_reasons_worded_like_terraform() -> None:
    tainted = _changes(fixture_plan("tainted"))["null_resource.worker"]
    assert render_change(tainted).startswith(
        "# null_resource.worker is tainted, so it must be replaced\n"
    )
    flagged = _changes(fixture_plan("replace_flag"))["null_resource.x"]
    assert render_change(flagged).startswith("# null_resource.x will be replaced, as requested\n")


def test_sensitive_values_never_reach_the_output() -> None:
    changes = _changes(fixture_plan("sensitive_values"))
    for c in changes.values():
        text = render_change(c)
        assert SECRET not in text
        _assert_lines_start_with_markers(text)
    app = render_change(changes["null_resource.app"])
    # The sensitive trigger did not change: it is counted as hidden, never shown.
    assert '"app_version" = "1.0.0" -> "1.1.0"' in app
    assert "db_password" not in app
    token = render_change(changes["null_resource.token_consumer"])
    assert '"token" = (sensitive value)' in token
    sealed = render_change(changes["null_resource.sealed"])
    assert "!       triggers = (sensitive value) # forces replacement" in sealed
    # A wholly sensitive map: not even its keys are shown.
    assert '"env"' not in sealed and '"secret"' not in sealed


def test_sensitive_on_one_side_masks_both_sides() -> None:
    c = _one(
        rc(
            "aws_db_instance.main",
            ["update"],
            before={"password": "old-" + SECRET, "tags": {"k": "v"}},
            after={"password": "new-" + SECRET, "tags": {"k": "v"}},
            before_sensitive={},
            after_sensitive={"password": True},
        )
    )
    text = render_change(c)
    assert SECRET not in text
    assert "password = (sensitive value)" in text


def test_sensitive_map_keys_are_hidden_and_mismatched_masks_fail_safe() -> None:
    c = _one(
        rc(
            "aws_instance.a",
            ["delete"],
            before={"tags": {SECRET: "x"}, "user_data": SECRET},
            after=None,
            # A mask that does not fit the value's shape hides the whole value.
            before_sensitive={"tags": True, "user_data": {"nested": True}},
        )
    )
    text = render_change(c)
    assert SECRET not in text
    assert "tags      = (sensitive value) -> null" in text
    assert "user_data = (sensitive value) -> null" in text


def test_union_masks() -> None:
    assert union_masks({"a": True}, {"b": {"c": True}}) == {"a": True, "b": {"c": True}}
    assert union_masks([False, True], [True]) == [True, True]
    assert union_masks(False, None) is False
    assert union_masks({"a": {"b": True}}, True) is True


def test_masked_sides_mark_unknowns() -> None:
    c = _one(
        rc(
            "aws_instance.a",
            ["create"],
            before=None,
            after={"tags": {"env": "prod"}, "ips": [None, "10.0.0.1"]},
            after_unknown={"id": True, "ips": [True, False], "tags": {"owner": True}},
        )
    )
    _, after = masked_sides(c)
    assert repr(after["id"]) == "(known after apply)"
    assert repr(after["ips"][0]) == "(known after apply)"
    assert repr(after["tags"]["owner"]) == "(known after apply)"
    text = render_change(c)
    assert "+       id   = (known after apply)" in text
    assert '+           "owner" = (known after apply)' in text


def test_nested_lists_and_maps_with_forces_replacement_on_a_nested_path() -> None:
    before = {
        "name": "web",
        "network": [{"ip": "10.0.0.1", "subnet": "a"}, {"ip": "10.0.0.2", "subnet": "b"}],
        "ports": [80, 443, 8080],
        "labels": {"team": "x", "tier": "web"},
    }
    after = {
        "name": "web",
        "network": [{"ip": "10.0.0.9", "subnet": "a"}, {"ip": "10.0.0.2", "subnet": "b"}],
        "ports": [80, 443, 9090],
        "labels": {"team": "y", "tier": "web", "new": "1"},
    }
    c = _one(
        rc(
            "aws_instance.web",
            ["delete", "create"],
            before=before,
            after=after,
            replace_paths=[["network", 0, "ip"]],
        )
    )
    text = render_change(c)
    assert text == (
        "# aws_instance.web must be replaced (destroy the old object, then create the new)\n"
        '-/+ resource "aws_instance" "web" {\n'
        "!       labels  = {\n"
        '+           "new"  = "1"\n'
        '!           "team" = "x" -> "y"\n'
        "            # (1 unchanged element hidden)\n"
        "        }\n"
        '        name    = "web"\n'
        "!       network = [\n"
        "!           {\n"
        '!               "ip" = "10.0.0.1" -> "10.0.0.9" # forces replacement\n'
        "                # (1 unchanged element hidden)\n"
        "            },\n"
        "            # (1 unchanged element hidden)\n"
        "        ]\n"
        "!       ports   = [\n"
        "            # (2 unchanged elements hidden)\n"
        "-           8080,\n"
        "+           9090,\n"
        "        ]\n"
        "    }\n"
    )


def test_multiline_strings_diff_line_by_line() -> None:
    old = "line 1\nline 2\nline 3\n"
    new = "line 1\nline two\nline 3\n"
    c = _one(rc("local_file.f", ["update"], before={"content": old}, after={"content": new}))
    text = render_change(c)
    assert "!       content = <<-EOT\n" in text
    assert "-           line 2\n+           line two\n" in text
    assert "            line 1\n" in text


def test_json_strings_diff_structurally() -> None:
    plan = CORPUS / "tfreveal" / "advanced_4replaces_delete_sensitive.json"
    c = _changes(plan)["local_file.foo"]
    text = render_change(c)
    assert "!       content              = jsonencode( # forces replacement" in text
    assert '!               "number_changed"     = 10 -> 14' in text
    assert '!       file_permission      = "0777" -> "0660" # forces replacement' in text


def test_hostile_values_cannot_fake_lines_or_fences() -> None:
    evil = "x\n```\n+ fake line\n\u202e</details>@org/team"
    c = _one(
        rc(
            'null_resource.member["`x`</details><img src=x>@org/team"]',
            ["delete"],
            before={"triggers": {evil: evil}},
            after=None,
        )
    )
    text = render_change(c)
    _assert_lines_start_with_markers(text)
    assert "\n+ fake" not in text
    assert "\u202e" not in text and "\\u202e" in text
    assert "x\\n```\\n+ fake line" in text


def test_long_strings_and_long_diffs_are_cut() -> None:
    c = _one(rc("local_file.big", ["delete"], before={"content": "a" * (MAX_STRING + 10)}))
    text = render_change(c)
    assert "(10 more characters not shown)" in text
    many = {f"k{i:04d}": i for i in range(2000)}
    c = _one(rc("local_file.many", ["delete"], before={"m": many}))
    text = render_change(c, max_lines=50)
    lines = text.splitlines()
    assert len(lines) == 50
    assert re.fullmatch(r"    # \(\d+ more lines not shown\)", lines[-1])


def test_plan_log_changes_have_no_attributes() -> None:
    plan = parse_plan(
        fixture_plan("replace_prod_db", "plan.jsonl").read_bytes(), label="p", path="x"
    )
    c = next(c for c in plan.changes if c.address == "module.prod_db.null_resource.primary")
    text = render_change(c)
    assert "no attribute values" in text
    assert text.splitlines()[1].startswith("-/+ resource")


def test_deposed_and_unknown_actions() -> None:
    c = _one(rc("aws_instance.a", ["delete"], before={"id": "i-1"}, deposed="00000001"))
    assert render_change(c).startswith(
        "# aws_instance.a (deposed object 00000001) will be destroyed\n"
    )
    c = _one(rc("aws_instance.b", ["frobnicate"], before={"id": "i-1"}, after={"id": "i-2"}))
    text = render_change(c)
    assert "has an action this gatekeeper does not know: ['frobnicate']" in text
    assert '!       id = "i-1" -> "i-2"' in text


def test_values_nested_past_any_provider_schema_are_described_not_drawn() -> None:
    """msgspec accepts ~1000 levels; the recursive diff helpers must never see that many."""
    from gatekeeper.render.diff import MAX_DEPTH, nesting_depth, render_change
    from tests.helpers import rc, show_json

    deep = "s3cr3t"
    mask: object = True
    for _ in range(900):
        deep, mask = [deep], [mask]  # type: ignore[assignment]
    entry = rc("aws_db_instance.a", ["delete"], before={"x": deep}, before_sensitive={"x": mask})
    change = parse_plan(show_json(entry), label="p", path="p").changes[0]
    text = render_change(change)
    assert f"nest more than {MAX_DEPTH} levels deep" in text
    assert "s3cr3t" not in text
    assert nesting_depth({"a": [[1]]}) == 3 and nesting_depth(5) == 0
    shallow = rc("aws_db_instance.b", ["delete"], before={"x": [[["v"]]]})
    assert '"v"' in render_change(parse_plan(show_json(shallow), label="p", path="p").changes[0])


# GitHub colours a ```diff line by its first character only (linguist's source.diff grammar):
# `+`/`> ` inserted (green), `-`/`< ` deleted (red), `!` changed (orange), anything else plain.
_GITHUB_CLASS = (
    (re.compile(r"^((>)( .*)?|(\+).*)$"), "inserted"),
    (re.compile(r"^!.*$"), "changed"),
    (re.compile(r"^((<)( .*)?|(-).*)$"), "deleted"),
)


def _github_class(line: str) -> str:
    return next((c for rx, c in _GITHUB_CLASS if rx.match(line)), "plain")


def test_deletes_and_replaces_are_red_on_github_and_updates_orange() -> None:
    """Every fixture's every change: the resource line of a delete or replace (either order)
    is red, of an update orange, of a create green; no line starts with Terraform's `~` or
    `+/-`, which GitHub would show plain or green."""
    from gatekeeper.plan.model import Action

    seen: set[str] = set()
    plans = [
        *sorted(fixture_plan("x").parents[1].glob("*/plan.json")),
        CORPUS / "tfcompliance" / "aws_update_tags_change.json",
        CORPUS / "tfreveal" / "advanced_4replaces_delete_sensitive.json",
    ]
    want = {
        Action.DELETE: "deleted",
        Action.REPLACE: "deleted",
        Action.UPDATE: "changed",
        Action.CREATE: "inserted",
    }
    for path in plans:
        for c in _changes(path).values():
            lines = render_change(c).splitlines()
            assert not any(line.startswith(("~", "+/-")) for line in lines), path
            if c.action in want:
                assert _github_class(lines[1]) == want[c.action], (path, c.address, lines[1])
                seen.add(c.action.value)
            if c.action is Action.UPDATE:
                changed = [x for x in lines[2:] if "->" in x]
                assert changed and all(_github_class(x) == "changed" for x in changed)
    assert seen == {"delete", "replace", "update", "create"}
    cbd = _changes(fixture_plan("replace_create_before_destroy"))["null_resource.load_balancer"]
    assert _github_class(render_change(cbd).splitlines()[1]) == "deleted"


def _shown(value: Any) -> Any:
    """A masked side as plain data: every opaque hidden marker as the redaction placeholder."""
    if isinstance(value, dict):
        return {k: _shown(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shown(v) for v in value]
    return SENSITIVE if repr(value) == SENSITIVE and not isinstance(value, str) else value


def test_the_diff_hides_exactly_what_the_one_masker_hides() -> None:
    # Marked leaves, a marked subtree, a mask that does not fit its value, and copies of a
    # secret (as a value and as a map key) in places Terraform did not mark.
    before = {
        "password": SECRET,
        "nested": {"token": "t0k3n", "plain": "ok"},
        "misfit": "a string where the mask has a map",
        "copy": SECRET,
        "by_key": {SECRET: "v", "other": "w"},
        "list": ["a", SECRET],
    }
    sens = {"password": True, "nested": {"token": True}, "misfit": {"x": True}}
    c = _one(
        rc(
            "aws_db_instance.a",
            ["delete"],
            before=before,
            after=None,
            before_sensitive=sens,
            after_sensitive=False,
        )
    )
    shown_before, _ = masked_sides(c)
    marks, secrets = change_secrets(c)
    assert _shown(shown_before) == mask(c.before(), marks, secrets)
    text = render_change(c)
    assert SECRET not in text and "t0k3n" not in text
    assert "(sensitive key 1)" in text
