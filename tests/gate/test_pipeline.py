"""gatekeeper.gate.pipeline: each step's decision from facts already fetched (pure: builders
for the PR facts and real Terraform plans, no server)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from gatekeeper.decision import ALLOW, BLOCK, ERROR, Decision, Outcome
from gatekeeper.gate.headcheck import RivalKind, Tampering
from gatekeeper.gate.pipeline import (
    MAX_DIGEST_LOOKUPS,
    GateInputs,
    GateResult,
    Needs,
    Where,
    always_gated,
    bare,
    decide,
    head_only_reason,
    one_check_per_head,
    prepare,
    reported,
)
from gatekeeper.gate.sections import HeadPull, PlanFilesSource
from gatekeeper.gate.signed_overrides import OverridesUnavailable, override_lines
from gatekeeper.policy.model import Policy
from gatekeeper.pr.authorship import EvidenceKind
from gatekeeper.pr.facts import Actor, PullRequestFacts
from tests.support.builders import (
    ALICE,
    BOB,
    CAROL,
    COPILOT,
    HEAD,
    OPERATOR,
    analysis,
    comment,
    commit,
    facts,
    policy,
    review,
    sha,
)

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
POLICY = policy()
GATED = analysis("replace_prod_db")
EMPTY = analysis("no_changes")
WHERE = Where("acme/infra", 7, "pull_request", HEAD)
OVERRIDE_BODY = "```gatekeeper-override\nnot a signed block\n```"


def agent_pr(**kw: Any) -> PullRequestFacts:
    """Copilot's PR; the operator co-authored its commit."""
    msg = "fix\n\nCo-authored-by: Op Erator <op@acme.example>"
    kw.setdefault("commits", [commit(1, COPILOT, message=msg)])
    return facts(author=COPILOT, **kw)


def run(f: PullRequestFacts, pol: Policy = POLICY, **kw: Any) -> GateResult:
    kw.setdefault("analysis", GATED)
    return decide(GateInputs(f, pol, now=NOW, **kw))


# ------------------------------------------------------------------------ prepare


def test_prepare_asks_nothing_while_the_plan_is_pending() -> None:
    assert prepare(agent_pr(), POLICY, None, split=True) == Needs()


def test_prepare_reads_pushers_only_when_something_could_be_gated() -> None:
    assert prepare(facts(), POLICY, GATED, split=False).pushers
    assert not prepare(facts(), POLICY, EMPTY, split=False).pushers
    # an empty plan, but the PR changes a workflow: a trust-root change may be gated
    workflow = facts(files=[".github/workflows/deploy.yml"])
    assert prepare(workflow, POLICY, EMPTY, split=False).pushers


def test_prepare_names_the_reviewers_to_look_up_only_when_the_policy_needs_them() -> None:
    f = facts(reviews=[review(BOB), review(ALICE), review(COPILOT)])
    assert prepare(f, POLICY, GATED, split=False).reviewers is None
    strict = policy("approvals:\n  require_write_permission: true\n")
    assert prepare(f, strict, GATED, split=False).reviewers == ("alice", "bob")


def test_prepare_asks_older_commits_digests_unless_only_the_head_counts() -> None:
    digest = policy("approvals:\n  stale: digest\n")
    older = [review(Actor(100 + n, f"r{n}", "User"), commit_id=sha(n)) for n in range(7)]
    f = facts(reviews=[*older, review(ALICE)])
    needs = prepare(f, digest, GATED, split=True)
    assert len(needs.digest_shas) == MAX_DIGEST_LOOKUPS
    assert HEAD not in needs.digest_shas and set(needs.digest_shas) <= {sha(n) for n in range(7)}
    assert prepare(f, digest, GATED, split=False).digest_shas == ()  # plan files: no bundles
    assert prepare(f, POLICY, GATED, split=True).digest_shas == ()  # stale: head
    # a PR that changes the trust root: only approvals of its head count
    rules = facts(reviews=older, files=[".github/gatekeeper.yml"])
    assert prepare(rules, digest, GATED, split=True).digest_shas == ()


