from __future__ import annotations

from typing import Any

import pytest

from gatekeeper.policy.load import parse_policy
from gatekeeper.policy.model import AgentPolicy, ApprovalPolicy, ApprovalRule
from gatekeeper.pr.approvals import (
    ApprovalResult,
    evaluate,
    latest_decisive,
    required_approvals,
    reviewers_to_look_up,
)
from gatekeeper.pr.authorship import assess
from gatekeeper.pr.facts import Actor, PullRequestFacts
from tests.support.builders import (
    ACTIONS_BOT,
    ALICE,
    BOB,
    CAROL,
    COPILOT,
    DAVE,
    HEAD,
    OLD,
    OPERATOR,
    commit,
    facts,
    review,
    sha,
)

AGENTS = AgentPolicy()


def agent_pr(**kw: Any) -> PullRequestFacts:
    """Copilot's PR, driven by the operator (who co-authored the commits)."""
    msg = "fix\n\nCo-authored-by: Op Erator <op@acme.example>"
    kw.setdefault("commits", [commit(1, COPILOT, message=msg)])
    return facts(author=COPILOT, **kw)


def run(f: PullRequestFacts, policy: ApprovalPolicy | None = None, **kw: Any) -> ApprovalResult:
    return evaluate(f, assess(f, AGENTS), policy or ApprovalPolicy(), AGENTS, **kw)


def logins(xs: Any) -> list[str]:
    return [x.login for x in xs]


# ------------------------------------------------------------------ the approval table


def test_operator_approving_the_agents_pr_does_not_count() -> None:
    r = run(agent_pr(reviews=[review(OPERATOR), review(ALICE)]))
    assert logins(r.counted) == ["alice"]
    (ex,) = r.excluded
    assert ex.login == "op"
    assert ex.short == "co-authored the commits"
    assert "Co-authored-by" in ex.reason
    assert r.required.count == 2 and r.missing == 1 and not r.satisfied


def test_one_human_approving_twice_counts_once() -> None:
    r = run(
        agent_pr(
            reviews=[
                review(ALICE, at="2026-01-01T10:00:00Z"),
                review(ALICE, at="2026-01-01T11:00:00Z"),
            ]
        )
    )
    assert logins(r.counted) == ["alice"]
    assert r.missing == 1


def test_counted_by_id_not_login_text() -> None:
    # a renamed account (same id) is one person; the latest review carries the new login
    renamed = Actor(ALICE.id, "alice-new", "User")
    r = run(
        agent_pr(
            reviews=[review(ALICE, at="2026-01-01T10:00Z"), review(renamed, at="2026-01-01T11:00Z")]
        )
    )
    assert logins(r.counted) == ["alice-new"]


def test_approve_then_request_changes_does_not_count() -> None:
    r = run(
        facts(
            reviews=[
                review(ALICE, "APPROVED", at="2026-01-01T10:00:00Z"),
                review(ALICE, "CHANGES_REQUESTED", at="2026-01-01T11:00:00Z"),
            ]
        )
    )
    assert r.counted == ()
    assert logins(r.changes_requested) == ["alice"]
    assert r.missing == 1


def test_request_changes_then_approve_counts() -> None:
    r = run(
        facts(
            reviews=[
                review(ALICE, "CHANGES_REQUESTED", at="2026-01-01T10:00:00Z"),
                review(ALICE, "APPROVED", at="2026-01-01T11:00:00Z"),
            ]
        )
    )
    assert logins(r.counted) == ["alice"] and r.changes_requested == ()
    assert r.satisfied


def test_later_comment_does_not_cancel_an_approval() -> None:
    r = run(
        facts(
            reviews=[
                review(ALICE, "APPROVED", at="2026-01-01T10:00:00Z"),
                review(ALICE, "COMMENTED", at="2026-01-01T11:00:00Z"),
                review(ALICE, "PENDING", at=None),  # type: ignore[arg-type]
            ]
        )
    )
    assert logins(r.counted) == ["alice"]


