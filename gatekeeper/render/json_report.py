"""The JSON report: the contract other programs read. Its schema ships in the package
(schemas/report.schema.json). No attribute values appear in it, so nothing sensitive can."""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from importlib import resources
from typing import Any

from gatekeeper import __version__
from gatekeeper.classify import Analysis, ClassifiedChange
from gatekeeper.decision import Decision

REPORT_VERSION = 1


def change_record(c: ClassifiedChange) -> dict[str, Any]:
    ch = c.change
    rec: dict[str, Any] = {
        "address": ch.address,
        "plan": ch.plan,
        "action": ch.action.value,
        "actions": list(ch.actions),
        "replace_order": ch.replace_order.value if ch.replace_order else None,
        "destructive": c.destructive,
        "production": c.production,
        "possibly_production": c.possibly_production,
        "gated": c.gated,
        "reasons": [{"code": r.code, "text": r.text} for r in c.reasons],
        "notes": list(c.notes),
        "replace_paths": [list(p) for p in ch.replace_paths],
        "type": ch.type,
        "module_address": ch.module_address or None,
        "deposed": ch.deposed,
        "action_reason": ch.action_reason,
        "location": None,
    }
    if c.source is not None and c.source.location is not None:
        loc = c.source.location
        rec["location"] = {
            "file": loc.file,
            "line": loc.line,
            "end_line": loc.end_line,
            "kind": loc.kind,
        }
    return rec


def build_report(
    analysis: Analysis, decision: Decision, sections: dict[str, Any] | None = None
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
            {
                "label": p.label,
                "path": p.path,
                "format": p.format,
                "format_version": p.format_version,
                "terraform_version": p.terraform_version,
                "sha256": p.sha256,
                "changes": len(p.changes),
                "drift": len(p.drift),
            }
            for p in analysis.plans
        ],
        "changes": [change_record(c) for c in analysis.changes if c.change.action.value != "no-op"],
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


def dumps(report: dict[str, Any]) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


@cache
def report_schema() -> dict[str, Any]:
    text = resources.files("gatekeeper").joinpath("schemas/report.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