def test_prepare_reads_allowed_signers_only_for_an_override_that_could_count() -> None:
    with_comment = facts(comments=[comment(1, ALICE, OVERRIDE_BODY)])
    assert prepare(with_comment, POLICY, GATED, split=False).allowed_signers
    assert not prepare(facts(), POLICY, GATED, split=False).allowed_signers  # no comment
    assert not prepare(with_comment, POLICY, EMPTY, split=False).allowed_signers  # not gated
    off = policy("overrides:\n  enabled: false\n")
    assert not prepare(with_comment, off, GATED, split=False).allowed_signers
    rules = facts(comments=[comment(1, ALICE, OVERRIDE_BODY)], files=[".github/gatekeeper.yml"])
    assert not prepare(rules, POLICY, GATED, split=False).allowed_signers


# ------------------------------------------------------------------------ authorship


def test_the_agents_pr_is_agent_authored_with_its_evidence_and_needs_two_humans() -> None:
    r = run(agent_pr(reviews=[review(ALICE)]))
    assert r.authorship.agent_authored
    kinds = {e.kind for e in r.authorship.evidence}
    assert EvidenceKind.PR_AUTHOR in kinds and EvidenceKind.COMMIT_AUTHOR in kinds
    assert r.decision.outcome is Outcome.BLOCK
    assert r.approvals is not None and r.approvals.required.count == 2
    assert "agent-authored: yes" in r.explanation


def test_a_human_pr_needs_one_approval() -> None:
    r = run(facts(reviews=[review(ALICE)]))
    assert not r.authorship.agent_authored
    assert r.decision.outcome == ALLOW and r.decision.exit_code == 0
    assert "agent-authored: no evidence found" in r.explanation


# ------------------------------------------------------------------------ approvals


def test_approvals_count_distinct_humans_never_the_operator_or_a_bot() -> None:
    same_twice = [review(ALICE, at="2026-01-01T09:00:00Z"), review(ALICE)]
    r = run(agent_pr(reviews=[*same_twice, review(OPERATOR), review(COPILOT)]))
    assert r.approvals is not None
    assert [a.login for a in r.approvals.counted] == ["alice"]
    assert {x.login for x in r.approvals.excluded} >= {"op"}
    assert r.decision.outcome == BLOCK and r.decision.approvals_counted == 1
    two = run(agent_pr(reviews=[review(ALICE), review(BOB), review(OPERATOR)]))
    assert two.decision.outcome == ALLOW
    assert two.decision.headline.endswith("approved by 2 distinct humans (@alice, @bob)")


def test_unknown_pushers_block_whatever_the_approvals() -> None:
    f = facts(reviews=[review(ALICE), review(BOB)], pushers_unknown="403 forbidden")
    r = run(f)
    assert r.decision.outcome == BLOCK
    assert "cannot be read (403 forbidden)" in r.decision.headline


# ------------------------------------------------------------------------ trust root


def test_an_agent_pr_changing_the_trust_root_is_gated_even_with_an_empty_plan() -> None:
    f = agent_pr(files=[".github/workflows/deploy.yml"], reviews=[review(ALICE)])
    r = run(f, analysis=EMPTY)
    assert [t.path for t in r.trust_root_changes] == [".github/workflows/deploy.yml"]
    assert r.decision.outcome == BLOCK and r.decision.gated_count == 1
    assert not r.overridable  # no signed override may vouch for the rules' own change
    assert head_only_reason(r.trust_root_changes, ()) == (
        "this PR changes the trust root (.github/workflows/deploy.yml)"
    )


def test_a_human_pr_changing_the_trust_root_is_not_gated_by_it() -> None:
    r = run(facts(files=[".github/workflows/deploy.yml"]), analysis=EMPTY)
    assert r.trust_root_changes and r.decision.outcome == ALLOW


