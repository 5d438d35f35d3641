"""Who counts as a distinct human approver, who does not and why, and how many are needed.

- Each reviewer's latest decisive review counts: APPROVED, CHANGES_REQUESTED or DISMISSED.
  A later COMMENTED (or a PENDING draft) does not cancel an approval.
- Reviewers are told apart by account id, never by login text.
- Only an approval given on the current head commit counts (policy `stale: head`). With
  `stale: digest`, an approval on an older commit also counts while the gated-change digest
  of that commit equals the current one (see `digest_at`). Trade-off: approvals survive
  pushes that do not change what gets destroyed (fewer re-approvals), but the approver did
  not see the rest of the new code; the digest binds the destroyed objects, not the code.
- When the PR changes the trust root (policy, allowed_signers, gate paths) or the gate found
  an always-gated condition (e.g. the plan job is not trusted), `stale: digest` does not
  apply: the digest binds the plan, and the plan (or the rules judging it) is what changed.
- Never counted: the PR author, every operator (commit author, committer, Co-authored-by
  human), bots and agents; by default (`require_association`) anyone whose
  author_association is not OWNER, MEMBER or COLLABORATOR (on a public repository anyone
  can approve); and, when the policy asks, reviewers without write permission or outside
  the required teams. Unknown association, permission or membership counts as "no".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gatekeeper import globs
from gatekeeper.policy.model import AgentPolicy, ApprovalPolicy
from gatekeeper.pr.authorship import Authorship, agent_kind, short_sha
from gatekeeper.pr.facts import TRUSTED_ASSOCIATIONS, Actor, PullRequestFacts, ReviewFacts

APPROVED = "APPROVED"
CHANGES_REQUESTED = "CHANGES_REQUESTED"
DISMISSED = "DISMISSED"
DECISIVE = frozenset({APPROVED, CHANGES_REQUESTED, DISMISSED})
WRITE_PERMISSIONS = frozenset({"admin", "maintain", "write"})


@dataclass(frozen=True, slots=True)
class Approver:
    login: str
    id: int | None
    commit_id: str | None
    review_id: int
    submitted_at: str | None


@dataclass(frozen=True, slots=True)
class NotCounted:
    login: str
    id: int | None
    reason: str  # the full reason
    commit_id: str | None = None
    short: str = ""  # a few words for the headline, e.g. "co-authored the commits"

    @property
    def brief(self) -> str:
        return self.short or self.reason


@dataclass(frozen=True, slots=True)
class Requirement:
    count: int
    why: str  # e.g. "agent-authored PR (policy approvals.agent_authored)"


@dataclass(frozen=True, slots=True)
class ApprovalResult:
    required: Requirement
    counted: tuple[Approver, ...]
    excluded: tuple[NotCounted, ...]  # approvals that never count, with the reason
    stale: tuple[NotCounted, ...]  # approvals for an older commit
    changes_requested: tuple[NotCounted, ...]  # qualified reviewers whose latest is a block
    changes_requested_blocks: bool

    @property
    def missing(self) -> int:
        return max(0, self.required.count - len(self.counted))

    @property
    def satisfied(self) -> bool:
        return self.missing == 0 and not (self.changes_requested_blocks and self.changes_requested)


def required_approvals(
    policy: ApprovalPolicy, *, agent_authored: bool, plan_labels: Iterable[str]
) -> Requirement:
    """Approvals needed. For each plan with gated changes the matching rules apply (the
    strictest wins; a rule without a number for this kind of PR uses the default); across
    plans, the strictest plan wins."""
    kind = "agent-authored" if agent_authored else "human-authored"
    base = policy.agent_authored if agent_authored else policy.human_authored
    default = Requirement(base, f"{kind} PR (approvals.{kind.replace('-', '_')})")
    best: Requirement | None = None
    for label in sorted(set(plan_labels)):
        matched: list[tuple[int, str]] = []
        for rule in policy.rules:
            glob = globs.first_match(rule.plan_labels, label)
            n = rule.agent_authored if agent_authored else rule.human_authored
            if glob is not None and n is not None:
                matched.append((n, glob))
        if matched:
            n, glob = max(matched, key=lambda t: t[0])
            cand = Requirement(n, f"{kind} PR, plan {label!r} matches rule {glob!r}")
        else:
            cand = default
        if best is None or cand.count > best.count:
            best = cand
    return best or default


def latest_decisive(reviews: Iterable[ReviewFacts]) -> dict[int | str, ReviewFacts]:
    """Each reviewer's latest APPROVED / CHANGES_REQUESTED / DISMISSED review, by account id."""
    latest: dict[int | str, ReviewFacts] = {}
    ordered = sorted(reviews, key=lambda r: (r.submitted_at or "", r.id))
    for r in ordered:
        if r.user is None or r.state.upper() not in DECISIVE:
            continue
        key: int | str = r.user.id if r.user.id is not None else f"login:{r.user.login}"
        latest[key] = r
    return latest