def test_dismissed_approval_does_not_count() -> None:
    r = run(facts(reviews=[review(ALICE, "DISMISSED")]))
    assert r.counted == ()
    assert [(x.login, x.short) for x in r.excluded] == [("alice", "approval dismissed")]


def test_dismissing_an_older_approval_keeps_a_newer_one() -> None:
    r = run(
        facts(
            reviews=[
                review(ALICE, "DISMISSED", commit_id=OLD, at="2026-01-01T10:00:00Z"),
                review(ALICE, "APPROVED", at="2026-01-01T11:00:00Z"),
            ]
        )
    )
    assert logins(r.counted) == ["alice"]


def test_approval_before_a_push_is_stale_and_says_for_which_commit() -> None:
    r = run(facts(reviews=[review(ALICE, commit_id=OLD)]))
    assert r.counted == ()
    (st,) = r.stale
    assert st.commit_id == OLD
    assert st.reason == f"approved {OLD[:7]}, not the head {HEAD[:7]}"
    assert st.short == f"approved an older commit ({OLD[:7]})"


def test_a_bots_approval_never_counts() -> None:
    r = run(facts(reviews=[review(ACTIONS_BOT), review(COPILOT)]))
    assert r.counted == ()
    assert {x.login: x.short for x in r.excluded} == {
        "github-actions[bot]": "a bot or agent",
        "Copilot": "a bot or agent",
    }


def test_bot_never_counts_even_when_bots_are_not_agents() -> None:
    f = facts(reviews=[review(Actor(9, "helper[bot]", "Bot"))])
    agents = AgentPolicy(bots_are_agents=False)
    r = evaluate(f, assess(f, agents), ApprovalPolicy(), agents)
    assert r.counted == () and r.excluded[0].reason == "a bot account"


def test_pr_author_approval_never_counts() -> None:
    r = run(facts(author=ALICE, commits=[commit(1, ALICE)], reviews=[review(ALICE)]))
    assert r.counted == ()
    assert r.excluded[0].reason == "the PR author"


def test_commit_author_and_committer_are_excluded() -> None:
    f = facts(
        author=DAVE,
        commits=[commit(1, ALICE, BOB)],
        reviews=[review(ALICE), review(BOB), review(CAROL)],
    )
    r = run(f)
    assert logins(r.counted) == ["carol"]
    assert {x.login: x.short for x in r.excluded} == {
        "alice": "authored the commits",
        "bob": "committed the commits",
    }


def test_reviewer_without_write_permission() -> None:
    policy = ApprovalPolicy(require_write_permission=True)
    f = agent_pr(
        reviews=[review(ALICE), review(BOB), review(CAROL)],
        permissions={"alice": "write", "bob": "read"},  # carol: lookup failed
    )
    r = run(f, policy)
    assert logins(r.counted) == ["alice"]
    assert {x.login: x.reason for x in r.excluded} == {
        "bob": "no write permission (read)",
        "carol": "repository permission unknown (lookup failed)",
    }
    for perm in ("admin", "maintain", "write"):
        assert run(facts(reviews=[review(BOB)], permissions={"bob": perm}), policy).satisfied
    for perm in ("triage", "read", "none"):
        assert not run(facts(reviews=[review(BOB)], permissions={"bob": perm}), policy).satisfied


def test_required_teams() -> None:
    policy = ApprovalPolicy(required_teams=("acme/infra", "acme/sre"))
    f = facts(
        reviews=[review(ALICE), review(BOB)],
        team_members={"acme/sre": frozenset({"alice"}), "acme/infra": frozenset()},
    )
    r = run(f, policy)
    assert logins(r.counted) == ["alice"]
    assert r.excluded[0].reason == "not an active member of acme/infra, acme/sre"


