"""The gate's pipeline for one pull request, pure: facts in, a typed result out.

`prepare()` says what the command must fetch once it holds the PR snapshot, the policy and
the plan analysis (pushers, reviewers' permissions, older commits' digests, the
allowed_signers file); `decide()` then runs the fixed order: authorship, trust root,
approvals, overrides, decision. `reported()` / `bare()` turn a result into what the
reporters read (the PR view and the typed report sections), and `one_check_per_head()`
folds the other PRs of the head commit and the rival checks on it into one conclusion.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from gatekeeper.bundle.plan_run import untrusted_plan_changes
from gatekeeper.classify import Analysis
from gatekeeper.decision import (
    Decision,
    decide_gate,
    decide_pending,
    explain_gate,
    overrides_can_count,
)
from gatekeeper.gate.headcheck import Tampering, strictest, tampered
from gatekeeper.gate.sections import (
    AnalysisSource,
    ApprovalsSection,
    AuthorshipSection,
    HeadPull,
    HeadSection,
    OverridesSection,
    PullRequestSection,
    Sections,
)
from gatekeeper.gate.signed_overrides import (
    OVERRIDE_MARKER,
    OverrideResult,
    evaluate_signed_overrides,
    override_lines,
)
from gatekeeper.plan.model import canonical_json
from gatekeeper.policy.model import Policy
from gatekeeper.pr import approvals as approvals_mod
from gatekeeper.pr.approvals import ApprovalResult
from gatekeeper.pr.authorship import Authorship, assess
from gatekeeper.pr.facts import FILES_LIST_CAP, PullRequestFacts
from gatekeeper.pr.trust_root import TrustRootChange, trust_root_changes
from gatekeeper.render.pr_view import Person, PrView

EMPTY_DIGEST = hashlib.sha256(canonical_json([])).hexdigest()
MAX_DIGEST_LOOKUPS = 5  # older reviewed commits whose plan digest `stale: digest` looks up


def empty_analysis() -> Analysis:
    """The analysis of no plan (a result decided before any plan was read)."""
    return Analysis(plans=(), changes=(), plan_digest=EMPTY_DIGEST)


# ------------------------------------------------------------------ the steps' rules


def always_gated(facts: PullRequestFacts, *, split: bool) -> tuple[str, ...]:
    """Gated conditions whoever wrote the PR. Split setup: the plan artifact comes from
    a job that runs the PR's workflows; a PR that changes them (or whose changed files
    GitHub does not all list) makes that job, and its artifact, untrusted."""
    if not split:
        return ()
    always: list[str] = []
    changed = untrusted_plan_changes(p for f in facts.files for p in (f.path, f.previous_path) if p)
    if changed:
        always.append(
            f"this PR changes {', '.join(changed[:3])}: the plan job that produced "
            "the plan artifact is not trusted"
        )
    if facts.files_truncated:
        always.append(
            f"the PR changes {facts.changed_files_count} files and GitHub lists only "
            f"{len(facts.files)} (at most {FILES_LIST_CAP}): the unseen ones may change "
            "the plan job, so the plan artifact is not trusted"
        )
    return tuple(always)


def head_only_reason(trust: Sequence[TrustRootChange], always: Sequence[str]) -> str | None:
    """Why `stale: digest` must not carry approvals over pushes for this PR, or None. The
    digest binds the plan's gated changes; a PR that changes the trust root (the rules that
    judge it) or makes the plan job untrusted changes what the digest means."""
    if trust:
        paths = ", ".join(t.path for t in trust[:3])
        return f"this PR changes the trust root ({paths})"
    if always:
        return always[0]
    return None


def blockers(facts: PullRequestFacts) -> tuple[str, ...]:
    """Fail-closed reasons no approval can fix: who pushed, or which commits, is unknown."""
    out: list[str] = []
    if facts.pushers_unknown:
        out.append(
            f"the accounts that pushed to {facts.head_ref} cannot be read "
            f"({facts.pushers_unknown}): any of them may be the operator"
        )
    if facts.commits_truncated:
        out.append(
            f"the PR has {facts.commits_count} commits and GitHub lists only "
            f"{len(facts.commits)}: the authors of the rest cannot be checked "
            "(split it into smaller PRs)"
        )
    return tuple(out)


def _overrides_considered(facts: PullRequestFacts, policy: Policy, analysis: Analysis) -> bool:
    if not analysis.gated or not policy.overrides.enabled:
        return False
    return any(OVERRIDE_MARKER in (c.body or "") for c in facts.comments)


# ------------------------------------------------------------------ prepare / decide


@dataclass(frozen=True, slots=True)
class Needs:
    """What the command fetches between the snapshot and decide(), in this order."""

    pushers: bool = False  # who pushed to the head branch (operators)
    reviewers: tuple[str, ...] | None = None  # logins whose permission / teams to look up
    digest_shas: tuple[str, ...] = ()  # older reviewed commits whose plan digest to read
    allowed_signers: bool = False  # the allowed_signers file of the trust root


def prepare(
    facts: PullRequestFacts, policy: Policy, analysis: Analysis | None, *, split: bool
) -> Needs:
    """What to fetch for this PR; `analysis` None: the plan is pending (nothing more)."""
    if analysis is None:
        return Needs()
    trust = trust_root_changes(facts.files, policy, truncated=facts.files_truncated)
    always = always_gated(facts, split=split)
    ap = policy.approvals
    reviewers = None
    if ap.require_write_permission or ap.required_teams:
        reviewers = approvals_mod.reviewers_to_look_up(facts, policy.agents)
    digests: tuple[str, ...] = ()
    if ap.stale == "digest" and split and not head_only_reason(trust, always):
        shas = {
            r.commit_id
            for r in approvals_mod.latest_decisive(facts.reviews).values()
            if r.state == "APPROVED" and r.commit_id and r.commit_id != facts.head_sha
        }
        digests = tuple(sorted(shas)[:MAX_DIGEST_LOOKUPS])
    return Needs(
        # Pushers only ever remove approvers (and add agent evidence): read them when
        # something could be gated.
        pushers=bool(analysis.gated or trust or always),
        reviewers=reviewers,
        digest_shas=digests,
        allowed_signers=_overrides_considered(facts, policy, analysis)
        and overrides_can_count(trust, always),
    )


@dataclass(frozen=True, slots=True)
class GateInputs:
    """The facts decide() reads, fetched as prepare() asked."""

    facts: PullRequestFacts  # with pushers, permissions and team members filled in
    policy: Policy  # the default branch's
    analysis: Analysis | None  # None: pending, see `pending`
    now: datetime
    split: bool = False  # split setup: the analysis came from the plan workflow's artifact
    pending: str | None = None  # why there is no verified analysis for the head
    digest_at: Mapping[str, str] = field(default_factory=dict)  # sha -> verified digest
    allowed_signers: str | None = None  # the file's text; None: absent or not read
    allowed_signers_unreadable: str | None = None  # why the file could not be read as text
    trust_root_sha: str | None = None  # the default branch's commit the policy was read at


@dataclass(frozen=True, slots=True)
class GateResult:
    decision: Decision
    analysis: Analysis
    authorship: Authorship
    trust_root_changes: tuple[TrustRootChange, ...]
    approvals: ApprovalResult | None = None  # None: plan pending
    overrides: OverrideResult | None = None  # None: no override considered
    overridable: bool = False  # whether a signed override could count at all
    explanation: tuple[str, ...] = ()  # the whole story, one fact per line


def decide(inputs: GateInputs) -> GateResult:
    """The gate's decision for one PR: authorship, trust root, approvals, overrides."""
    facts, policy, analysis = inputs.facts, inputs.policy, inputs.analysis
    trust = tuple(trust_root_changes(facts.files, policy, truncated=facts.files_truncated))
    authorship = assess(facts, policy.agents)
    if inputs.pending is not None or analysis is None:
        decision = decide_pending(facts.head_sha, inputs.pending or "", policy)
        return GateResult(
            decision, empty_analysis(), authorship, trust, explanation=decision.details
        )
    always = always_gated(facts, split=inputs.split)
    head_only = head_only_reason(trust, always)
    appr = approvals_mod.evaluate(
        facts,
        authorship,
        policy.approvals,
        policy.agents,
        plan_labels={c.change.plan for c in analysis.gated},
        current_digest=analysis.plan_digest,
        digest_at=dict(inputs.digest_at) if not head_only else {},
        head_only=head_only,
    )
    can_count = overrides_can_count(trust, always)
    overrides: OverrideResult | None = None
    if _overrides_considered(facts, policy, analysis):
        overrides = evaluate_signed_overrides(
            facts,
            policy,
            analysis,
            inputs.allowed_signers if can_count else None,
            trust_root_changed=not can_count,
            now=inputs.now,
            trust_root_sha=inputs.trust_root_sha,
            unreadable=inputs.allowed_signers_unreadable if can_count else None,
        )
    decision = decide_gate(
        analysis,
        policy,
        authorship,
        appr,
        trust,
        overrides=overrides,
        always_gated=always,
        blockers=blockers(facts),
    )
    return GateResult(
        decision,
        analysis,
        authorship,
        trust,
        appr,
        overrides,
        overridable=can_count,
        explanation=explain_gate(analysis, authorship, appr, trust, overrides),
    )


