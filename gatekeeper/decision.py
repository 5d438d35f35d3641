"""allow / block / error, with the explanation a reviewer reads first."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from gatekeeper.classify import Analysis
from gatekeeper.errors import EXIT_ALLOW, EXIT_BLOCK, EXIT_INPUT
from gatekeeper.policy.model import Policy

if TYPE_CHECKING:
    from gatekeeper.pr.approvals import ApprovalResult, NotCounted
    from gatekeeper.pr.authorship import Authorship
    from gatekeeper.pr.trust_root import TrustRootChange


class Outcome(enum.StrEnum):
    """A decision's outcome; the value is what reports, outputs and records say."""

    ALLOW = "allow"
    BLOCK = "block"
    ERROR = "error"


# The members by their short names (the renderers and tests compare against these).
ALLOW = Outcome.ALLOW
BLOCK = Outcome.BLOCK
ERROR = Outcome.ERROR


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    headline: str  # one line: what is decided and what is missing
    details: tuple[str, ...] = ()
    advisory: bool = False  # advisory mode reports a block but never fails
    # gate only: gated items (plan changes + gated trust-root files), approvals numbers
    gated_count: int | None = None
    approvals_required: int | None = None
    approvals_counted: int | None = None

    @property
    def exit_code(self) -> int:
        if self.outcome == ERROR:
            return EXIT_INPUT
        if self.outcome == BLOCK and not self.advisory:
            return EXIT_BLOCK
        return EXIT_ALLOW


def decide_offline(analysis: Analysis, policy: Policy) -> Decision:
    """`gatekeeper check`: no PR, so no approvals: any gated change blocks."""
    advisory = policy.mode == "advisory"
    gated = analysis.gated
    if not gated:
        return Decision(ALLOW, "allowed: " + nothing_gated(analysis), advisory=advisory)
    prod = sum(1 for c in gated if c.production)
    what = changes_phrase(prod, len(gated) - prod)
    verb = "needs" if len(gated) == 1 else "need"
    headline = f"blocked: {what} {verb} approval from distinct humans"
    if advisory:
        headline += " [advisory mode: not enforced]"
    return Decision(BLOCK, headline, advisory=advisory)


# Headlines are sentences a reviewer reads (the comment's title, the check run title, the
# CLI's first line): the gate and `gatekeeper check` word the same things the same way.


def changes_phrase(production: int, possibly: int) -> str:
    """ "1 destructive production change", "2 destructive changes that may be production",
    "3 destructive changes (2 production, 1 possibly production)"."""
    total = production + possibly
    s = "" if total == 1 else "s"
    if not possibly:
        return f"{total} destructive production change{s}"
    if not production:
        return f"{total} destructive change{s} that may be production"
    mix = f"{production} production, {possibly} possibly production"
    return f"{total} destructive change{s} ({mix})"


def nothing_gated(analysis: Analysis) -> str:
    """Why nothing is gated, as the rest of an "allowed: ..." sentence."""
    n = len(analysis.destructive)
    if n == 0:
        return "no destructive changes"
    if n == 1:
        return "the 1 destructive change is not production"
    return f"none of the {n} destructive changes is production"


# ----------------------------------------------------------------------------- the gate


class OverrideOutcome(Protocol):
    """What the decision needs from a signed-override result (gate.signed_overrides.OverrideResult:
    an overrides.OverrideEvaluation or OverridesUnavailable)."""

    @property
    def satisfied(self) -> bool: ...
    @property
    def available(self) -> bool: ...
    @property
    def unavailable_reason(self) -> str | None: ...
    @property
    def required(self) -> int: ...
    @property
    def principals(self) -> tuple[str, ...]: ...


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _names(logins: Sequence[str], limit: int = 3) -> str:
    shown = ", ".join(f"@{x}" for x in logins[:limit])
    if len(logins) > limit:
        shown += f" and {len(logins) - limit} more"
    return shown


