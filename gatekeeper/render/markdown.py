"""The reviewer's view: the PR comment, the job summary and the check run output.

Layout, top to bottom (the first four parts are never cut):

1. the hidden sticky marker (comment only) and the decision in one line;
2. what unblocks it: approvals still needed, who counted, who did not and why, the exact
   `gatekeeper sign` command; then the agent evidence;
3. the gated changes table: address, plan, action and its order, why it is production,
   what forces the replacement, notes (`prevent_destroy`, ...), a link to the declaring line;
4. the plans, with counts per action;
5. an attribute-level ```diff block for every destructive change (gated first);
6. the other changes, one folded `<details>` per plan.

Truncation is deterministic: parts 5 and 6 are dropped from the end of the document (the
other changes first, then diff blocks from the last one up) until the text fits, and a
notice says what was left out and where the whole report is. If the gated table alone is
too long, its last rows go too (counted in the notice); the decision always stays.

Every string from a plan, the code or the PR goes through `gatekeeper.render.md`; attribute
values only ever appear inside fenced blocks, after `gatekeeper.render.diff` masked secrets.
The only raw HTML emitted is the renderer's own: the marker comment, `<details>`,
`<summary>`, `<code>` inside a summary, and `<br>` inside table cells.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from gatekeeper.classify import Analysis, ClassifiedChange
from gatekeeper.decision import ALLOW, BLOCK, ERROR, Decision
from gatekeeper.plan import Action, ReplaceOrder
from gatekeeper.redact import redacted_paths
from gatekeeper.render import md
from gatekeeper.render.diff import header, render_change
from gatekeeper.render.view import Person, PrView

COMMENT_LIMIT = 65_536  # GitHub refuses longer issue comments (characters)
CHECK_LIMIT = 65_535  # check run output.summary and output.text (characters)
SUMMARY_LIMIT = 1024 * 1024  # GITHUB_STEP_SUMMARY per step (bytes)
CHECK_TITLE_LIMIT = 255
MARKER_PREFIX = "<!-- gatekeeper:sticky:"

MAX_INLINE = 500  # characters of one untrusted string in prose or a table cell
OTHER_BLOCK_BUDGET = 200_000  # characters of full diffs per plan in "other changes"
OTHER_MAX_LISTED = 2_000  # beyond the budget, changes listed by header line only

_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,64}")
_SHA = re.compile(r"[0-9a-fA-F]{7,64}")


# ---------------------------------------------------------------- sticky marker


def sticky_key(plan_labels: Iterable[str]) -> str:
    """The sticky comment key for a set of plan labels: one comment per PR per label set."""
    joined = "\n".join(sorted(set(plan_labels)))
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


def sticky_marker(key: str) -> str:
    """The hidden marker `<!-- gatekeeper:sticky:KEY -->` that finds the comment again."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"bad sticky comment key {key!r}: use letters, digits, '.', '_', '-'")
    return f"{MARKER_PREFIX}{key} -->"


def comment_marker(analysis: Analysis, marker_key: str | None = None) -> str:
    """The marker for this analysis: `marker_key`, or one derived from the plan labels.

    A gate that fails before it has parsed its plans should pass the key of the configured
    labels, so its error lands in the same comment."""
    return sticky_marker(marker_key or sticky_key(p.label for p in analysis.plans))


# ---------------------------------------------------------------- sizes


def size_chars(s: str) -> int:
    """Characters as GitHub may count them: UTF-16 code units (>= code points)."""
    return len(s.encode("utf-16-le")) // 2


def size_bytes(s: str) -> int:
    return len(s.encode("utf-8"))


_SIZERS: dict[str, Callable[[str], int]] = {"chars": size_chars, "bytes": size_bytes}


# ---------------------------------------------------------------- small pieces


def _clip(s: str, n: int = MAX_INLINE) -> str:
    return s if len(s) <= n else s[:n] + f"… ({len(s) - n} more characters)"