def test_a_trust_root_change_whose_authors_are_unknown_is_gated_and_blocked() -> None:
    # Who pushed cannot be read: the PR may be an agent's, so its change of the rules counts
    # as gated and the unknown blocks (never "nothing gated: allowed").
    f = facts(files=[".github/workflows/deploy.yml"], pushers_unknown="403 forbidden")
    r = run(replace(f, reviews=(review(ALICE), review(BOB))), analysis=EMPTY)
    assert r.decision.outcome == BLOCK and r.decision.gated_count == 1
    assert "cannot be read (403 forbidden)" in r.decision.headline


def test_prepare_reads_pushers_when_only_the_plan_job_is_distrusted() -> None:
    # A policy whose gate_paths leave out workflows: the PR's workflow change is gated only
    # by the split setup's distrust, and its pushers are operators all the same.
    pol = policy("gate_paths: ['.github/gatekeeper.yml']\n")
    f = facts(files=[".github/workflows/plan.yml"])
    assert prepare(f, pol, EMPTY, split=True).pushers


def test_split_setup_distrusts_the_plan_job_when_the_pr_changes_a_workflow() -> None:
    f = facts(files=[".github/workflows/plan.yml"])
    assert always_gated(f, split=False) == ()
    (why,) = always_gated(f, split=True)
    assert "plan job that produced the plan artifact is not trusted" in why
    # gated whoever wrote it, even with an empty plan; never overridable
    r = run(f, analysis=EMPTY, split=True)
    assert r.decision.outcome == BLOCK and r.decision.gated_count == 1
    assert not r.overridable and f"gated: {why}" in r.decision.details
    assert run(f, analysis=EMPTY).decision.outcome == ALLOW  # plan files: nothing gated
    approved = run(replace(f, reviews=(review(ALICE),)), analysis=EMPTY, split=True)
    assert approved.decision.outcome == ALLOW  # a human PR: one distinct human suffices


# ------------------------------------------------------------------------ overrides


def test_an_invalid_allowed_signers_file_makes_overrides_unavailable_and_blocks() -> None:
    f = agent_pr(comments=[comment(1, ALICE, OVERRIDE_BODY)])
    bad = "alice@acme.example ssh-ed25519 AAAA!!notbase64\n"
    r = run(f, allowed_signers=bad, trust_root_sha="c" * 40)
    assert isinstance(r.overrides, OverridesUnavailable)
    assert not r.overrides.satisfied and r.overrides.required == 1
    assert "allowed_signers file is invalid" in (r.overrides.unavailable_reason or "")
    assert f".github/gatekeeper/allowed_signers@{'c' * 12}" in r.overrides.unavailable_reason
    assert r.decision.outcome == BLOCK
    assert override_lines(r.overrides)[0].startswith("unavailable: the allowed_signers file")
    doc = reported(r, WHERE, f, POLICY, PlanFilesSource(HEAD)).sections.to_dict()["overrides"]
    assert doc["considered"] and not doc["available"] and doc["blocks"] == []


def test_no_override_comment_means_no_override_considered() -> None:
    r = run(agent_pr())
    assert r.overrides is None
    doc = reported(r, WHERE, agent_pr(), POLICY, PlanFilesSource(HEAD)).sections.to_dict()
    assert doc["overrides"] == {"considered": False}


def test_an_unsigned_override_block_is_rejected_and_counts_nothing() -> None:
    f = agent_pr(comments=[comment(1, ALICE, OVERRIDE_BODY)])
    r = run(f, allowed_signers="")
    assert r.overrides is not None and not isinstance(r.overrides, OverridesUnavailable)
    assert r.overrides.principals == () and r.decision.outcome == BLOCK


# ------------------------------------------------------------------------ pending, reports


