"""How the reviewer's view is cut to fit: sizes as GitHub counts them, the parts of a report
in reading order, and the deterministic truncation that lays them out within a limit.

`render.markdown` builds the parts (what each says); this module decides what stays when
they do not fit: the decision and the gated table always, the gated diffs from the last one
up, the folded parts with the room that is left, and a notice saying what was left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gatekeeper.render import markdown_escape as md

GATED_HEADER = "| Resource · action · why production |\n| --- |"


def clip(s: str, n: int) -> str:
    """`s`, or its first `n` characters and how many more there were."""
    return s if len(s) <= n else s[:n] + f"… ({len(s) - n} more characters)"


# ---------------------------------------------------------------- sizes


def size_chars(s: str) -> int:
    """Characters as GitHub may count them: UTF-16 code units (>= code points)."""
    return len(s.encode("utf-16-le")) // 2


def size_bytes(s: str) -> int:
    return len(s.encode("utf-8"))


SIZERS: dict[str, Callable[[str], int]] = {"chars": size_chars, "bytes": size_bytes}


Block = tuple[str, Callable[[], str]]  # (what it shows, renders it when asked)


@dataclass(frozen=True, slots=True)
class Folded:
    name: str  # what the truncation notice calls it when it is left out
    render: Callable[[int | None, Callable[[str], int]], tuple[str, bool] | None]
    # (room, sizer) -> (block, shortened) or None when not even its summary fits
    grows: bool = False  # a list of diffs that takes what room it is given


def details(summary_html: str, body: str) -> str:
    return f"<details><summary>{summary_html}</summary>\n\n{body}\n\n</details>"


# ---------------------------------------------------------------- assembly


@dataclass(frozen=True, slots=True)
class Parts:
    head: list[str]  # notices, decision, unblock, gated intro: never cut
    rows: list[str]  # gated table rows: cut only when nothing else is left to cut
    notes: str  # notes shared by gated rows
    diffs: list[Block]  # gated diffs: cut from the last one up
    plans: str  # Terraform's plan lines: never cut
    folded: list[Folded]  # part 4: each gets the room that is left
    footer: str


def cut_notice(
    diffs_cut: Sequence[Block],
    diffs_total: int,
    folded_cut: Sequence[str],
    folded_short: Sequence[str],
    rows_cut: int,
    rows_total: int,
    limit: int,
    unit: str,
    where: str,
) -> str:
    what: list[str] = []
    if rows_cut:
        what.append(f"the last {rows_cut} of {rows_total} rows of the gated changes table")
    if diffs_cut:
        what.append(
            f"attribute diffs of gated changes, from {md.code(clip(diffs_cut[0][0], 300))} on"
        )
    if folded_cut:
        what.append(", ".join(folded_cut))
    if folded_short:
        what.append("some diffs of " + ", ".join(folded_short) + " (listed by name only)")
    unit_word = "characters" if unit == "chars" else "bytes"
    return (
        f"> ✂️ **Shortened** to fit the limit of {limit:,} {unit_word}. Left out: "
        + "; ".join(what)
        + f". The full report is in {where}."
    )


SEP = "\n\n"
NOTICE_ROOM = 2_000  # kept free for the notice while the optional parts are laid out


def doc(blocks: Iterable[str]) -> str:
    return SEP.join(b for b in blocks if b) + "\n"


def assemble(
    parts: Parts,
    *,
    marker: str | None,
    limit: int | None,
    unit: str,
    where: str,
) -> str:
    size = SIZERS[unit]
    top = [marker] if marker else []
    table = GATED_HEADER + "".join("\n" + r for r in parts.rows) if parts.rows else ""
    before = [*top, *parts.head, table, parts.notes]
    after = [parts.plans]
    if limit is None:
        diffs = [render() for _, render in parts.diffs]
        folds = [got[0] for f in parts.folded if (got := f.render(None, size)) is not None]
        return doc([*before, *diffs, *after, *folds, parts.footer])

    whole = assemble(parts, marker=marker, limit=None, unit=unit, where=where)
    if size(whole) <= limit:
        return whole  # nothing to cut: the same text as without a limit
    sep = size(SEP)
    base = size(doc([*before, *after, parts.footer]))
    reserve = NOTICE_ROOM
    while True:
        room = limit - base - reserve
        kept: list[str] = []
        cut_from = len(parts.diffs)
        for i, (_, render) in enumerate(parts.diffs):
            block = render() if room > 0 else ""
            if not block or size(block) + sep > room:
                cut_from = i
                break
            kept.append(block)
            room -= size(block) + sep
        # The small folded parts first, then the lists of diffs share what is left (each
        # gets an equal part of it, and what one leaves unused goes to the next).
        laid: dict[int, str] = {}
        gone: list[str] = []
        short: list[str] = []
        order = sorted(range(len(parts.folded)), key=lambda i: parts.folded[i].grows)
        growing = sum(1 for f in parts.folded if f.grows)
        for i in order:
            f = parts.folded[i]
            share = room
            if f.grows:
                share = room // max(1, growing)
                growing -= 1
            out = f.render(share - sep, size) if share > sep else None
            if out is None:
                gone.append(f.name)
                continue
            laid[i] = out[0]
            room -= size(out[0]) + sep
            if out[1]:
                short.append(f.name)
        folded = [laid[i] for i in sorted(laid)]
        cut = parts.diffs[cut_from:]
        notice = ""
        if cut or gone or short:
            notice = cut_notice(cut, len(parts.diffs), gone, short, 0, 0, limit, unit, where)
        text = doc([*before, *kept, *after, *folded, notice, parts.footer])
        if size(text) <= limit:
            return text
        if room < 0 or reserve > limit:
            break
        reserve += size(text) - limit + 500  # the notice was longer than reserved: retry

    # Even without optional parts it does not fit: cut rows of the gated table.
    head = doc([*top, *parts.head]).rstrip("\n")
    rest = [parts.plans]
    all_gone = [f.name for f in parts.folded]
    for r in range(len(parts.rows) - 1, -1, -1):
        notice = cut_notice(
            parts.diffs,
            len(parts.diffs),
            all_gone,
            [],
            len(parts.rows) - r,
            len(parts.rows),
            limit,
            unit,
            where,
        )
        tbl = GATED_HEADER + "".join("\n" + row for row in parts.rows[:r])
        text = doc([head, tbl, *rest, notice, parts.footer])
        if size(text) <= limit:
            return text

    # Last resort: the decision alone (clipped).
    notice = cut_notice(
        parts.diffs,
        len(parts.diffs),
        all_gone,
        [],
        len(parts.rows),
        len(parts.rows),
        limit,
        unit,
        where,
    )
    # the notices (the tamper notice) and the title
    n = next((i for i, b in enumerate(parts.head) if b.startswith("### ")), 0)
    keep, title = parts.head[:n], parts.head[n] if parts.head else ""
    top = [*top, *keep]
    last = doc([*top, title, notice, parts.footer])
    while size(last) > limit and len(title) > 20:
        title = title[: len(title) // 2] + "…"
        last = doc([*top, title, notice, parts.footer])
    return last
