"""The reviewer's view: the PR comment, the job summary and the check run output.

In the order a reviewer reads, top to bottom:

0. the hidden sticky marker (comment only), then `PrView.notices` (the tamper notice: the
   first thing anyone must see; built by its own function with render.markdown_escape);
1. the decision in one sentence (the same sentence as the check run title and the CLI's
   first line) and what unblocks it: how many more approvals, from whom, who did not count
   (named here, why folded below), or the exact `gatekeeper sign` command; an allowed
   comment says why it is allowed and nothing about what it no longer needs;
2. the gated changes, expanded: a table that fits 1,000 px (each row: the address on its
   own line, then action, plan and the declaring line, why production, what forces the
   replacement); notes that several rows share are said once under it; then the attribute
   diffs of the gated changes (folded past EXPANDED_DIFF_LINES lines);
3. per plan, Terraform's own "Plan: X to add, Y to change, Z to destroy." line;
4. everything else, folded in `<details>` with counts in the summary line: destructive
   changes that are not production, the other changes of each plan, the authorship
   evidence, the approvals (who counted, who did not and why);
5. a footer linking the workflow run and the full report, with the plan digest.

Truncation is deterministic: parts 0, 1, 3 and 5 and the gated table are kept; the gated
diffs are dropped from the last one up, and each folded part gets what room is left (diffs
first, then header lines only, then a count). A notice says what was left out and where the
whole report is. If the gated table alone is too long, its last rows go too; the decision
always stays.

Every string from a plan, the code or the PR goes through `render.markdown_escape`;
attribute values only ever appear inside fenced blocks, after `render.diff` masked secrets.
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
from gatekeeper.plan.model import Action, ReplaceOrder
from gatekeeper.plan.redact import redacted_paths
from gatekeeper.render import markdown_escape as md
from gatekeeper.render.diff import header, render_change
from gatekeeper.render.layout import (
    SIZERS,
    Block,
    Folded,
    Parts,
    assemble,
    clip,
    details,
)
from gatekeeper.render.pr_view import Person, PrView

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


# ---------------------------------------------------------------- small pieces


def _clip(s: str, n: int = MAX_INLINE) -> str:
    return clip(s, n)


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


# ---------------------------------------------------------------- 1. decision and unblock

EXPANDED_DIFF_LINES = 60  # lines of gated diffs shown expanded; the rest are folded
_WHO_COUNTS = "not the PR author, a commit author or co-author, a bot or an agent"


def _decision_blocks(decision: Decision, view: PrView | None) -> list[str]:
    blocks = [_title(decision)]
    if decision.advisory:
        blocks.append(
            "> **Advisory mode** (rollout): everything below is reported, nothing is enforced. "
            "This check never fails."
        )
    if decision.details and decision.outcome != ALLOW:
        # What else blocks, or went wrong; an allowed comment keeps them folded (part 4).
        blocks.append("\n".join(f"- {_t(d)}" for d in decision.details))
    if decision.outcome == ERROR:
        blocks.append(
            "An error never allows: fix what is reported above and re-run the job. "
            "Until then the check stays red."
        )
    if decision.outcome == BLOCK:
        blocks += _unblock_blocks(view)
    return blocks


def _unblock_blocks(view: PrView | None) -> list[str]:
    if view is None:
        return [
            "**To unblock:** this is an offline check; approvals and signed overrides are "
            "evaluated only on the pull request."
        ]
    blocks: list[str] = []
    need = max(0, view.approvals_required - len(view.approvals_counted))
    if need:
        counted = len(view.approvals_counted)
        why = (
            f"; {view.approvals_required} required: {_t(view.approvals_why)}"
            if view.approvals_why
            else ""
        )
        line = (
            f"**To unblock:** {_plural(need, 'more approval')} of the current head from "
            f"distinct humans who are {_WHO_COUNTS} ({counted} of "
            f"{view.approvals_required} counted{why})."
        )
        skipped = [*view.approvals_excluded, *view.approvals_stale]
        if skipped:
            line += (
                f" Not counted: {_people(skipped[:5])}"
                + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
                + " (why: under *Approvals* below)."
            )
        blocks.append(line)
    if view.trust_root_changes:
        files = "\n".join(f"- {md.code(_clip(p))}" for p in view.trust_root_changes)
        blocks.append(
            "🔒 **This PR changes the trust root** (workflows, policy, allowed signers): "
            "these files are gated, and signed overrides are disabled, so only approvals "
            "can unblock it:\n\n" + files
        )
    elif view.sign_command:
        cmd = _wrap_command(md.visible(view.sign_command).replace("\\n", " "))
        blocks.append(
            "**Or a signed override:** an allowlisted signer runs this and posts its output "
            "as a comment on this PR:\n\n" + md.fence(cmd, "sh")
        )
    elif need:
        blocks.append("Signed overrides are not available for this PR.")
    return blocks


def _wrap_command(cmd: str, width: int = 76) -> str:
    """A long shell command on several lines (`\\` continuations), broken only before an
    ` --option` outside quotes, so it fits the comment without scrolling sideways."""
    pieces: list[str] = []
    start = 0
    quote = ""
    for i, ch in enumerate(cmd):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif cmd.startswith(" --", i) and i > start:
            pieces.append(cmd[start:i])
            start = i + 1
    pieces.append(cmd[start:])
    lines = [pieces[0]]
    for piece in pieces[1:]:
        if len(lines[-1]) + 1 + len(piece) <= width:
            lines[-1] += " " + piece
        else:
            lines.append(piece)
    return " \\\n    ".join(lines)


# ---------------------------------------------------------------- 2. gated changes


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
        return f"**replace** ({order})"
    if ch.action is Action.UNKNOWN:
        return "**unknown action** " + md.code(str(list(ch.actions)), in_table=True)
    word = f"**{ch.action.value}**"
    if ch.deposed:
        word += " of deposed object " + md.code(ch.deposed, in_table=True)
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


def _note_md(n: str) -> str:
    return ("⚠️ " if "prevent_destroy" in n else "") + _t(_note(n), in_table=True)


def _shared_notes(gated: Sequence[ClassifiedChange]) -> set[str]:
    """Notes that more than one gated change carries: said once, under the table."""
    if len(gated) < 2:
        return set()
    counts = Counter(n for c in gated for n in dict.fromkeys(c.notes))
    return {n for n, k in counts.items() if k > 1}


def _gated_row(c: ClassifiedChange, view: PrView | None, shared: set[str]) -> str:
    """One cell, one line per fact: the address alone on the first line (a long module
    address never shares its line), so the table is as wide as the longest line only."""
    ch = c.change
    lines = [_icon(c) + " " + md.code(_clip(ch.address, 300), in_table=True)]
    where = [action_cell(c), "plan " + md.code(_clip(ch.plan, 100), in_table=True)]
    src = _source_cell(c, view)
    if src:
        where.append(src)
    lines.append(" · ".join(where))
    for r in c.reasons:
        kind = "❓ possibly production" if _possibly(r.code) else "production"
        lines.append(f"{kind}: {_t(r.text, in_table=True)}")
    paths = redacted_paths(ch)
    if paths:
        forced = ", ".join(md.code(_clip(_path_str(p), 200), in_table=True) for p in paths)
        lines.append(f"forces replacement: {forced}")
    lines += [_note_md(n) for n in c.notes if n not in shared]
    return "| " + "<br>".join(lines) + " |"


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
    return f"#### Gated changes ({len(gated)}): {', '.join(parts)}"


def _notes_block(gated: Sequence[ClassifiedChange]) -> str:
    shared = _shared_notes(gated)
    if not shared:
        return ""
    lines = []
    for n in sorted(shared, key=lambda x: (0 if "prevent_destroy" in x else 1, x)):
        k = sum(1 for c in gated if n in c.notes)
        on = "all of them" if k == len(gated) else f"{k} of {len(gated)}"
        lines.append(f"- {_note_md(n)} ({on})")
    return "Notes on the gated changes:\n\n" + "\n".join(lines)


def _diff_fence(c: ClassifiedChange) -> str:
    return md.fence(render_change(c.change), "diff")


def _gated_diffs(gated: Sequence[ClassifiedChange]) -> list[Block]:
    """(address, block) per gated change: expanded while they total EXPANDED_DIFF_LINES
    lines, then one folded block for the rest. Rendered lazily."""
    out: list[Block] = []
    lines = 0
    for i, c in enumerate(gated):
        n = render_change(c.change).count("\n")
        if lines + n > EXPANDED_DIFF_LINES:
            rest = list(gated[i:])
            out.append((c.change.address, functools.partial(_folded_gated, rest, i == 0)))
            break
        lines += n
        out.append((c.change.address, functools.partial(_diff_fence, c)))
    return out


def _folded_gated(rest: Sequence[ClassifiedChange], alone: bool) -> str:
    what = "the gated change" if len(rest) == 1 else f"the {len(rest)} gated changes"
    if not alone:
        what = (
            "the other gated change" if len(rest) == 1 else f"the other {len(rest)} gated changes"
        )
    body = "\n".join(render_change(c.change) for c in rest)
    return (
        f"<details><summary>Attribute diffs of {md.html_text(what)}</summary>\n\n"
        + md.fence(body, "diff")
        + "\n\n</details>"
    )


# ---------------------------------------------------------------- 3. Terraform's plan line


def terraform_summary(changes: Iterable[ClassifiedChange]) -> str:
    """Terraform's own summary line: "Plan: X to add, Y to change, Z to destroy." (a replace
    counts as one add and one destroy), with "N to import, " in front and ", N to forget"
    behind when non-zero, as Terraform 1.5+ and 1.7+ print them; "No changes." otherwise."""
    add = change = destroy = imports = forget = unknown = 0
    for c in changes:
        a = c.change.action
        add += a in (Action.CREATE, Action.REPLACE)
        change += a is Action.UPDATE
        destroy += a in (Action.DELETE, Action.REPLACE)
        forget += a is Action.FORGET
        unknown += a is Action.UNKNOWN
        imports += bool(c.change.importing)
    if not (add or change or destroy or imports or forget or unknown):
        return "No changes."
    line = "Plan: " + (f"{imports} to import, " if imports else "")
    line += f"{add} to add, {change} to change, {destroy} to destroy"
    line += f", {forget} to forget." if forget else "."
    if unknown:
        line += f" And {_plural(unknown, 'change')} with an action this gatekeeper does not know."
    return line


def _plans_block(analysis: Analysis) -> str:
    by_plan: dict[str, list[ClassifiedChange]] = {p.label: [] for p in analysis.plans}
    for c in analysis.changes:
        by_plan.setdefault(c.change.plan, []).append(c)
    lines = []
    for p in analysis.plans:
        mine = by_plan[p.label]
        version = p.terraform_version or "unknown version"
        fmt = ", plan log" if p.format == "plan-log" else ""
        gated = sum(1 for c in mine if c.gated)
        gate = f", **{gated} gated**" if gated else ""
        lines.append(
            f"- {md.code(_clip(p.label, 100))} (Terraform {_t(version)}{fmt}{gate}): "
            f"{md.text(terraform_summary(mine))}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- 4. folded parts


def _fold_diffs(
    summary_html: str,
    changes: Sequence[ClassifiedChange],
    room: int | None,
    size: Callable[[str], int],
) -> tuple[str, bool] | None:
    """Diffs of `changes` in one folded block: whole diffs while they fit (OTHER_BLOCK_BUDGET
    without a limit), then header lines only (at most OTHER_MAX_LISTED), then a count."""
    cap = OTHER_BLOCK_BUDGET if room is None else room
    fixed = size(details(summary_html, md.fence("# (999999 more changes not listed)\n", "diff")))
    if room is not None and fixed + 16 > room:
        return None
    used = fixed + 16  # fences may grow with backtick runs: a margin
    parts: list[str] = []
    whole = True
    listed = 0
    for c in changes:
        text = render_change(c.change) if whole else header(c.change)[0] + "\n"
        need = size(text) + 1 + 2 * md.longest_run(text)
        if whole and used + need > cap:
            whole = False
            text = header(c.change)[0] + "\n"
            need = size(text) + 1 + 2 * md.longest_run(text)
        if not whole and (listed >= OTHER_MAX_LISTED or used + need > cap):
            break
        parts.append(text)
        used += need
        listed += not whole
    rest = len(changes) - len(parts)
    if rest:
        parts.append(f"# ({rest} more changes not listed)\n")
    return details(summary_html, md.fence("\n".join(parts), "diff")), not whole or bool(rest)


def _counts(changes: Iterable[ClassifiedChange]) -> str:
    counts = Counter(c.change.action.value for c in changes)
    return ", ".join(f"{n} {a}" for a, n in sorted(counts.items()))


def _not_production(analysis: Analysis) -> list[Folded]:
    mine = [c for c in analysis.changes if c.destructive and not c.gated]
    if not mine:
        return []
    summary = md.html_text(
        f"⚪ Destructive changes that are not production ({len(mine)}: {_counts(mine)})"
    )
    return [
        Folded(
            "the destructive changes that are not production",
            functools.partial(_fold_diffs, summary, mine),
            grows=True,
        )
    ]


def _others(analysis: Analysis) -> list[Folded]:
    out: list[Folded] = []
    for p in analysis.plans:
        mine = [
            c
            for c in analysis.changes
            if c.change.plan == p.label and not c.destructive and c.change.action is not Action.NOOP
        ]
        if not mine:
            continue
        summary = (
            f"Other changes in plan <code>{md.html_text(_clip(p.label, 100))}</code> "
            f"({len(mine)}: {md.html_text(_counts(mine))})"
        )
        out.append(
            Folded(
                f"the other changes of plan {md.code(_clip(p.label, 100))}",
                functools.partial(_fold_diffs, summary, mine),
                grows=True,
            )
        )
    return out


def _fixed(
    summary_html: str, body: str
) -> Callable[[int | None, Callable[[str], int]], tuple[str, bool] | None]:
    block = details(summary_html, body)

    def render(room: int | None, size: Callable[[str], int]) -> tuple[str, bool] | None:
        return (block, False) if room is None or size(block) <= room else None

    return render


def _authorship(view: PrView | None) -> list[Folded]:
    if view is None:
        return []
    n = len(view.agent_evidence)
    if view.agent_authored:
        summary = f"🤖 Authorship: written by an AI coding agent ({_plural(n, 'signal')})"
    elif n:
        summary = f"👤 Authorship: human-authored ({_plural(n, 'inconclusive signal')})"
    else:
        summary = "👤 Authorship: human-authored (no agent evidence)"
    items = "\n".join(f"- {_t(e)}" for e in view.agent_evidence) or "- no agent evidence found"
    return [Folded("the authorship evidence", _fixed(md.html_text(summary), items))]


def _approvals(decision: Decision, view: PrView | None) -> list[Folded]:
    if view is None:
        return []
    lines: list[str] = []
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
    if decision.outcome == ALLOW and decision.details:
        lines += [f"- {_t(d)}" for d in decision.details]
    if not lines:
        return []
    bits = []
    if view.approvals_counted:
        bits.append(f"{len(view.approvals_counted)} counted")
    if view.approvals_excluded:
        bits.append(f"{len(view.approvals_excluded)} not counted")
    if view.approvals_stale:
        bits.append(f"{len(view.approvals_stale)} stale")
    if view.overrides:
        bits.append(_plural(len(view.overrides), "override comment"))
    summary = "Approvals" + (f" ({', '.join(bits)})" if bits else "")
    return [Folded("the approvals", _fixed(md.html_text(summary), "\n".join(lines)))]


# ---------------------------------------------------------------- 5. footer


def _footer(analysis: Analysis, view: PrView | None) -> str:
    bits = ["Plan Gatekeeper"]
    if view is not None:
        if view.run_url and md.safe_url(view.run_url):
            bits.append(md.link("workflow run", view.run_url))
        if view.full_report_url and md.safe_url(view.full_report_url):
            bits.append(md.link("full report", view.full_report_url) + " (job summary)")
    bits.append(f"plan digest {md.code(analysis.plan_digest)}")
    if view is not None and view.head_sha:
        bits.append(f"head {md.code(_clip(view.head_sha, 64))}")
    return "_" + " · ".join(bits) + "_"


# ---------------------------------------------------------------- parts


def _parts(analysis: Analysis, decision: Decision, view: PrView | None) -> Parts:
    gated = analysis.gated
    head = list(view.notices) if view is not None else []
    head += _decision_blocks(decision, view)
    rows: list[str] = []
    notes = plans = ""
    diffs: list[Block] = []
    folded: list[Folded] = []
    if analysis.plans:
        if gated or decision.outcome != ALLOW:  # an allowed PR's headline says why already
            head.append(_gated_intro(gated))
        shared = _shared_notes(gated)
        rows = [_gated_row(c, view, shared) for c in gated]
        notes = _notes_block(gated)
        diffs = _gated_diffs(gated)
        plans = "#### Plan\n\n" + _plans_block(analysis)
        folded = _not_production(analysis) + _others(analysis)
    folded += _authorship(view) + _approvals(decision, view)
    return Parts(head, rows, notes, diffs, plans, folded, _footer(analysis, view))


def _where(view: PrView | None, full_report: str | None) -> str:
    if full_report is not None:
        return full_report
    if view is not None and view.full_report_url and md.safe_url(view.full_report_url):
        return md.link("the job summary of this run", view.full_report_url)
    return "the job summary of this run"


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
    if limit_unit not in SIZERS:
        raise ValueError(f"limit_unit must be one of {sorted(SIZERS)}")
    marker = sticky_marker(marker_key) if marker_key is not None else None
    parts = _parts(analysis, decision, view)
    return assemble(
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
    summary: str  # the core: decision, unblock, gated table, plan lines
    text: str  # the diffs and the folded parts


def render_check_output(
    analysis: Analysis,
    decision: Decision,
    view: PrView | None = None,
    *,
    limit: int = CHECK_LIMIT,
) -> CheckOutput:
    """The check run `output`: a plain title, the comment's core as `summary`, and the
    attribute diffs and folded parts as `text`, each within GitHub's 65,535 characters.
    `limit` bounds the text (the gate gives less room when it appends its own blocks)."""
    parts = _parts(analysis, decision, view)
    where = _where(view, None)
    core = Parts(parts.head, parts.rows, parts.notes, [], parts.plans, [], parts.footer)
    summary = assemble(core, marker=None, limit=CHECK_LIMIT, unit="chars", where=where)
    rest = Parts([], [], "", parts.diffs, "", parts.folded, "")
    text = ""
    if parts.diffs or parts.folded:
        text = assemble(rest, marker=None, limit=limit, unit="chars", where=where)
    return CheckOutput(title=check_title(decision), summary=summary, text=text)
