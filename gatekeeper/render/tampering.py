"""The tampering notice: shown first in the sticky comment and the check run's summary.

Kept apart from the comment layout (render/markdown.py): it is prepended, never woven in.
Every string in a finding (app slugs, logins, external ids) is untrusted: escaped."""

from __future__ import annotations

from collections.abc import Sequence

from gatekeeper.gate.headcheck import Tampering
from gatekeeper.render import markdown_escape as md


def render_tampering(findings: Sequence[Tampering]) -> str:
    """A Markdown block naming each rival check run or status and who created it."""
    lines = [
        "> [!CAUTION]",
        "> **Tampering: a check or status with the gate's name on this commit was not posted "
        "by the gate.** The check is blocked until it is gone (a new commit, or delete the "
        "workflow or App that posted it). Do not trust any green result of that name.",
        ">",
    ]
    for t in findings:
        where = md.safe_url(t.url) if t.url else None
        what = f"{t.kind} {t.id}" if t.id is not None else t.kind
        shown = md.link(md.prose(what), where) if where else md.prose(what)
        lines.append(
            f"> - {shown} ({md.prose(t.state)}) created by {md.prose(t.creator)}: {md.prose(t.why)}"
        )
    return "\n".join(lines)