def test_many_reviews_across_pages_one_person_one_vote() -> None:
    people = [Actor(100 + i, f"user{i}", "User") for i in range(40)]
    reviews = []
    for n in range(120):
        who = people[n % 40]
        state = "COMMENTED" if n % 3 else "APPROVED"
        reviews.append(review(who, state, at=f"2026-01-01T{n // 60:02d}:{n % 60:02d}:00Z"))
    r = run(facts(reviews=reviews))
    # approvals: n % 3 == 0 -> users 0,3,6,...,39 (n=0..117 step 3 covers every n%40 hit)
    expected = sorted({f"user{n % 40}" for n in range(0, 120, 3)})
    assert logins(r.counted) == expected
    assert len(r.counted) == len(set(logins(r.counted)))


def test_ghost_reviewer_is_ignored() -> None:
    r = run(facts(reviews=[review(None)]))
    assert r.counted == () and r.excluded == ()


# --------------------------------------------------------------------- requirements


def test_default_requirements() -> None:
    assert required_approvals(ApprovalPolicy(), agent_authored=True, plan_labels=()).count == 2
    assert required_approvals(ApprovalPolicy(), agent_authored=False, plan_labels=()).count == 1


def test_plan_label_rules_strictest_wins() -> None:
    policy = ApprovalPolicy(
        rules=(
            ApprovalRule(("prod-*",), agent_authored=3, human_authored=2),
            ApprovalRule(("prod-eu",), agent_authored=4),
            ApprovalRule(("sandbox",), agent_authored=1, human_authored=0),
        )
    )
    req = required_approvals(policy, agent_authored=True, plan_labels=["prod-eu", "staging"])
    assert req.count == 4 and "prod-eu" in req.why
    req = required_approvals(policy, agent_authored=False, plan_labels=["prod-eu"])
    assert req.count == 2  # the prod-eu rule has no human number: prod-* applies
    # a rule may lower the requirement for its plan, but another plan keeps the default
    assert required_approvals(policy, agent_authored=True, plan_labels=["sandbox"]).count == 1
    both = required_approvals(policy, agent_authored=True, plan_labels=["sandbox", "other"])
    assert both.count == 2
    human_sandbox = required_approvals(policy, agent_authored=False, plan_labels=["sandbox"])
    assert human_sandbox.count == 0


def test_rules_from_policy_file() -> None:
    policy = parse_policy(
        b"approvals:\n  agent_authored: 3\n  rules:\n    - plan_labels: [prod]\n"
        b"      agent_authored: 5\n",
        source="t",
    ).approvals
    r = run(agent_pr(reviews=[review(ALICE)]), policy, plan_labels=["prod"])
    assert r.required.count == 5 and r.missing == 4


# ------------------------------------------------------------- change requests, digest


@pytest.mark.parametrize("blocks", [True, False])
def test_changes_requested_blocks_only_when_policy_says(blocks: bool) -> None:
    policy = ApprovalPolicy(changes_requested_blocks=blocks)
    f = facts(reviews=[review(ALICE), review(BOB, "CHANGES_REQUESTED")])
    r = run(f, policy)
    assert logins(r.counted) == ["alice"]
    assert logins(r.changes_requested) == ["bob"]
    assert r.satisfied is (not blocks)


def test_unqualified_change_request_does_not_block() -> None:
    policy = ApprovalPolicy(changes_requested_blocks=True)
    f = facts(author=DAVE, reviews=[review(ALICE), review(DAVE, "CHANGES_REQUESTED")])
    assert run(f, policy).satisfied  # the PR author's own change request is not a block


def test_stale_digest_mode() -> None:
    policy = ApprovalPolicy(stale="digest")
    d = "d" * 64
    f = facts(reviews=[review(ALICE, commit_id=OLD), review(BOB, commit_id=sha(5))])
    r = run(f, policy, current_digest=d, digest_at={OLD: d, sha(5): "e" * 64})
    assert logins(r.counted) == ["alice"]
    assert "the gated changes differ since" in r.stale[0].reason
    # unknown digest for the reviewed commit: stale
    r = run(f, policy, current_digest=d, digest_at={})
    assert r.counted == ()
    # head mode ignores digests entirely
    r = run(f, ApprovalPolicy(), current_digest=d, digest_at={OLD: d})
    assert r.counted == ()