def _t(s: str, *, in_table: bool = False) -> str:
    return md.prose(_clip(s), in_table=in_table)


def _login(login: str) -> str:
    return md.text("@" + _clip(login, 100))


def _people(people: Sequence[Person]) -> str:
    return ", ".join(_login(p.login) for p in people)


def _possibly(code: str) -> bool:
    return code.startswith(("unknown", "unresolved", "no_", "redacted"))


def _icon(c: ClassifiedChange) -> str:
    if c.production:
        return "🔴"
    if c.gated:
        return "🟠"
    return "⚪"


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


_OUTCOME_PREFIX = re.compile(r"(?i)^\s*(blocked|block|allowed|allow|error)\s*:\s*")
_ADVISORY_SUFFIX = " [advisory mode: not enforced]"


def _headline_rest(decision: Decision) -> str:
    rest = _OUTCOME_PREFIX.sub("", decision.headline, count=1)
    if rest.endswith(_ADVISORY_SUFFIX):
        rest = rest[: -len(_ADVISORY_SUFFIX)]
    return " ".join(rest.split())


def _outcome_word(decision: Decision) -> tuple[str, str]:
    if decision.outcome == BLOCK:
        if decision.advisory:
            return "⚠️", "Would be blocked (advisory mode)"
        return "⛔", "Blocked"
    if decision.outcome == ALLOW:
        return "✅", "Allowed"
    if decision.outcome == ERROR:
        return "❌", "Error"
    return "❌", "Unknown outcome " + decision.outcome


def _title(decision: Decision) -> str:
    icon, word = _outcome_word(decision)
    rest = _headline_rest(decision)
    return f"### {icon} {word}" + (f": {_t(rest)}" if rest else "")


def check_title(decision: Decision) -> str:
    """One plain line for the check run title."""
    _, word = _outcome_word(decision)
    rest = md.visible(_headline_rest(decision))
    title = f"{word}: {rest}" if rest else word
    if len(title) > CHECK_TITLE_LIMIT:
        title = title[: CHECK_TITLE_LIMIT - 1] + "…"
    return title


# ---------------------------------------------------------------- head sections


def _decision_blocks(decision: Decision) -> list[str]:
    blocks = [_title(decision)]
    if decision.advisory:
        blocks.append(
            "> **Advisory mode** (rollout): everything below is reported, nothing is enforced. "
            "This check never fails."
        )
    if decision.details:
        blocks.append("\n".join(f"- {_t(d)}" for d in decision.details))
    if decision.outcome == ERROR:
        blocks.append(
            "An error never allows: fix what is reported above and re-run the job. "
            "Until then the check stays red."
        )
    return blocks


def _approval_blocks(decision: Decision, view: PrView | None, gated: int) -> list[str]:
    if decision.outcome == ERROR:
        return []
    if view is None:
        if decision.outcome == BLOCK:
            return [
                "#### What unblocks it\n\n"
                "This is an offline check: approvals and signed overrides are evaluated "
                "only on the pull request."
            ]
        return []
    if not gated and not view.approvals_counted and decision.outcome == ALLOW:
        return []
    need = max(0, view.approvals_required - len(view.approvals_counted))
    who = "agent-authored PR" if view.agent_authored else "human-authored PR"
    lines: list[str] = []
    line = (
        f"- **Approvals:** {len(view.approvals_counted)} of {view.approvals_required} "
        f"counted ({who})"
    )
    if need and decision.outcome == BLOCK:
        line += (
            f"; **{_plural(need, 'more approval')} needed** from distinct humans who are "
            "not the PR author, a commit author or co-author, a bot or an agent"
        )
    lines.append(line)
    if view.approvals_counted:
        lines.append(f"- **Counted:** {_people(view.approvals_counted)}")
    if view.approvals_excluded:
        lines.append("- **Not counted:**")
        lines += [
            f"  - {_login(p.login)}: {_t(p.why or 'excluded')}" for p in view.approvals_excluded
        ]
    if view.approvals_stale:
        lines.append("- **Stale** (given on an earlier commit or plan):")
        lines += [f"  - {_login(p.login)}: {_t(p.why or 'stale')}" for p in view.approvals_stale]
    if view.overrides:
        lines.append("- **Override comments considered:**")
        lines += [f"  - {_t(o)}" for o in view.overrides]
    heading = "#### What unblocks it" if decision.outcome == BLOCK else "#### Approvals"
    blocks = [heading + "\n\n" + "\n".join(lines)]
    if decision.outcome == BLOCK:
        if view.trust_root_changes:
            blocks.append(
                "🔒 **Signed overrides are disabled:** this PR changes the trust root "
                "(workflows, policy, allowed signers), so only approvals can unblock it."
            )
        elif view.sign_command:
            cmd = md.visible(view.sign_command).replace("\\n", " ")
            blocks.append(
                "**Or a signed override:** an allowlisted signer runs this and posts its "
                "output as a comment on this PR:\n\n" + md.fence(cmd, "sh")
            )
        else:
            blocks.append("Signed overrides are not available for this PR.")
    return blocks


