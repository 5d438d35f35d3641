from __future__ import annotations

import codecs
import json

import pytest

from gatekeeper.errors import PlanError
from gatekeeper.plan.model import LOG_DEPOSED, Action, ReplaceOrder, canonical_json
from gatekeeper.plan.parse import parse_plan
from tests.helpers import CORPUS, fixture_plan, rc, show_json


def parse(data: bytes, label: str = "p") -> object:
    return parse_plan(data, label=label, path=label)


def load(scenario: str, kind: str = "plan.json"):  # type: ignore[no-untyped-def]
    return parse_plan(fixture_plan(scenario, kind).read_bytes(), label=scenario, path=scenario)


def by_addr(plan) -> dict:  # type: ignore[no-untyped-def,type-arg]
    return {c.address: c for c in plan.changes}


def test_show_json_replace_model() -> None:
    plan = load("replace_prod_db")
    assert plan.format == "show-json"
    assert plan.terraform_version == "1.0.3"
    c = by_addr(plan)["module.prod_db.null_resource.primary"]
    assert c.action is Action.REPLACE
    assert c.replace_order is ReplaceOrder.DESTROY_BEFORE_CREATE
    assert c.module_address == "module.prod_db"
    assert c.type == "null_resource" and c.name == "primary" and c.index is None
    assert c.replace_paths == (("triggers",),)
    assert c.action_reason == "replace_because_cannot_update"
    assert c.before()["triggers"]["env"] == "prod"
    assert c.destructive


def test_create_before_destroy_order() -> None:
    c = by_addr(load("replace_create_before_destroy"))["null_resource.load_balancer"]
    assert c.action is Action.REPLACE
    assert c.replace_order is ReplaceOrder.CREATE_BEFORE_DESTROY
    assert c.actions == ("create", "delete")


def test_streaming_log_has_no_attributes_and_unknown_order() -> None:
    plan = load("replace_prod_db", "plan.jsonl")
    assert plan.format == "plan-log"
    assert plan.terraform_version == "1.0.3"
    c = by_addr(plan)["module.prod_db.null_resource.primary"]
    assert c.action is Action.REPLACE and c.replace_order is ReplaceOrder.UNKNOWN
    assert not c.has_attributes and c.before() is None


def test_both_formats_agree_on_addresses_and_actions() -> None:
    for scenario in ("nested_modules", "for_each_awkward_keys", "count_shrink", "destroy_all"):
        show = {a: c.action for a, c in by_addr(load(scenario)).items() if c.action != Action.NOOP}
        log = {a: c.action for a, c in by_addr(load(scenario, "plan.jsonl")).items()}
        log = {a: v for a, v in log.items() if v != Action.NOOP}
        assert show == log, scenario


def test_index_keys_count_and_for_each() -> None:
    counts = by_addr(load("count_shrink"))
    assert counts["null_resource.node[2]"].index == 2
    assert counts["null_resource.node[2]"].action is Action.DELETE
    keys = {c.index for c in load("for_each_awkward_keys").changes if c.index is not None}
    assert "@org/team" in keys and "café ☕" in keys and 'double "quoted"' in keys


def test_tainted_and_replace_flag_reasons() -> None:
    assert by_addr(load("tainted"))["null_resource.worker"].action_reason == (
        "replace_because_tainted"
    )
    assert by_addr(load("replace_flag"))["null_resource.x"].action_reason == "replace_by_request"


def test_deposed_delete_is_destructive() -> None:
    data = show_json(rc("aws_db_instance.main", ["delete"], before={"id": "a"}, deposed="00ab12"))
    c = parse(data).changes[0]  # type: ignore[attr-defined]
    assert c.deposed == "00ab12" and c.action is Action.DELETE and c.destructive


def test_unknown_action_is_destructive() -> None:
    c = parse(show_json(rc("aws_s3_bucket.b", ["obliterate"]))).changes[0]  # type: ignore[attr-defined]
    assert c.action is Action.UNKNOWN and c.destructive


def test_forget_is_not_destructive() -> None:
    c = parse(show_json(rc("aws_s3_bucket.b", ["forget"], before={"id": "b"}))).changes[0]  # type: ignore[attr-defined]
    assert c.action is Action.FORGET and not c.destructive


def test_moved_and_importing() -> None:
    p = parse_plan((CORPUS / "terraform-json/moved_block.json").read_bytes(), label="m", path="m")
    assert p.changes[0].previous_address
    p = parse_plan(
        (CORPUS / "opentofu/tfc_plan_import_config_gen.json").read_bytes(), label="i", path="i"
    )
    assert p.changes[0].importing


