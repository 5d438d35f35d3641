"""The gate's check run text and job summary: the one place the check run's text is budgeted."""

from __future__ import annotations

from collections.abc import Sequence

from gatekeeper.gate.pipeline import Result
from gatekeeper.render import markdown_escape as md
from gatekeeper.render.layout import size_chars
from gatekeeper.render.markdown import CHECK_LIMIT, render_check_output, render_summary

TEXT_LIMIT = 65_000  # GitHubClient.create_check_run clips output.text beyond this


def explanation_block(result: Result, room: int) -> str:
    """The whole explanation, one fact per line, folded; at most `room` characters."""
    kept: list[str] = []
    used = 0
    facts = [f"- {md.prose(x)}" for x in result.explanation if x]
    for i, line in enumerate(facts):
        if used + size_chars(line) + 1 > room:
            kept.append(f"- ... {len(facts) - i} more lines: see the job summary")
            break
        kept.append(line)
        used += size_chars(line) + 1
    if not kept:
        return ""
    return "<details><summary>Explanation</summary>\n\n" + "\n".join(kept) + "\n\n</details>"


def check_output(result: Result, appendix: Sequence[str] = ()) -> tuple[str, str, str]:
    """(title, summary, text) for the check run: the markdown renderer's output; the text
    also carries the whole explanation and then each `appendix` block (the decision record:
    an HTML comment of at most record.MAX_RECORD_CHARS). The appended blocks are sized first
    (the explanation may take at most half), the rendered diffs get what is left, so the
    whole text stays within TEXT_LIMIT and the record at its end is never clipped."""
    limit = min(CHECK_LIMIT, TEXT_LIMIT)
    extra = [b for b in appendix if b]
    room = limit - sum(size_chars(b) + 2 for b in extra)
    blocks = [b for b in (explanation_block(result, room // 2), *extra) if b]
    out = render_check_output(result.analysis, result.decision, result.view)
    if not blocks:
        return out.title, out.summary, out.text
    tail = "\n\n".join(blocks)
    room = limit - size_chars(tail) - 2
    text = render_check_output(result.analysis, result.decision, result.view, limit=room).text
    return out.title, out.summary, f"{text}\n\n{tail}" if text else tail


def job_summary(result: Result) -> str:
    """The job summary's Markdown for one PR's result."""
    return render_summary(result.analysis, result.decision, result.view)