def _authorship_blocks(view: PrView | None) -> list[str]:
    if view is None:
        return []
    if view.agent_authored:
        head = "#### Authorship\n\n🤖 **Written by an AI coding agent.** Evidence:"
    elif view.agent_evidence:
        head = "#### Authorship\n\n👤 Human-authored (the signals below were not conclusive):"
    else:
        return ["#### Authorship\n\n👤 No agent evidence: the PR counts as human-authored."]
    items = "\n".join(f"- {_t(e)}" for e in view.agent_evidence) or "- (none recorded)"
    blocks = [head + "\n\n" + items]
    if view.trust_root_changes:
        files = "\n".join(f"- {md.code(_clip(p))}" for p in view.trust_root_changes)
        blocks.append(
            "🔒 **Trust root changed:** these files are gated and cannot be overridden:\n\n" + files
        )
    return blocks


def _source_cell(c: ClassifiedChange, view: PrView | None) -> str:
    if c.source is None or c.source.location is None:
        return ""
    loc = c.source.location
    label = md.code(f"{_clip(loc.file, 200)}#L{loc.line}-L{loc.end_line}", in_table=True)
    url = source_url(c, view)
    return md.link(label, url) if url else label


def source_url(c: ClassifiedChange, view: PrView | None) -> str | None:
    """`{server}/{repo}/blob/{head_sha}/{file}#L{line}-L{end}` or None when unknown."""
    if view is None or c.source is None or c.source.location is None:
        return None
    loc = c.source.location
    parts = loc.file.replace("\\", "/").split("/")
    if not loc.file or loc.file.startswith("/") or ".." in parts or "." in parts:
        return None
    if not _SHA.fullmatch(view.head_sha) or not re.fullmatch(
        r"[A-Za-z0-9_.\-]+/[A-Za-z0-9_.\-]+", view.repository
    ):
        return None
    server = view.server_url.rstrip("/")
    url = (
        f"{server}/{view.repository}/blob/{view.head_sha}/{md.url_path(loc.file)}"
        f"#L{int(loc.line)}-L{int(loc.end_line)}"
    )
    return md.safe_url(url)


def action_cell(c: ClassifiedChange) -> str:
    ch = c.change
    if ch.action is Action.REPLACE:
        order = {
            ReplaceOrder.DESTROY_BEFORE_CREATE: "destroy, then create",
            ReplaceOrder.CREATE_BEFORE_DESTROY: "create, then destroy",
        }.get(ch.replace_order or ReplaceOrder.UNKNOWN, "order unknown (plan log)")
        return f"**replace**<br>{order}"
    if ch.action is Action.UNKNOWN:
        return "**unknown** " + md.code(str(list(ch.actions)), in_table=True)
    word = f"**{ch.action.value}**"
    if ch.deposed:
        word += " deposed " + md.code(ch.deposed, in_table=True)
    return word