def approval_summary(approvals: ApprovalResult, limit: int = 3) -> str:
    """ "@alice counted; @bob excluded, co-authored the commits" (short, for a title)."""
    parts = [f"{_names([a.login for a in approvals.counted], limit)} counted"]
    if not approvals.counted:
        parts = ["none counted"]
    left = limit
    for x in approvals.excluded[:left]:
        parts.append(f"@{x.login} excluded, {x.brief}")
    left -= min(left, len(approvals.excluded))
    for x in approvals.stale[:left]:
        parts.append(f"@{x.login} {x.brief}")
    hidden = len(approvals.excluded) + len(approvals.stale) - limit
    if hidden > 0:
        parts.append(f"{hidden} more not counted")
    return "; ".join(parts)


def overrides_can_count(
    trust_root: Sequence[TrustRootChange], always_gated: Sequence[str] = ()
) -> bool:
    """Whether a signed override may count for this PR at all. Never when the PR changes the
    trust root (the policy, allowed_signers or a gate path, whoever wrote it: an override
    must not vouch for a change to the rules that judge overrides) or the gate found an
    always-gated condition (e.g. the plan job is not trusted). The gate and the decision
    both ask this one question."""
    return not trust_root and not always_gated


def _not_counted_line(kind: str, x: NotCounted) -> str:
    return f"{kind}: @{x.login}: {x.reason}"


def decide_gate(
    analysis: Analysis,
    policy: Policy,
    authorship: Authorship,
    approvals: ApprovalResult,
    trust_root: Sequence[TrustRootChange] = (),
    *,
    overrides: OverrideOutcome | None = None,
    always_gated: Sequence[str] = (),
    blockers: Sequence[str] = (),
) -> Decision:
    """The gate's decision for one PR head.

    - gated: the plan's gated changes; in an agent-authored PR also every trust-root file it
      changes; and each of `always_gated` (reasons the gate found, whoever wrote the PR).
    - `blockers`: fail-closed reasons approvals cannot fix (e.g. commits GitHub does not
      list): with anything gated, the PR stays blocked.
    - allowed when the distinct human approvals reach the requirement (and no qualified
      change request blocks, when the policy says so), or when signed overrides suffice
      and `overrides_can_count`.
    """
    advisory = policy.mode == "advisory"
    gated = analysis.gated
    # With who pushed (or which commits) unknown, the PR may be an agent's: its trust-root
    # changes are gated, so the blockers below keep it red (never "nothing gated").
    files = tuple(trust_root) if authorship.agent_authored or blockers else ()
    n_gated = len(gated) + len(files) + len(always_gated)
    counted = len(approvals.counted)
    required = approvals.required.count
    details = _gate_details(approvals, trust_root, files, overrides)
    details += tuple(f"gated: {x}" for x in always_gated)
    details += tuple(f"blocked: {x}" for x in blockers)

    def done(outcome: Outcome, headline: str) -> Decision:
        if outcome == BLOCK and advisory:
            headline += " [advisory mode: not enforced]"
        return Decision(
            outcome,
            headline,
            details,
            advisory=advisory,
            gated_count=n_gated,
            approvals_required=required,
            approvals_counted=counted,
        )

    if n_gated == 0:
        return done(ALLOW, "allowed: " + nothing_gated(analysis))

    prod = sum(1 for c in gated if c.production)
    what = _gated_what(prod, len(gated) - prod, len(files), len(always_gated))
    if blockers:
        return done(BLOCK, f"blocked: {blockers[0]} ({what})")
    cr = approvals.changes_requested if approvals.changes_requested_blocks else ()
    if cr:
        who = _names([x.login for x in cr])
        return done(BLOCK, f"blocked: {who} requested changes ({what})")
    if approvals.satisfied:
        names = [a.login for a in approvals.counted]
        by = f" ({_names(names)})" if names else ""
        humans = "distinct human" if counted == 1 else "distinct humans"
        return done(ALLOW, f"allowed: {what} approved by {counted} {humans}{by}")
    if (
        overrides is not None
        and overrides.satisfied
        and overrides_can_count(trust_root, always_gated)
    ):
        by = ", ".join(overrides.principals)
        return done(ALLOW, f"allowed: a signed override by {by} covers {what}")
    missing = approvals.missing
    noun = "approval" if missing == 1 else "approvals"
    so_far = approval_summary(approvals).removeprefix("none counted").removeprefix("; ")
    tail = f" ({so_far})" if so_far else ""
    return done(
        BLOCK, f"blocked: {missing} more {noun} needed from distinct humans for {what}{tail}"
    )


