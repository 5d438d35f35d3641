"""The gate's decision record: what it decided, for which head, on whose approvals.

Every final check run the gate creates carries one record (machine-readable, schema
`schemas/record.schema.json`), so `gatekeeper verify` in the apply job can later check that
the plan it is about to apply is the one that was approved. It lives in the check run's
`output.text`, as a final HTML comment (GitHub does not render it) holding base64 of the
zlib-compressed canonical JSON: the text is the detail part of a check run, the summary stays
what a reviewer reads. Only check runs of the gate's own identity are trusted (verify checks
`app.id`); the record itself carries no secret and no attribute value.

Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any

from gatekeeper.classify import Analysis, before_sha256, digest_of_items
from gatekeeper.decision import Decision
from gatekeeper.plan.model import canonical_json

RECORD_VERSION = 1
MARKER = "<!-- gatekeeper-record v1 "
_END = " -->"
# The record's share of the check run text (GitHub: 65,535 characters). A record over it is
# replaced by a truncated one that names the change count but lists no changes, and verify
# refuses a truncated record: an apply of that PR needs a signed apply override.
MAX_RECORD_CHARS = 16_000
_BLOCK = re.compile(re.escape(MARKER) + r"([A-Za-z0-9+/=]+)" + re.escape(_END))


class RecordError(Exception):
    """A record that is missing, unreadable or invalid (verify: not approved)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class GatedItem:
    """One gated change as the digest binds it (classify.plan_digest)."""

    address: str
    actions: tuple[str, ...]
    before_sha256: str

    @property
    def key(self) -> tuple[str, tuple[str, ...], str]:
        return (self.address, self.actions, self.before_sha256)


@dataclass(frozen=True, slots=True)
class Approver:
    account_id: int | None
    login: str
    review_id: int | None
    commit_id: str | None


@dataclass(frozen=True, slots=True)
class OverrideRef:
    comment_id: int
    key_fingerprint: str
    principal: str


@dataclass(frozen=True, slots=True)
class DecisionRecord:
    repository: str
    pull_request: int
    head_sha: str
    trust_root_sha: str | None  # the commit the policy and allowed_signers were read at
    outcome: str  # allow | block | error
    advisory: bool
    plan_digest: str
    gated: tuple[GatedItem, ...]
    gated_count: int
    gated_complete: bool  # False: too many to record; verify refuses the record
    approvers: tuple[Approver, ...] = ()
    overrides: tuple[OverrideRef, ...] = ()
    tampering: tuple[str, ...] = ()
    headline: str = ""


def gated_items(analysis: Analysis) -> tuple[GatedItem, ...]:
    """The gated changes in the digest's own order (classify.plan_digest)."""
    items = (
        GatedItem(c.change.address, tuple(c.change.actions), before_sha256(c.change))
        for c in analysis.gated
    )
    return tuple(sorted(items, key=lambda i: (i.address, list(i.actions), i.before_sha256)))


def build_record(
    *,
    repository: str,
    pull_request: int,
    head_sha: str,
    trust_root_sha: str | None,
    outcome: str,
    advisory: bool,
    analysis: Analysis,
    headline: str = "",
    approvers: Iterable[Approver] = (),
    overrides: Iterable[OverrideRef] = (),
    tampering: Iterable[str] = (),
) -> DecisionRecord:
    """The decision record of one gate result, its gated items taken from `analysis`."""
    items = gated_items(analysis)
    return DecisionRecord(
        repository=repository,
        pull_request=pull_request,
        head_sha=head_sha,
        trust_root_sha=trust_root_sha,
        outcome=outcome,
        advisory=advisory,
        plan_digest=analysis.plan_digest,
        gated=items,
        gated_count=len(items),
        gated_complete=True,
        approvers=tuple(approvers),
        overrides=tuple(overrides),
        tampering=tuple(tampering),
        headline=headline[:300],
    )


def to_json(record: DecisionRecord) -> dict[str, Any]:
    """The record as the JSON document the check run carries (schemas/record.schema.json)."""
    return {
        "record_version": RECORD_VERSION,
        "repository": record.repository,
        "pull_request": record.pull_request,
        "head_sha": record.head_sha,
        "trust_root_sha": record.trust_root_sha,
        "outcome": record.outcome,
        "advisory": record.advisory,
        "headline": record.headline,
        "plan_digest": record.plan_digest,
        "gated_count": record.gated_count,
        "gated_complete": record.gated_complete,
        "gated": [
            {"address": g.address, "actions": list(g.actions), "before_sha256": g.before_sha256}
            for g in record.gated
        ],
        "approvers": [
            {
                "account_id": a.account_id,
                "login": a.login,
                "review_id": a.review_id,
                "commit_id": a.commit_id,
            }
            for a in record.approvers
        ],
        "overrides": [
            {
                "comment_id": o.comment_id,
                "key_fingerprint": o.key_fingerprint,
                "principal": o.principal,
            }
            for o in record.overrides
        ],
        "tampering": list(record.tampering),
    }


