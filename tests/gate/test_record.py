"""The decision record: built from a real plan's analysis, serialised into the check run's
text, parsed back and validated; bounded, and refused when incomplete or tampered with."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import jsonschema
import pytest

from gatekeeper.adapters.files import parse_plan_arg, read_plans
from gatekeeper.classify import Analysis, analyze
from gatekeeper.decision import ALLOW, BLOCK, Decision
from gatekeeper.gate.record import (
    MARKER,
    MAX_RECORD_CHARS,
    Approver,
    OverrideRef,
    RecordError,
    build_record,
    decision_record,
    digest_of,
    find_records,
    parse,
    record_schema,
    serialise,
    to_json,
)
from gatekeeper.policy.model import Policy, ProductionPolicy

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "terraform"
ALL = Policy(production=ProductionPolicy(addresses=("*",)))
HEAD = "a" * 40
BASE = "b" * 40


def analysis_of(name: str, policy: Policy = ALL) -> Analysis:
    return analyze(read_plans([parse_plan_arg(str(FIXTURES / name / "plan.json"))]), policy)


def record(analysis: Analysis, **kw: object) -> object:
    args: dict[str, object] = {
        "repository": "acme/infra",
        "pull_request": 4,
        "head_sha": HEAD,
        "trust_root_sha": BASE,
        "outcome": ALLOW,
        "advisory": False,
        "analysis": analysis,
        "approvers": [Approver(2, "bob", 99, HEAD)],
        "overrides": [OverrideRef(1234, "SHA256:abc", "alice@acme.example")],
    }
    args.update(kw)
    return build_record(**args)  # type: ignore[arg-type]


def test_round_trip_through_the_check_run_text() -> None:
    a = analysis_of("destroy_all")
    rec = record(a, tampering=["check run 5 'gatekeeper' by app 15368"])
    text = "## diff\n\nsomething\n\n" + serialise(rec)  # type: ignore[arg-type]
    (payload,) = find_records(text)
    back = parse(payload)
    assert back == rec
    assert back.plan_digest == a.plan_digest == digest_of(back.gated)
    assert [g.address for g in back.gated][:2] == [
        "module.network.null_resource.subnet[0]",
        "module.network.null_resource.subnet[1]",
    ]
    assert back.gated[0].actions == ("delete",)
    jsonschema.Draft202012Validator(record_schema()).validate(to_json(back))
    assert text.endswith(" -->") and MARKER in text  # an HTML comment: GitHub hides it


def test_the_gate_sections_become_approvers_and_overrides() -> None:
    a = analysis_of("replace_prod_db")
    sections = {
        "approvals": {"counted": [{"login": "bob", "id": 2, "commit_id": HEAD, "review_id": 7}]},
        "overrides": {
            "accepted": [
                {"comment_id": 55, "key_fingerprint": "SHA256:k", "principal": "a@acme.example"}
            ]
        },
    }
    rec = decision_record(
        repository="acme/infra",
        pull_request=4,
        head_sha=HEAD,
        trust_root_sha=BASE,
        decision=Decision(ALLOW, "allowed"),
        analysis=a,
        sections=sections,
    )
    assert rec.approvers == (Approver(2, "bob", 7, HEAD),)
    assert rec.overrides == (OverrideRef(55, "SHA256:k", "a@acme.example"),)
    assert rec.tampering == () and rec.outcome == "allow"


def _derived_large() -> Analysis:
    from tests.render.test_markdown import CORPUS, _derived_plan, _replicate

    plan = _derived_plan(
        CORPUS / "tfcompliance" / "aws_2deletes_tags_drift_tf100.json", "prod", _replicate(200)
    )
    return analyze([plan], ALL)


@pytest.mark.slow
def test_too_many_changes_give_a_bounded_record_that_says_it_is_incomplete() -> None:
    a = _derived_large()
    assert len(a.gated) >= 400
    whole = parse(find_records(serialise(record(a)))[0])  # type: ignore[arg-type]
    assert whole.gated_complete and len(whole.gated) == len(a.gated)  # compresses well
    block = serialise(record(a), limit=2000)  # type: ignore[arg-type]
    assert len(block) <= 2000 < len(serialise(record(a)))  # type: ignore[arg-type]
    back = parse(find_records(block)[0])
    assert back.gated_complete is False and back.gated == ()
    assert back.gated_count == len(a.gated) and back.plan_digest == a.plan_digest
    assert MAX_RECORD_CHARS >= 16_000


def _payload(doc: dict[str, object]) -> str:
    from gatekeeper.plan.model import canonical_json

    return base64.b64encode(zlib.compress(canonical_json(doc))).decode()


def test_a_record_whose_list_does_not_hash_to_its_digest_is_refused() -> None:
    doc = to_json(record(analysis_of("count_shrink")))  # type: ignore[arg-type]
    doc["gated"] = doc["gated"][:1]  # type: ignore[index]
    doc["gated_count"] = 1
    with pytest.raises(RecordError, match="does not hash to its digest"):
        parse(_payload(doc))


@pytest.mark.parametrize(
    "change",
    [
        {"outcome": "maybe"},
        {"head_sha": "HEAD"},
        {"record_version": 2},
        {"extra": 1},
        {"gated_count": -1},
    ],
)
def test_schema_violations_are_refused(change: dict[str, object]) -> None:
    doc = to_json(record(analysis_of("count_shrink"), outcome=BLOCK))  # type: ignore[arg-type]
    doc.update(change)
    with pytest.raises(RecordError, match="invalid"):
        parse(_payload(doc))


@pytest.mark.parametrize("payload", ["!!!", base64.b64encode(b"not zlib").decode(), ""])
def test_undecodable_payloads_are_refused(payload: str) -> None:
    with pytest.raises(RecordError):
        parse(payload)


def test_the_schema_ships_in_the_package() -> None:
    from importlib import resources

    text = resources.files("gatekeeper").joinpath("schemas/record.schema.json").read_text()
    assert json.loads(text)["properties"]["record_version"] == {"const": 1}


@pytest.mark.slow
def test_the_gate_check_text_keeps_the_record_whole_within_the_limit() -> None:
    """A record at its maximum, an explanation and thousands of diffs: the text fits
    GitHubClient's 65,000-character clip and ends with the record, intact."""
    from gatekeeper.gate.pipeline import Result
    from gatekeeper.gate.sections import Sections
    from gatekeeper.render.check_run import TEXT_LIMIT, check_output
    from gatekeeper.render.layout import size_chars
    from tests.render.test_markdown import thousands_truncated

    s = thousands_truncated()
    assert s.view is not None
    block = serialise(record(_derived_large()))  # type: ignore[arg-type]
    explanation = tuple(f"@reviewer{i}: excluded, co-authored commit {i:040x}" for i in range(4000))
    _, _, text = check_output(
        Result(s.analysis, s.decision, s.view, Sections(), explanation), (block,)
    )
    assert size_chars(text) <= TEXT_LIMIT
    assert text.endswith(block)
    assert "<summary>Explanation</summary>" in text
    assert parse(find_records(text)[-1]).gated_count >= 400