# ------------------------------------------------------------------ what is reported


@dataclass(frozen=True, slots=True)
class Result:
    """What the reporters read: the decision, the PR view and the report sections."""

    analysis: Analysis
    decision: Decision
    view: PrView
    sections: Sections = field(default_factory=Sections)
    explanation: tuple[str, ...] = ()  # the whole story, one fact per line (log, check text)
    tampering: tuple[Tampering, ...] = ()  # rival checks/statuses on the head, shown first


@dataclass(frozen=True, slots=True)
class Where:
    """The PR being reported and the run reporting it."""

    repository: str
    number: int
    event: str
    check_sha: str | None
    server_url: str = "https://github.com"
    run_url: str | None = None
    trust_root: Mapping[str, str] | None = None  # TrustRoot.record(), once read

    def section(
        self,
        facts: PullRequestFacts | None,
        policy: Policy | None,
        source: AnalysisSource | None = None,
    ) -> PullRequestSection:
        """The report's pull_request section."""
        return PullRequestSection(
            self.repository,
            self.number,
            self.event,
            self.check_sha,
            facts,
            policy.source if policy is not None else None,
            self.trust_root,
            source,
        )


def bare(
    decision: Decision,
    where: Where,
    facts: PullRequestFacts | None = None,
    policy: Policy | None = None,
) -> Result:
    """A result decided before (or without) the pipeline: no plan, no PR details."""
    view = PrView(
        repository=where.repository,
        pr_number=where.number,
        head_sha=(facts.head_sha if facts else where.check_sha) or "",
        server_url=where.server_url,
        full_report_url=where.run_url,
        run_url=where.run_url,
    )
    sections = Sections(pull_request=where.section(facts, policy))
    return Result(empty_analysis(), decision, view, sections, decision.details)


