"""The apply guard's pure verdict: the plan's gated digest against the approved record."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from gatekeeper.adapters.files import parse_plan_arg, read_plans
from gatekeeper.classify import Analysis, analyze
from gatekeeper.errors import EXIT_ALLOW, EXIT_BLOCK
from gatekeeper.gate.record import DecisionRecord, build_record, digest_of, gated_items
from gatekeeper.policy.model import Policy, ProductionPolicy
from gatekeeper.verify import compare_with_record, nothing_gated

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "terraform"
ALL = Policy(production=ProductionPolicy(addresses=("*",)))
WHERE = "PR #4 at aaaaaaaaaaaa"


def analysis(*paths: Path, policy: Policy = ALL) -> Analysis:
    return analyze(read_plans([parse_plan_arg(str(p)) for p in paths]), policy)


def approved(a: Analysis, **kw: object) -> DecisionRecord:
    args: dict[str, object] = {
        "repository": "acme/infra",
        "pull_request": 4,
        "head_sha": "a" * 40,
        "trust_root_sha": "b" * 40,
        "outcome": "allow",
        "advisory": False,
        "analysis": a,
    }
    args.update(kw)
    return build_record(**args)  # type: ignore[arg-type]


DESTROY_ALL = FIXTURES / "destroy_all" / "plan.json"
COUNT_SHRINK = FIXTURES / "count_shrink" / "plan.json"


def without(tmp_path: Path, address: str) -> Path:
    doc = json.loads(DESTROY_ALL.read_text())
    doc["resource_changes"] = [r for r in doc["resource_changes"] if r["address"] != address]
    out = tmp_path / "plan.json"
    out.write_text(json.dumps(doc))
    return out


def test_the_same_gated_changes_may_proceed() -> None:
    a = analysis(DESTROY_ALL)
    v = compare_with_record(a, approved(a), subset=False, where=WHERE)
    assert v.exit_code == EXIT_ALLOW and "6 gated changes are the ones approved" in v.headline


def test_the_digest_ignores_what_is_not_gated() -> None:
    """Only gated changes count: a plan that also updates or creates things is the same."""
    gated = analysis(DESTROY_ALL)
    more = analysis(DESTROY_ALL, FIXTURES / "update_in_place_and_create" / "plan.json")
    assert gated.plan_digest == more.plan_digest
    assert compare_with_record(more, approved(gated), subset=False, where=WHERE).allowed


def test_an_extra_gated_change_is_named() -> None:
    base = analysis(DESTROY_ALL)
    v = compare_with_record(
        analysis(DESTROY_ALL, COUNT_SHRINK), approved(base), subset=True, where=WHERE
    )
    assert v.exit_code == EXIT_BLOCK
    assert [i.address for i in v.not_approved] == ["null_resource.node[1]", "null_resource.node[2]"]
    assert v.disappeared == ()


def test_a_vanished_change_blocks_unless_subset(tmp_path: Path) -> None:
    a = analysis(without(tmp_path, 'null_resource.dns["www"]'))
    rec = approved(analysis(DESTROY_ALL))
    strict = compare_with_record(a, rec, subset=False, where=WHERE)
    assert strict.exit_code == EXIT_BLOCK
    assert [i.address for i in strict.disappeared] == ['null_resource.dns["www"]']
    loose = compare_with_record(a, rec, subset=True, where=WHERE)
    assert loose.allowed and "strict subset" in loose.headline


def test_the_same_address_with_another_object_is_both_missing_and_new() -> None:
    """The digest binds the destroyed object (before_sha256), not only its address."""
    a = analysis(DESTROY_ALL)
    rec = approved(a)
    first = rec.gated[0]
    changed = type(first)(first.address, first.actions, "0" * 64)
    gated = (changed, *rec.gated[1:])
    forged = replace(rec, gated=gated, plan_digest=digest_of(gated))
    v = compare_with_record(a, forged, subset=True, where=WHERE)
    assert v.exit_code == EXIT_BLOCK
    assert v.not_approved == (first,) and v.disappeared == (changed,)


def test_a_block_advisory_or_incomplete_record_never_proceeds() -> None:
    a = analysis(DESTROY_ALL)
    for rec in (
        approved(a, outcome="block"),
        approved(a, advisory=True),
        approved(a, outcome="error"),
    ):
        assert compare_with_record(a, rec, subset=True, where=WHERE).exit_code == EXIT_BLOCK
    rec = approved(a)
    incomplete = replace(rec, gated=(), gated_complete=False)
    v = compare_with_record(a, incomplete, subset=True, where=WHERE)
    assert v.exit_code == EXIT_BLOCK and "too many to record" in v.headline


def test_nothing_gated() -> None:
    assert nothing_gated(analysis(FIXTURES / "no_changes" / "plan.json")) is not None
    assert nothing_gated(analysis(DESTROY_ALL)) is None
    assert len(gated_items(analysis(DESTROY_ALL))) == 6
