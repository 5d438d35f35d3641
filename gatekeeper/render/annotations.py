"""GitHub Actions workflow-command annotations for destructive changes.

`::error file=F,line=L,endLine=E,title=T::message` for each gated change and `::warning ...`
for each other destructive one, pointing at the code (SourceFacts.location, relative to the
repository root). Pure: returns lines; the CLI decides where to print them.

Escaping is exactly @actions/core's (toCommandValue + escapeData / escapeProperty): in the
message `%`, CR and LF become %25, %0D, %0A; in properties also `:` and `,` (%3A, %2C). Other
control characters are made visible first (`render.escape.terminal`), so a resource key
cannot start a new workflow command, a new line, or reorder the text.

GitHub shows at most 10 error and 10 warning annotations per step: changes are ordered by
importance (production before possibly production, then as the report orders them) and the
last annotation of a kind says how many more there are.
"""

from __future__ import annotations

from collections.abc import Sequence

from gatekeeper.classify import Analysis, ClassifiedChange
from gatekeeper.render.escape import terminal

MAX_PER_KIND = 10  # GitHub's per-step limit for each of error and warning
_MAX_REASONS = 4
_MAX_NOTES = 4


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(kind: str, message: str, properties: Sequence[tuple[str, str | int]] = ()) -> str:
    props = ",".join(f"{k}={escape_property(str(v))}" for k, v in properties)
    head = f"::{kind} {props}" if props else f"::{kind}"
    return f"{head}::{escape_data(message)}"


def render_annotations(analysis: Analysis, limit: int = MAX_PER_KIND) -> list[str]:
    gated = sorted(analysis.gated, key=_importance)
    other = sorted((c for c in analysis.destructive if not c.gated), key=_importance)
    return _kind("error", gated, limit, "gated") + _kind("warning", other, limit, "destructive")


def _importance(c: ClassifiedChange) -> tuple[int, int]:
    # Production before possibly production; a destroy Terraform will refuse comes last in
    # its group (it cannot happen as planned); otherwise the report's order (stable sort).
    refused = bool(c.source and c.source.prevent_destroy)
    return (0 if c.production else 1, 1 if refused else 0)


def _kind(kind: str, changes: list[ClassifiedChange], limit: int, noun: str) -> list[str]:
    out: list[str] = []
    shown = changes[:limit]
    for i, c in enumerate(shown):
        more = len(changes) - len(shown)
        extra = ""
        if more and i == len(shown) - 1:
            extra = (
                f"\n... and {more} more {noun} change{'s' if more != 1 else ''} not annotated "
                f"(GitHub shows at most {limit} per step): see the report"
            )
        out.append(_annotation(kind, c, extra))
    return out


def _annotation(kind: str, c: ClassifiedChange, extra: str) -> str:
    ch = c.change
    what = (
        "production"
        if c.production
        else "possibly production"
        if c.possibly_production
        else "not production"
    )
    title = f"{'Gated' if c.gated else 'Destructive'}: {c.action_label} of {ch.address}"
    lines = [f"{c.action_label} of {ch.address} (plan {ch.plan}): {what}"]
    for r in c.reasons[:_MAX_REASONS]:
        lines.append(f"- {r.text}")
    if len(c.reasons) > _MAX_REASONS:
        lines.append(f"- ... {len(c.reasons) - _MAX_REASONS} more reasons in the report")
    notes = [n for n in c.notes if not n.startswith("source: ")]
    for n in notes[:_MAX_NOTES]:
        lines.append(f"note: {n}")
    if len(notes) > _MAX_NOTES:
        lines.append(f"note: ... {len(notes) - _MAX_NOTES} more in the report")
    props: list[tuple[str, str | int]] = []
    loc = c.source.location if c.source else None
    if loc is not None:
        props.append(("file", terminal(loc.file)))
        # A removed block's lines are those of the base commit: point at the file only.
        if loc.kind != "removed_block" and loc.line > 0:
            props.append(("line", loc.line))
            props.append(("endLine", max(loc.end_line, loc.line)))
    props.append(("title", terminal(title)))
    message = "\n".join(terminal(x) for x in lines) + extra
    return command(kind, message, props)