def test_latest_decisive_orders_by_time_then_id() -> None:
    a = review(ALICE, "APPROVED", at="2026-01-01T10:00:00Z", id=5)
    b = review(ALICE, "CHANGES_REQUESTED", at="2026-01-01T10:00:00Z", id=6)
    assert latest_decisive([b, a])[ALICE.id].state == "CHANGES_REQUESTED"  # type: ignore[index]


def test_reviewers_to_look_up() -> None:
    f = facts(
        reviews=[
            review(BOB),
            review(ALICE, "CHANGES_REQUESTED"),
            review(CAROL, "COMMENTED"),
            review(DAVE, "DISMISSED"),
            review(ACTIONS_BOT),
        ]
    )
    assert reviewers_to_look_up(f, AGENTS) == ("alice", "bob")


# ------------------------------------------------------------- author_association


@pytest.mark.parametrize("association", ["OWNER", "MEMBER", "COLLABORATOR", "collaborator"])
def test_owner_member_or_collaborator_counts(association: str) -> None:
    r = run(facts(reviews=[review(ALICE, association=association)]))
    assert logins(r.counted) == ["alice"]


@pytest.mark.parametrize(
    "association", ["NONE", "CONTRIBUTOR", "FIRST_TIME_CONTRIBUTOR", "FIRST_TIMER", "MANNEQUIN"]
)
def test_anyone_else_is_excluded_by_default(association: str) -> None:
    """On a public repository anyone can approve: a stranger's approval does not count."""
    r = run(facts(reviews=[review(ALICE), review(BOB, association=association)]))
    assert logins(r.counted) == ["alice"]
    (ex,) = r.excluded
    assert ex.login == "bob" and ex.short == "not a collaborator"
    assert f"author_association {association}" in ex.reason
    assert "approvals.require_association" in ex.reason


def test_unknown_association_is_excluded() -> None:
    (ex,) = run(facts(reviews=[review(BOB, association=None)])).excluded
    assert "author_association unknown" in ex.reason


def test_require_association_can_be_turned_off() -> None:
    policy = ApprovalPolicy(require_association=False)
    r = run(facts(reviews=[review(BOB, association="NONE")]), policy)
    assert logins(r.counted) == ["bob"]
    # the stricter permission check still applies on its own
    strict = ApprovalPolicy(require_association=False, require_write_permission=True)
    r = run(facts(reviews=[review(BOB, association="NONE")], permissions={"bob": "read"}), strict)
    assert r.counted == ()


def test_a_strangers_change_request_does_not_block() -> None:
    policy = ApprovalPolicy(changes_requested_blocks=True)
    f = facts(reviews=[review(ALICE), review(BOB, "CHANGES_REQUESTED", association="NONE")])
    assert run(f, policy).satisfied


def test_stale_digest_does_not_apply_when_only_the_head_may_count() -> None:
    """A push that changes the trust root (or makes the plan job untrusted) must not carry
    approvals over, even with the same gated-change digest."""
    policy = ApprovalPolicy(stale="digest")
    d = "d" * 64
    f = facts(reviews=[review(ALICE, commit_id=OLD), review(BOB)])
    assert logins(run(f, policy, current_digest=d, digest_at={OLD: d}).counted) == [
        "alice",
        "bob",
    ]
    why = "this PR changes the trust root (.github/gatekeeper.yml)"
    r = run(f, policy, current_digest=d, digest_at={OLD: d}, head_only=why)
    assert logins(r.counted) == ["bob"]
    (st,) = r.stale
    assert st.login == "alice"
    assert st.reason.endswith(f"stale: digest does not apply: {why}")