def _path_str(path: tuple[str | int, ...]) -> str:
    out = ""
    for step in path:
        if isinstance(step, int):
            out += f"[{step}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_\-]*", step):
            out += ("." if out else "") + step
        else:
            out += f"[{md.visible(repr(step))}]"
    return out


# Terraform's action_reason values, as a reviewer would say them.
_REASONS = {
    "replace_because_cannot_update": "an attribute that cannot change in place changed",
    "replace_because_tainted": "the object is tainted",
    "replace_by_request": "replacement requested with `-replace`",
    "replace_by_triggers": "`replace_triggered_by` fired",
    "delete_because_no_resource_config": "its block is gone from the code",
    "delete_because_no_module": "its module is gone from the code",
    "delete_because_wrong_repetition": "count/for_each was added or removed",
    "delete_because_count_index": "its count index is out of range",
    "delete_because_each_key": "its for_each key is gone",
    "delete_because_no_move_target": "its moved-to address has no block",
    "read_because_config_unknown": "its configuration is known only during apply",
    "read_because_dependency_pending": "it depends on a pending change",
}
_TF_SAYS = "Terraform says: "


def _note(n: str) -> str:
    if n.startswith(_TF_SAYS) and n[len(_TF_SAYS) :] in _REASONS:
        return "Terraform: " + _REASONS[n[len(_TF_SAYS) :]]
    return n


def _gated_row(c: ClassifiedChange, view: PrView | None) -> str:
    ch = c.change
    resource = _icon(c) + " " + md.code(_clip(ch.address, 300), in_table=True)
    src = _source_cell(c, view)
    if src:
        resource += "<br>" + src
    why = "<br>".join(
        ("❓ possibly: " if _possibly(r.code) else "") + _t(r.text, in_table=True)
        for r in c.reasons
    )
    forces = ", ".join(md.code(_clip(_path_str(p), 200), in_table=True) for p in redacted_paths(ch))
    notes = "<br>".join(
        ("⚠️ " if "prevent_destroy" in n else "") + _t(_note(n), in_table=True) for n in c.notes
    )
    cells = [
        resource,
        md.code(_clip(ch.plan, 100), in_table=True),
        action_cell(c),
        why or "",
        forces or "",
        notes or "",
    ]
    return "| " + " | ".join(cells) + " |"


_GATED_HEADER = (
    "| Resource | Plan | Action | Why production | Forces replacement | Notes |\n"
    "| --- | --- | --- | --- | --- | --- |"
)


def _gated_intro(gated: Sequence[ClassifiedChange]) -> str:
    if not gated:
        return "#### Gated changes\n\nNone: no destructive change touches production."
    prod = sum(1 for c in gated if c.production)
    possibly = len(gated) - prod
    parts = []
    if prod:
        parts.append(f"🔴 {prod} production")
    if possibly:
        parts.append(f"🟠 {possibly} possibly production (unknown counts as production)")
    return (
        f"#### Gated changes ({len(gated)})\n\n"
        f"Destructive changes to production that need approval: {', '.join(parts)}."
    )


_COLUMNS: tuple[tuple[str, tuple[Action, ...]], ...] = (
    ("delete", (Action.DELETE,)),
    ("replace", (Action.REPLACE,)),
    ("create", (Action.CREATE,)),
    ("update", (Action.UPDATE,)),
    ("read", (Action.READ,)),
    ("other", (Action.FORGET, Action.UNKNOWN)),
    ("no-op", (Action.NOOP,)),
)