def _gated_what(production: int, possibly: int, files: int, other: int) -> str:
    parts = []
    if production or possibly:
        parts.append(changes_phrase(production, possibly))
    if files:
        parts.append(_plural(files, "trust-root file") + " changed by an agent")
    if other:
        parts.append(_plural(other, "gated condition"))
    return " and ".join(parts)


def _gate_details(
    approvals: ApprovalResult,
    trust_root: Sequence[TrustRootChange],
    files: Sequence[TrustRootChange],
    overrides: OverrideOutcome | None,
) -> tuple[str, ...]:
    """What the renderers do not show from the PR view: why this many approvals, change
    requests, trust-root files of a human PR, the override status."""
    # How many approvals and why is PrView.approvals_why: shown only while blocked.
    out: list[str] = []
    for t in trust_root:
        if t not in files:
            out.append(f"trust-root file changed, not gated (human-authored PR): {t.line()}")
    out.extend(_requests_and_overrides(approvals, overrides))
    return tuple(out)


def _requests_and_overrides(
    approvals: ApprovalResult, overrides: OverrideOutcome | None
) -> list[str]:
    out = []
    for x in approvals.changes_requested:
        blocks = "blocks" if approvals.changes_requested_blocks else "does not block (policy)"
        out.append(f"changes requested by @{x.login}: {blocks}")
    if overrides is not None:
        if not overrides.available:
            out.append(f"signed overrides unavailable: {overrides.unavailable_reason}")
        else:
            got = ", ".join(overrides.principals) or "none"
            out.append(f"signed overrides: {got} ({overrides.required} required)")
    return out


def explain_gate(
    analysis: Analysis,
    authorship: Authorship,
    approvals: ApprovalResult,
    trust_root: Sequence[TrustRootChange],
    overrides: OverrideOutcome | None = None,
) -> tuple[str, ...]:
    """The whole explanation, one fact per line (for the job log)."""
    files = tuple(trust_root) if authorship.agent_authored else ()
    out: list[str] = []
    for c in analysis.gated:
        out.append(f"gated change: {c.action_label} {c.change.address} (plan {c.change.plan})")
    if authorship.agent_authored:
        out.append("agent-authored: yes")
        out.extend(f"agent evidence: {e.line()}" for e in authorship.evidence)
    else:
        out.append("agent-authored: no evidence found")
    for op in authorship.operators:
        out.append(f"operator (never a second person): {op.display}: {', '.join(op.roles)}")
    for t in trust_root:
        gated = "gated (agent-authored PR)" if t in files else "not gated (human-authored PR)"
        out.append(f"trust-root file changed, {gated}: {t.line()}")
    req = approvals.required
    out.append(f"approvals required: {req.count} distinct humans ({req.why})")
    for a in approvals.counted:
        out.append(f"approval counted: @{a.login} (on {(a.commit_id or '?')[:7]})")
    out.extend(_not_counted_line("approval not counted", x) for x in approvals.excluded)
    out.extend(_not_counted_line("stale approval", x) for x in approvals.stale)
    out.extend(_requests_and_overrides(approvals, overrides))
    return tuple(out)


def decide_pending(head_sha: str, why: str, policy: Policy | None = None) -> Decision:
    """No verified plan analysis for the head commit: blocked until there is one."""
    advisory = policy is not None and policy.mode == "advisory"
    headline = f"blocked: plan pending for {head_sha}"
    if why:
        headline += f": {why}"
    if advisory:
        headline += " [advisory mode: not enforced]"
    return Decision(BLOCK, headline, (why,) if why else (), advisory=advisory)