def reported(
    result: GateResult,
    where: Where,
    facts: PullRequestFacts,
    policy: Policy,
    source: AnalysisSource,
    sign_command: str | None = None,
) -> Result:
    """The pipeline's result as the reporters read it."""
    authorship, appr, trust = result.authorship, result.approvals, result.trust_root_changes
    view = PrView(
        repository=where.repository,
        pr_number=where.number,
        head_sha=facts.head_sha,
        server_url=where.server_url,
        agent_authored=authorship.agent_authored,
        agent_evidence=tuple(e.line() for e in authorship.evidence),
        approvals_required=appr.required.count if appr else 0,
        approvals_why=appr.required.why if appr else "",
        approvals_counted=tuple(Person(a.login) for a in appr.counted) if appr else (),
        approvals_excluded=tuple(Person(x.login, x.reason) for x in appr.excluded) if appr else (),
        approvals_stale=tuple(Person(x.login, x.reason) for x in appr.stale) if appr else (),
        overrides=override_lines(result.overrides),
        trust_root_changes=tuple(t.line() for t in trust) if authorship.agent_authored else (),
        sign_command=sign_command,
        full_report_url=where.run_url,
        run_url=where.run_url,
    )
    sections = Sections(
        pull_request=where.section(facts, policy, source),
        authorship=AuthorshipSection(authorship, trust),
        approvals=ApprovalsSection(appr),
        overrides=OverridesSection(result.overrides),
    )
    return Result(result.analysis, result.decision, view, sections, result.explanation)


# ------------------------------------------------------------------ one check per head


def one_check_per_head(
    result: Result,
    pulls: Sequence[HeadPull],
    *,
    number: int,
    head_sha: str,
    findings: Sequence[Tampering],
    check_name: str,
) -> Result:
    """The check belongs to the head commit, not to one PR: its conclusion is the strictest
    over `pulls` (this PR, `number`, and every other open PR with this head; those into a
    protected branch carry their decision), and a rival check or status (`findings`)
    blocks it (tampering)."""
    ranked = [(p.number, p.base_ref, p.decision) for p in pulls if p.decision is not None]
    decided_by, base, worst = strictest(ranked)
    decision = result.decision
    story: tuple[str, ...] = ()
    if decided_by != number:
        story = (
            f"the check on {head_sha[:12]} is the strictest over the open PRs with this head "
            "into protected branches",
            *(
                f"PR #{p.number} into {p.base_ref}: {p.decision.headline}"
                for p in pulls
                if p.decision is not None
            ),
        )
        decision = replace(
            worst,
            headline=f"{worst.headline} (PR #{decided_by} into {base}, same head commit)",
            details=(*story, *worst.details),
        )
    decision = tampered(decision, findings, check_name)
    head = HeadSection(head_sha, tuple(pulls), decided_by, tuple(findings))
    explanation = tuple(f"tampering: {t.line()}" for t in findings) + story + result.explanation
    view = result.view
    if findings:
        from gatekeeper.render.tampering import render_tampering

        # The renderer's notices come first and are never cut by its size budget.
        view = replace(view, notices=(render_tampering(findings), *view.notices))
    return replace(
        result,
        decision=decision,
        sections=replace(result.sections, head=head),
        explanation=explanation,
        tampering=tuple(findings),
        view=view,
    )