def evaluate(
    facts: PullRequestFacts,
    authorship: Authorship,
    policy: ApprovalPolicy,
    agents: AgentPolicy,
    *,
    plan_labels: Iterable[str] = (),
    current_digest: str | None = None,
    digest_at: Mapping[str, str] | None = None,
    head_only: str | None = None,
) -> ApprovalResult:
    """Count the distinct human approvals of the current head.

    `digest_at` maps commit SHAs to the gated-change digest verified for that commit; it is
    used only with `stale: digest`. `head_only`: why `stale: digest` does not apply to this
    PR (it changes the trust root, or the plan job is not trusted): only approvals of the
    head commit count."""
    required = required_approvals(
        policy, agent_authored=authorship.agent_authored, plan_labels=plan_labels
    )
    counted: list[Approver] = []
    excluded: list[NotCounted] = []
    stale: list[NotCounted] = []
    blocking: list[NotCounted] = []
    for review in latest_decisive(facts.reviews).values():
        user = review.user
        assert user is not None
        login = user.login or f"id {user.id}"
        state = review.state.upper()
        if state == DISMISSED:
            if _had_approval(facts.reviews, user):
                excluded.append(
                    NotCounted(
                        login, user.id, "approval dismissed", review.commit_id, "approval dismissed"
                    )
                )
            continue
        why = disqualified(
            user, facts, authorship, policy, agents, association=review.author_association
        )
        if state == CHANGES_REQUESTED:
            if why is None:
                blocking.append(
                    NotCounted(
                        login, user.id, "requested changes", review.commit_id, "requested changes"
                    )
                )
            elif _had_approval(facts.reviews, user):
                excluded.append(
                    NotCounted(
                        login,
                        user.id,
                        "approval replaced by a change request",
                        review.commit_id,
                        "requested changes after approving",
                    )
                )
            continue
        # APPROVED
        if why is not None:
            excluded.append(NotCounted(login, user.id, why[0], review.commit_id, why[1]))
            continue
        stale_reason = _staleness(
            review, facts.head_sha, policy, current_digest, digest_at, head_only
        )
        if stale_reason is not None:
            short = f"approved an older commit ({short_sha(review.commit_id or '?')})"
            stale.append(NotCounted(login, user.id, stale_reason, review.commit_id, short))
            continue
        counted.append(Approver(login, user.id, review.commit_id, review.id, review.submitted_at))
    counted.sort(key=lambda a: a.login.casefold())
    return ApprovalResult(
        required=required,
        counted=tuple(counted),
        excluded=tuple(sorted(excluded, key=lambda x: x.login.casefold())),
        stale=tuple(sorted(stale, key=lambda x: x.login.casefold())),
        changes_requested=tuple(sorted(blocking, key=lambda x: x.login.casefold())),
        changes_requested_blocks=policy.changes_requested_blocks,
    )


def _had_approval(reviews: Iterable[ReviewFacts], user: Actor) -> bool:
    return any(
        r.user is not None and r.user.id == user.id and r.state.upper() in (APPROVED, DISMISSED)
        for r in reviews
    )


def disqualified(
    user: Actor,
    facts: PullRequestFacts,
    authorship: Authorship,
    policy: ApprovalPolicy,
    agents: AgentPolicy,
    *,
    association: str | None = None,
) -> tuple[str, str] | None:
    """Why this reviewer's approval can never count, as (reason, short reason), or None.

    `association`: the review's author_association (None: unknown)."""
    if _same_account(user, facts.author):
        return "the PR author", "the PR author"
    kind = agent_kind(user, agents)
    if kind is not None:
        return kind, "a bot or agent"
    if user.is_bot:
        return "a bot account", "a bot or agent"
    op = authorship.operator_reason(user)
    if op is not None:
        return f"an operator of this PR: {op}", _short_role(op)
    if policy.require_association and (association or "").upper() not in TRUSTED_ASSOCIATIONS:
        shown = association or "unknown"
        return (
            f"not a collaborator, member or owner of the repository "
            f"(author_association {shown}; policy approvals.require_association)",
            "not a collaborator",
        )
    login = (user.login or "").casefold()
    if policy.require_write_permission:
        perm = facts.permissions.get(login)
        if perm is None:
            return "repository permission unknown (lookup failed)", "permission unknown"
        if perm not in WRITE_PERMISSIONS:
            return f"no write permission ({perm})", "no write permission"
    teams = policy.required_teams
    if teams and not any(login in facts.team_members.get(t, frozenset()) for t in teams):
        return "not an active member of " + ", ".join(teams), "not in a required team"
    return None


def _short_role(role: str) -> str:
    for verb in ("co-authored", "authored", "committed"):
        if role.startswith(verb + " commit"):
            return f"{verb} the commits"
    return role


def _same_account(a: Actor, b: Actor) -> bool:
    if a.id is not None and b.id is not None:
        return a.id == b.id
    return bool(a.login and b.login and a.login.casefold() == b.login.casefold())


def _staleness(
    review: ReviewFacts,
    head_sha: str,
    policy: ApprovalPolicy,
    current_digest: str | None,
    digest_at: Mapping[str, str] | None,
    head_only: str | None = None,
) -> str | None:
    commit = review.commit_id
    if commit == head_sha:
        return None
    shown = short_sha(commit) if commit else "an unknown commit"
    if policy.stale == "digest" and head_only:
        return (
            f"approved {shown}, not the head {short_sha(head_sha)}; stale: digest does not "
            f"apply: {head_only}"
        )
    if policy.stale == "digest" and commit and current_digest and digest_at:
        then = digest_at.get(commit)
        if then == current_digest:
            return None
        if then is None:
            return (
                f"approved {shown}, not the head {short_sha(head_sha)}; "
                "no plan digest is known for it"
            )
        return (
            f"approved {shown}, not the head {short_sha(head_sha)}; the gated changes differ since"
        )
    return f"approved {shown}, not the head {short_sha(head_sha)}"


def reviewers_to_look_up(facts: PullRequestFacts, agents: AgentPolicy) -> tuple[str, ...]:
    """Logins whose permission / team membership the policy needs: each human reviewer
    whose latest decisive review is an approval or a change request. Sorted, distinct."""
    out: set[str] = set()
    for r in latest_decisive(facts.reviews).values():
        if r.user is None or not r.user.login or r.state.upper() == DISMISSED:
            continue
        if r.user.is_bot or agent_kind(r.user, agents) is not None:
            continue
        out.add(r.user.login)
    return tuple(sorted(out, key=str.casefold))