def _plans_table(analysis: Analysis) -> str:
    rows = [
        "#### Plans",
        "",
        "| Plan | Terraform | Gated | " + " | ".join(name for name, _ in _COLUMNS) + " |",
        "| --- | --- | --- |" + " --- |" * len(_COLUMNS),
    ]
    for p in analysis.plans:
        mine = [c for c in analysis.changes if c.change.plan == p.label]
        counts = Counter(c.change.action for c in mine)
        gated = sum(1 for c in mine if c.gated)
        version = p.terraform_version or "unknown"
        fmt = "plan log" if p.format == "plan-log" else "show -json"
        cells = [
            md.code(_clip(p.label, 100), in_table=True),
            f"{_t(version, in_table=True)} ({fmt})",
            f"**{gated}**" if gated else "0",
            *(str(sum(counts[a] for a in acts)) for _, acts in _COLUMNS),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


# ---------------------------------------------------------------- optional sections


Block = tuple[str, Callable[[], str]]  # (what it shows, renders it when asked)


def _diff_block(c: ClassifiedChange, first: bool) -> str:
    ch = c.change
    what = "gated" if c.gated else "not production"
    lead = (
        f"{_icon(c)} {md.code(_clip(ch.address, 300))} · plan "
        f"{md.code(_clip(ch.plan, 100))} · {_t(c.action_label)} · {what}"
    )
    block = lead + "\n\n" + md.fence(render_change(ch), "diff")
    if first:
        block = "#### Destructive changes, attribute by attribute\n\n" + block
    return block


def _diff_blocks(analysis: Analysis) -> list[Block]:
    """(address, block) per destructive change, gated first (analysis order). Rendered
    lazily: a comment with thousands of changes renders only what can fit."""
    destructive = [c for c in analysis.changes if c.destructive]
    return [
        (c.change.address, functools.partial(_diff_block, c, i == 0))
        for i, c in enumerate(destructive)
    ]


def _other_summary(label: str, counts: Counter[str], total: int) -> str:
    parts = ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))
    return (
        f"<details><summary>Other changes in plan <code>{md.html_text(_clip(label, 100))}</code>: "
        f"{md.html_text(parts)} ({total})</summary>"
    )


def _other_block(label: str, mine: list[ClassifiedChange], first: bool) -> str:
    counts = Counter(c.change.action.value for c in mine)
    parts: list[str] = []
    used = 0
    listed = 0
    for c in mine:
        if used <= OTHER_BLOCK_BUDGET:
            text = render_change(c.change)
            used += len(text)
            parts.append(text)
        elif listed < OTHER_MAX_LISTED:
            parts.append(header(c.change)[0] + "\n")
            listed += 1
    rest = len(mine) - len(parts)
    if rest:
        parts.append(f"# ({rest} more changes not listed)\n")
    body = "\n".join(parts)
    block = (
        _other_summary(label, counts, len(mine))
        + "\n\n"
        + md.fence(body, "diff")
        + "\n\n</details>"
    )
    return ("#### Other changes\n\n" + block) if first else block


def _other_blocks(analysis: Analysis) -> list[Block]:
    """(plan label, block) per plan with non-destructive, non-no-op changes."""
    out: list[Block] = []
    for p in analysis.plans:
        mine = [
            c
            for c in analysis.changes
            if c.change.plan == p.label and not c.destructive and c.change.action is not Action.NOOP
        ]
        if mine:
            out.append((p.label, functools.partial(_other_block, p.label, mine, not out)))
    return out


def _footer(analysis: Analysis, view: PrView | None) -> str:
    bits = ["Plan Gatekeeper", f"plan digest {md.code(analysis.plan_digest)}"]
    if view is not None and view.head_sha:
        bits.append(f"head {md.code(_clip(view.head_sha, 64))}")
    return "_" + " · ".join(bits) + "_"


# ---------------------------------------------------------------- assembly


@dataclass(frozen=True, slots=True)
class _Parts:
    head: list[str]  # decision, unblock, authorship, gated intro: never cut
    rows: list[str]  # gated table rows: cut only when nothing else is left to cut
    after_table: list[str]  # plans table
    diffs: list[Block]
    others: list[Block]
    footer: str