def test_utf16_and_bom() -> None:
    raw = (CORPUS / "checkov/ENCODING_win_utf16.json").read_bytes()
    assert raw.startswith(codecs.BOM_UTF16_LE)
    assert len(parse(raw).changes) == 1  # type: ignore[attr-defined]
    utf8 = fixture_plan("replace_prod_db").read_bytes()
    assert len(parse(codecs.BOM_UTF8 + utf8).changes) == 3  # type: ignore[attr-defined]
    assert len(parse(codecs.BOM_UTF16_BE + utf8.decode().encode("utf-16-be")).changes) == 3  # type: ignore[attr-defined]


def test_format_version_2_refused() -> None:
    with pytest.raises(PlanError, match="newer than this gatekeeper"):
        parse(show_json(version="2.0"))


def test_log_error_diagnostic_gives_terraform_message() -> None:
    with pytest.raises(PlanError) as exc:
        load("plan_error", "plan.jsonl")
    assert "Reference to undeclared input variable" in exc.value.message
    with pytest.raises(PlanError, match="Instance cannot be destroyed"):
        load("prevent_destroy", "plan.jsonl")


def test_log_without_summary_is_incomplete() -> None:
    lines = fixture_plan("replace_prod_db", "plan.jsonl").read_bytes().splitlines()
    cut = b"\n".join(line for line in lines if b'"change_summary"' not in line)
    with pytest.raises(PlanError, match="incomplete"):
        parse(cut)


def test_every_log_message_for_one_address_is_kept() -> None:
    """Issue 13: keeping one message per address dropped a deposed object's delete."""
    base = {"@level": "info", "@message": "m", "type": "planned_change"}
    res = {"addr": "a.b", "resource_type": "a", "resource_name": "b"}
    msgs = [
        {**base, "change": {"resource": res, "action": "update"}},
        {**base, "change": {"resource": res, "action": "delete"}},
        {
            "@level": "info",
            "@message": "Plan",
            "type": "change_summary",
            "changes": {"change": 1, "remove": 1},
        },
    ]
    plan = parse(b"\n".join(json.dumps(m).encode() for m in msgs))
    changes = plan.changes  # type: ignore[attr-defined]
    assert [c.action for c in changes] == [Action.UPDATE, Action.DELETE]
    assert [c.deposed for c in changes] == [None, LOG_DEPOSED]


def test_canonical_json() -> None:
    assert canonical_json({"b": 1, "a": ["é", None]}) == b'{"a":["\\u00e9",null],"b":1}'


def _log(*msgs: dict) -> bytes:  # type: ignore[type-arg]
    return b"\n".join(json.dumps(m).encode() for m in msgs)


def _planned(addr: str, action: str) -> dict:  # type: ignore[type-arg]
    res = {"addr": addr, "resource_type": addr.split(".")[0], "resource_name": addr.split(".")[1]}
    return {
        "@level": "info",
        "type": "planned_change",
        "change": {"resource": res, "action": action},
    }


def _summary(  # type: ignore[type-arg]
    remove: int, operation: str = "plan", change: int = 0, add: int = 0
) -> dict:
    return {
        "@level": "info",
        "type": "change_summary",
        "changes": {"add": add, "change": change, "remove": remove, "operation": operation},
    }


def test_a_deposed_delete_is_not_hidden_by_a_later_message_for_the_same_address() -> None:
    """The log has no deposed field: a deposed object's delete and the current object's update
    share an address. The delete must survive whatever the order."""
    plan = parse(
        _log(
            _planned("aws_db_instance.b", "delete"),
            _planned("aws_db_instance.b", "update"),
            _summary(1, change=1),
        )
    )
    changes = plan.changes  # type: ignore[attr-defined]
    assert [(c.action, c.deposed) for c in changes] == [
        (Action.DELETE, LOG_DEPOSED),
        (Action.UPDATE, None),
    ]


def test_a_log_with_fewer_destroys_than_its_summary_is_refused() -> None:
    with pytest.raises(PlanError, match="says 2 to destroy but 1 destroy messages"):
        parse(_log(_planned("aws_db_instance.b", "delete"), _summary(2)))
    # an apply log's summary counts what was applied: not compared
    parse(_log(_planned("aws_db_instance.b", "delete"), _summary(2, "apply")))
