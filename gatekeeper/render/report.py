"""The JSON report: the contract other programs read. Its schema ships in the package
(schemas/report.schema.json). No attribute values appear in it, so nothing sensitive can."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from functools import cache
from itertools import islice
from typing import Any

import msgspec

from gatekeeper import __version__
from gatekeeper.classify import Analysis, ClassifiedChange
from gatekeeper.decision import Decision
from gatekeeper.plan.model import Action, plan_metadata
from gatekeeper.plan.redact import redacted_paths

REPORT_VERSION = 1


class _Reason(msgspec.Struct, gc=False):
    code: str
    text: str


class _Location(msgspec.Struct, gc=False):
    file: str
    line: int
    end_line: int
    kind: str


class ChangeRecord(msgspec.Struct, gc=False):
    """One entry of `changes` (schema: report.schema.json). A Struct, not a dict: a 100k-change
    report encodes straight from these without building dicts first."""

    address: str
    plan: str
    action: str
    actions: tuple[str, ...]
    replace_order: str | None
    destructive: bool
    production: bool
    possibly_production: bool
    gated: bool
    reasons: tuple[_Reason, ...]
    notes: tuple[str, ...]
    replace_paths: tuple[tuple[str | int, ...], ...]
    type: str
    module_address: str | None
    deposed: str | None
    action_reason: str | None
    location: _Location | None


def change_record(c: ClassifiedChange) -> ChangeRecord:
    """The report's entry for one change (replace paths redacted)."""
    ch = c.change
    loc = c.source.location if c.source is not None else None
    return ChangeRecord(
        ch.address,
        ch.plan,
        ch.action,
        ch.actions,
        ch.replace_order,
        c.destructive,
        c.production,
        c.possibly_production,
        c.gated,
        tuple(_Reason(r.code, r.text) for r in c.reasons),
        c.notes,
        redacted_paths(ch),
        ch.type,
        ch.module_address or None,
        ch.deposed,
        ch.action_reason,
        _Location(loc.file, loc.line, loc.end_line, loc.kind) if loc is not None else None,
    )


def build_report(
    analysis: Analysis, decision: Decision, sections: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The report document, its `changes` a list of ChangeRecord (encode it with `dumps`)."""
    report = _report(analysis, decision, sections)
    report["changes"] = list(report["changes"])
    return report


def report_chunks(
    analysis: Analysis, decision: Decision, sections: dict[str, Any] | None = None
) -> Iterator[bytes]:
    """The report as `dumps` writes it, in chunks of bytes: each record is built just before
    it is encoded, so a 100k-change report never exists whole in memory, as objects or text."""
    return encode_report(_report(analysis, decision, sections))


def _report(
    analysis: Analysis, decision: Decision, sections: dict[str, Any] | None
) -> dict[str, Any]:
    counts: Counter[str] = Counter(c.change.action.value for c in analysis.changes)
    report: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "gatekeeper_version": __version__,
        "decision": decision.outcome,
        "headline": decision.headline,
        "details": list(decision.details),
        "advisory": decision.advisory,
        "plan_digest": analysis.plan_digest,
        "plans": [
            {**plan_metadata(p), "changes": len(p.changes), "drift": len(p.drift)}
            for p in analysis.plans
        ],
        "changes": (
            change_record(c) for c in analysis.changes if c.change.action is not Action.NOOP
        ),
        "summary": {
            "total": len(analysis.changes),
            "gated": len(analysis.gated),
            "destructive": len(analysis.destructive),
            "production": sum(1 for c in analysis.changes if c.production),
            "possibly_production": sum(1 for c in analysis.changes if c.possibly_production),
            "by_action": dict(sorted(counts.items())),
        },
    }
    if sections:
        report.update(sections)
    return report


def error_report(message: str, hint: str | None) -> dict[str, Any]:
    """The report a failed run leaves in place of an older one: decision `error`, so no
    later step can read a stale "allow" (schema-valid, with no plans and no changes)."""
    from gatekeeper.classify import plan_digest

    return {
        "report_version": REPORT_VERSION,
        "gatekeeper_version": __version__,
        "decision": "error",
        "headline": f"error: {message}",
        "details": [f"hint: {hint}"] if hint else [],
        "advisory": False,
        "plan_digest": plan_digest(()),
        "plans": [],
        "changes": [],
        "summary": {
            "total": 0,
            "gated": 0,
            "destructive": 0,
            "production": 0,
            "possibly_production": 0,
            "by_action": {},
        },
    }


def to_json(report: dict[str, Any]) -> Any:
    """The report as plain JSON values (dicts and lists), as a consumer would read it."""
    return msgspec.json.decode(msgspec.json.encode(report))


def dumps(report: dict[str, Any]) -> str:
    """The report as JSON text (indent 2, newline-terminated): what every report file holds."""
    return b"".join(encode_report(report)).decode("utf-8")


_CHUNK = 2048  # records per encoded chunk
_EMPTY_CHANGES = b'\n  "changes": []'


def encode_report(report: dict[str, Any]) -> Iterator[bytes]:
    """The report as indented JSON bytes, in chunks; `changes` may be any iterable. Byte for
    byte `msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n"`: the document
    without its changes is formatted once and split where they go (a top-level key at indent
    2 on its own line: JSON strings cannot hold a raw newline, so the split is unambiguous),
    and each chunk of records is formatted as a list and indented one level deeper."""
    # msgspec encodes 100k change records an order of magnitude faster than the json module.
    if "changes" not in report:
        yield msgspec.json.format(msgspec.json.encode(report), indent=2) + b"\n"
        return
    records = iter(report["changes"])
    skeleton = msgspec.json.format(msgspec.json.encode({**report, "changes": []}), indent=2)
    head, _, tail = skeleton.partition(_EMPTY_CHANGES)
    first = True
    while True:
        chunk = list(islice(records, _CHUNK))
        if not chunk:
            break
        if first:
            yield head + b'\n  "changes": ['
        # "[\n  {...},\n  {...}\n]" -> "\n    {...},\n    {...}" (one level deeper)
        body = msgspec.json.format(msgspec.json.encode(chunk), indent=2)[1:-2]
        yield (b"" if first else b",") + body.replace(b"\n", b"\n  ")
        first = False
    if first:  # no records
        yield head + _EMPTY_CHANGES + tail + b"\n"
    else:
        yield b"\n  ]" + tail + b"\n"


@cache
def report_schema() -> dict[str, Any]:
    """The JSON schema of the report, as shipped in the package."""
    from importlib import resources

    text = resources.files("gatekeeper").joinpath("schemas/report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