def _parts(analysis: Analysis, decision: Decision, view: PrView | None) -> _Parts:
    gated = analysis.gated
    head = _decision_blocks(decision)
    head += _approval_blocks(decision, view, len(gated))
    head += _authorship_blocks(view)
    rows: list[str] = []
    after: list[str] = []
    if analysis.plans:
        head.append(_gated_intro(gated))
        rows = [_gated_row(c, view) for c in gated]
        after.append(_plans_table(analysis))
    return _Parts(
        head=head,
        rows=rows,
        after_table=after,
        diffs=_diff_blocks(analysis) if analysis.plans else [],
        others=_other_blocks(analysis) if analysis.plans else [],
        footer=_footer(analysis, view),
    )


def _where(view: PrView | None, full_report: str | None) -> str:
    if full_report is not None:
        return full_report
    if view is not None and view.full_report_url and md.safe_url(view.full_report_url):
        return md.link("the job summary of this run", view.full_report_url)
    return "the job summary of this run"


def _notice(
    diffs_cut: Sequence[Block],
    diffs_total: int,
    others_cut: Sequence[Block],
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
            f"{len(diffs_cut)} of {diffs_total} destructive-change diffs, from "
            f"{md.code(_clip(diffs_cut[0][0], 300))} on"
        )
    if others_cut:
        labels = ", ".join(md.code(_clip(label, 100)) for label, _ in others_cut[:5])
        if len(others_cut) > 5:
            labels += f" and {len(others_cut) - 5} more"
        what.append(f"the other changes of plan{'s' if len(others_cut) > 1 else ''} {labels}")
    unit_word = "characters" if unit == "chars" else "bytes"
    return (
        f"> ✂️ **Truncated** to fit the limit of {limit:,} {unit_word}. Left out: "
        + "; ".join(what)
        + f". The full report is in {where}."
    )


_SEP = "\n\n"