def _encode(doc: Mapping[str, Any]) -> str:
    data = zlib.compress(canonical_json(doc), 9)
    return MARKER + base64.b64encode(data).decode("ascii") + _END


def serialise(record: DecisionRecord, limit: int = MAX_RECORD_CHARS) -> str:
    """The HTML comment that carries the record, at most `limit` characters. A record whose
    change list does not fit keeps its digest and count but lists no change
    (`gated_complete: false`): verify refuses it rather than trust a partial list."""
    block = _encode(to_json(record))
    if len(block) <= limit:
        return block
    short = replace(
        record,
        gated=(),
        gated_complete=False,
        approvers=record.approvers[:50],
        overrides=record.overrides[:20],
        tampering=tuple(t[:200] for t in record.tampering[:20]),
    )
    block = _encode(to_json(short))
    if len(block) > limit:  # cannot happen for sane limits; never emit more than allowed
        raise ValueError(f"a truncated decision record still takes {len(block)} characters")
    return block


@cache
def record_schema() -> dict[str, Any]:
    """The JSON Schema of a decision record."""
    text = resources.files("gatekeeper").joinpath("schemas/record.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def find_records(text: str) -> list[str]:
    """The encoded record payloads in a check run's text (the gate writes one, at the end)."""
    return [m.group(1) for m in _BLOCK.finditer(text or "")]


def parse(payload: str) -> DecisionRecord:
    """Decode, validate against the schema and build a record. Raises RecordError."""
    import jsonschema

    try:
        raw = zlib.decompressobj().decompress(base64.b64decode(payload, validate=True), 4 << 20)
        doc = json.loads(raw)
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise RecordError(f"the decision record cannot be decoded ({type(exc).__name__})") from None
    errors = sorted(
        jsonschema.Draft202012Validator(record_schema()).iter_errors(doc),
        key=lambda e: list(map(str, e.absolute_path)),
    )
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top level)"
        raise RecordError(f"the decision record is invalid at {where}: {errors[0].message[:120]}")
    gated = tuple(
        GatedItem(g["address"], tuple(g["actions"]), g["before_sha256"]) for g in doc["gated"]
    )
    if doc["gated_complete"] and len(gated) != doc["gated_count"]:
        raise RecordError("the decision record's change list does not match its count")
    if doc["gated_complete"] and digest_of(gated) != doc["plan_digest"]:
        raise RecordError("the decision record's change list does not hash to its digest")
    return DecisionRecord(
        repository=doc["repository"],
        pull_request=doc["pull_request"],
        head_sha=doc["head_sha"],
        trust_root_sha=doc["trust_root_sha"],
        outcome=doc["outcome"],
        advisory=doc["advisory"],
        plan_digest=doc["plan_digest"],
        gated=gated,
        gated_count=doc["gated_count"],
        gated_complete=doc["gated_complete"],
        approvers=tuple(
            Approver(a["account_id"], a["login"], a["review_id"], a["commit_id"])
            for a in doc["approvers"]
        ),
        overrides=tuple(
            OverrideRef(o["comment_id"], o["key_fingerprint"], o["principal"])
            for o in doc["overrides"]
        ),
        tampering=tuple(doc["tampering"]),
        headline=doc.get("headline", ""),
    )


def digest_of(items: Iterable[GatedItem]) -> str:
    """classify's digest over recorded items: a complete record's list hashes to its digest."""
    return digest_of_items((i.address, i.actions, i.before_sha256) for i in items)


def decision_record(
    *,
    repository: str,
    pull_request: int,
    head_sha: str,
    trust_root_sha: str | None,
    decision: Decision,
    analysis: Analysis,
    sections: Mapping[str, Any],
    tampering: Iterable[str] = (),
) -> DecisionRecord:
    """The record of one gate result: its report sections name the approvals and overrides
    that counted (gate.sections: ApprovalsSection, OverridesSection)."""
    counted = (sections.get("approvals") or {}).get("counted") or ()
    accepted = (sections.get("overrides") or {}).get("accepted") or ()
    return build_record(
        repository=repository,
        pull_request=pull_request,
        head_sha=head_sha,
        trust_root_sha=trust_root_sha,
        outcome=decision.outcome,
        advisory=decision.advisory,
        analysis=analysis,
        headline=decision.headline,
        approvers=(
            Approver(a.get("id"), str(a.get("login") or ""), a.get("review_id"), a.get("commit_id"))
            for a in counted
        ),
        overrides=(
            OverrideRef(int(o["comment_id"]), str(o["key_fingerprint"]), str(o["principal"]))
            for o in accepted
        ),
        tampering=tampering,
    )
