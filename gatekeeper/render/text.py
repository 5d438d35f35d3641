"""Terminal output of `gatekeeper check`: the decision, gated changes first, each with reasons."""

from __future__ import annotations

from collections import Counter

from gatekeeper.classify import Analysis, ClassifiedChange
from gatekeeper.decision import Decision
from gatekeeper.plan.model import Action
from gatekeeper.plan.redact import redacted_paths
from gatekeeper.render.escape import inert_commands, terminal


def _where(c: ClassifiedChange) -> str:
    if c.source is None or c.source.location is None:
        return ""
    loc = c.source.location
    return f"  at {terminal(loc.file)}:{loc.line}"


def _change_lines(c: ClassifiedChange, mark: str) -> list[str]:
    ch = c.change
    lines = [
        f"  {mark} {terminal(ch.address)}  {c.action_label}  [plan {terminal(ch.plan)}]{_where(c)}"
    ]
    for r in c.reasons:
        kind = (
            "possibly production"
            if r.code.startswith(("unknown", "unresolved", "no_", "redacted"))
            else ("production")
        )
        lines.append(f"      {kind}: {terminal(r.text)}")
    if ch.replace_paths:
        forced = ", ".join(".".join(str(s) for s in p) for p in redacted_paths(ch))
        lines.append(f"      forces replacement: {terminal(forced)}")
    lines.extend(f"      note: {terminal(n)}" for n in c.notes)
    return lines


def render_text(analysis: Analysis, decision: Decision) -> str:
    """The terminal report: the verdict, then the gated and other changes (text escaped)."""
    out = [decision.headline.upper().split(":", 1)[0] + ":" + decision.headline.split(":", 1)[-1]]
    out.extend(f"  {terminal(d)}" for d in decision.details)
    gated = analysis.gated
    if gated:
        out += ["", f"Gated changes ({len(gated)}):"]
        for c in gated:
            out += _change_lines(c, "x")
    other = [c for c in analysis.destructive if not c.gated]
    if other:
        out += ["", f"Destructive, not production ({len(other)}):"]
        for c in other:
            out += _change_lines(c, "!")
    forgotten = [
        c for c in analysis.changes if c.change.action is Action.FORGET and not c.destructive
    ]
    if forgotten:
        # Removed from state, not destroyed: listed, since the object lives on unmanaged.
        out += ["", f"Forgotten, not destroyed ({len(forgotten)}):"]
        for c in forgotten:
            out += _change_lines(c, ".")
    out += ["", "Plans:"]
    for p in analysis.plans:
        counts = Counter(
            c.change.action.value for c in analysis.changes if c.change.plan == p.label
        )
        summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "no changes"
        version = p.terraform_version or "unknown version"
        out.append(f"  {terminal(p.label)} ({p.format}, Terraform {terminal(version)}): {summary}")
    out += ["", f"Plan digest: {analysis.plan_digest}"]
    # The text goes to a job log: no line may carry a workflow command (escape.py).
    return "\n".join(inert_commands(line) for line in out) + "\n"