def _assemble(
    parts: _Parts,
    *,
    marker: str | None,
    limit: int | None,
    unit: str,
    where: str,
) -> str:
    size = _SIZERS[unit]
    top = [marker] if marker else []

    def doc(blocks: list[str]) -> str:
        return _SEP.join(b for b in blocks if b) + "\n"

    table = [_GATED_HEADER + "\n" + "\n".join(parts.rows)] if parts.rows else []
    fixed = doc([*top, *parts.head, *table, *parts.after_table]).rstrip("\n")
    thunks = [render for _, render in parts.diffs] + [render for _, render in parts.others]
    sep = size(_SEP)
    base = size(fixed)
    tail = sep + size(parts.footer) + size("\n")

    # Render optional blocks in order, only as long as they could still fit.
    optional: list[str] = []
    prefix = [0]
    for render in thunks:
        if limit is not None and base + prefix[-1] > limit:
            break
        block = render()
        optional.append(block)
        prefix.append(prefix[-1] + sep + size(block))
    complete = len(optional) == len(thunks)
    if limit is None or (complete and base + prefix[-1] + tail <= limit):
        return doc([fixed, *optional, parts.footer])

    # Drop optional blocks from the end of the document until the rest and a notice fit.
    nd = len(parts.diffs)
    start = len(optional) - 1 if complete else len(optional)
    for k in range(start, -1, -1):
        notice = _notice(
            parts.diffs[k:] if k < nd else [],
            nd,
            parts.others[max(0, k - nd) :],
            0,
            len(parts.rows),
            limit,
            unit,
            where,
        )
        if base + prefix[k] + sep + size(notice) + tail <= limit:
            return doc([fixed, *optional[:k], notice, parts.footer])

    # Even without optional parts it does not fit: cut rows of the gated table.
    head = doc([*top, *parts.head]).rstrip("\n")
    after = _SEP.join(parts.after_table)
    row_sizes = [size(r) + 1 for r in parts.rows]
    fixed_size = size(head) + sep + size(_GATED_HEADER) + sep + size(after) + tail
    total = fixed_size + sum(row_sizes)
    for r in range(len(parts.rows) - 1, -1, -1):
        total -= row_sizes[r]
        notice = _notice(
            parts.diffs, nd, parts.others, len(parts.rows) - r, len(parts.rows), limit, unit, where
        )
        if total + sep + size(notice) <= limit:
            tbl = _GATED_HEADER + "".join("\n" + row for row in parts.rows[:r])
            return doc([head, tbl, after, notice, parts.footer])

    # Last resort: the decision alone (clipped).
    notice = _notice(
        parts.diffs, nd, parts.others, len(parts.rows), len(parts.rows), limit, unit, where
    )
    title = parts.head[0] if parts.head else ""
    out = doc([*top, title, notice, parts.footer])
    while size(out) > limit and len(title) > 20:
        title = title[: len(title) // 2] + "…"
        out = doc([*top, title, notice, parts.footer])
    return out


# ---------------------------------------------------------------- public API


def render_markdown(
    analysis: Analysis,
    decision: Decision,
    view: PrView | None = None,
    *,
    limit: int | None = None,
    marker_key: str | None = None,
    limit_unit: str = "chars",
    full_report: str | None = None,
) -> str:
    """The whole report as GitHub-flavoured Markdown.

    `limit`: cut deterministically to at most this size (`limit_unit` "chars" counts UTF-16
    code units, "bytes" UTF-8 bytes). `marker_key`: start with the sticky marker for that key.
    `full_report`: Markdown naming where the untruncated report is (default: the job summary,
    linked when `view.full_report_url` is set)."""
    if limit_unit not in _SIZERS:
        raise ValueError(f"limit_unit must be one of {sorted(_SIZERS)}")
    marker = sticky_marker(marker_key) if marker_key is not None else None
    parts = _parts(analysis, decision, view)
    return _assemble(
        parts, marker=marker, limit=limit, unit=limit_unit, where=_where(view, full_report)
    )


def render_comment(
    analysis: Analysis,
    decision: Decision,
    view: PrView | None = None,
    *,
    marker_key: str | None = None,
    limit: int = COMMENT_LIMIT,
) -> str:
    """The sticky PR comment: marker first, at most 65,536 characters.

    The marker key is `marker_key` or `sticky_key` of the plan labels (see `comment_marker`)."""
    key = marker_key or sticky_key(p.label for p in analysis.plans)
    return render_markdown(analysis, decision, view, limit=limit, marker_key=key)


def render_summary(
    analysis: Analysis,
    decision: Decision,
    view: PrView | None = None,
    *,
    limit: int = SUMMARY_LIMIT,
    full_report: str = "the JSON report (the `report` output and the workflow artifact)",
) -> str:
    """The job summary (GITHUB_STEP_SUMMARY): the full report, capped at 1 MiB."""
    return render_markdown(
        analysis, decision, view, limit=limit, limit_unit="bytes", full_report=full_report
    )


@dataclass(frozen=True, slots=True)
class CheckOutput:
    title: str
    summary: str  # the core: decision, unblock, authorship, gated table, plans
    text: str  # the diffs and other changes


def render_check_output(
    analysis: Analysis,
    decision: Decision,
    view: PrView | None = None,
    *,
    limit: int = CHECK_LIMIT,
) -> CheckOutput:
    """The check run `output`: a plain title, the comment's core as `summary`, and the
    attribute diffs as `text`, each within GitHub's 65,535 characters."""
    parts = _parts(analysis, decision, view)
    where = _where(view, None)
    core = _Parts(parts.head, parts.rows, parts.after_table, [], [], parts.footer)
    summary = _assemble(core, marker=None, limit=limit, unit="chars", where=where)
    details = _Parts([], [], [], parts.diffs, parts.others, "")
    text = ""
    if parts.diffs or parts.others:
        text = _assemble(details, marker=None, limit=limit, unit="chars", where=where)
    return CheckOutput(title=check_title(decision), summary=summary, text=text)