def test_a_pending_plan_blocks_and_reports_no_approvals() -> None:
    r = run(agent_pr(), analysis=None, pending="no plan run yet")
    assert r.decision.outcome == BLOCK and r.approvals is None
    assert r.decision.headline == f"blocked: plan pending for {HEAD}: no plan run yet"
    doc = reported(r, WHERE, agent_pr(), POLICY, PlanFilesSource(None)).sections.to_dict()
    assert list(doc) == ["pull_request", "authorship", "approvals", "overrides"]
    assert doc["approvals"] == {} and doc["pull_request"]["analysis_source"] == {
        "kind": "plan files",
        "made_for": None,
    }


def test_a_bare_result_reports_only_the_pull_request() -> None:
    r = bare(Decision(BLOCK, "blocked: down", ("down",)), WHERE)
    assert r.sections.to_dict() == {
        "pull_request": {
            "repository": "acme/infra",
            "number": 7,
            "event": "pull_request",
            "check_sha": HEAD,
        }
    }
    assert r.view.head_sha == HEAD and r.explanation == ("down",)


# ------------------------------------------------------------------------ one check per head


def _mine(outcome: Outcome = ALLOW) -> Any:
    return bare(Decision(outcome, f"{outcome}ed: mine"), WHERE)


def test_the_head_check_is_the_strictest_over_the_prs_into_protected_branches() -> None:
    mine = _mine()
    sibling = Decision(BLOCK, "blocked: 1 more approval needed")
    pulls = [
        HeadPull(7, "main", True, mine.decision),
        HeadPull(8, "release", True, sibling),
        HeadPull(9, "scratch", False, None),
    ]
    out = one_check_per_head(mine, pulls, number=7, head_sha=HEAD, findings=(), check_name="g")
    assert out.decision.outcome == BLOCK
    assert out.decision.headline == (
        "blocked: 1 more approval needed (PR #8 into release, same head commit)"
    )
    head = out.sections.to_dict()["head"]
    assert head["decided_by"] == 8
    assert head["pull_requests"][2] == {"number": 9, "base_ref": "scratch", "protected": False}
    assert head["pull_requests"][1]["decision"] == "block"
    assert out.explanation[0].startswith(f"the check on {HEAD[:12]} is the strictest")


def test_an_error_outranks_a_block_and_this_pr_decides_when_it_is_strictest() -> None:
    mine = _mine(ERROR)
    pulls = [HeadPull(7, "main", True, mine.decision), HeadPull(8, "x", True, Decision(BLOCK, "b"))]
    out = one_check_per_head(mine, pulls, number=7, head_sha=HEAD, findings=(), check_name="g")
    assert out.decision == mine.decision
    assert out.sections.head is not None and out.sections.head.decided_by == 7


def test_a_rival_check_on_the_head_blocks_and_is_shown_first() -> None:
    mine = _mine()
    rival = Tampering(RivalKind.CHECK_RUN, 5, "app 9 (rival)", "success", "not the gate's app")
    out = one_check_per_head(
        mine,
        [HeadPull(7, "main", True, mine.decision)],
        number=7,
        head_sha=HEAD,
        findings=(rival,),
        check_name="gatekeeper",
    )
    assert out.decision.outcome == BLOCK and "tampering" in out.decision.headline
    assert out.explanation[0] == "tampering: check run 5 (success) by app 9 (rival): " + (
        "not the gate's app"
    )
    assert out.view.notices and "Tampering" in out.view.notices[0]
    assert out.sections.to_dict()["head"]["tampering"][0]["kind"] == "check run"


def test_reported_fills_the_pr_view_from_the_steps() -> None:
    f = agent_pr(reviews=[review(ALICE), review(OPERATOR), review(CAROL, commit_id=sha(3))])
    r = run(f)
    out = reported(r, WHERE, f, POLICY, PlanFilesSource(HEAD), sign_command="gatekeeper sign")
    assert out.view.agent_authored and out.view.approvals_required == 2
    assert [p.login for p in out.view.approvals_counted] == ["alice"]
    assert "op" in [p.login for p in out.view.approvals_excluded]
    assert [p.login for p in out.view.approvals_stale] == ["carol"]
    assert out.view.sign_command == "gatekeeper sign"
    assert out.explanation == r.explanation and out.decision == r.decision
