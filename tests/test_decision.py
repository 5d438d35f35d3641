from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.classify import Analysis, analyze
from gatekeeper.decision import (
    ALLOW,
    BLOCK,
    Decision,
    decide_gate,
    decide_pending,
    explain_gate,
)
from gatekeeper.plan.parse import parse_plan
from gatekeeper.policy.load import parse_policy
from gatekeeper.policy.model import Policy
from gatekeeper.pr.approvals import evaluate
from gatekeeper.pr.authorship import assess
from gatekeeper.pr.facts import ChangedFile, PullRequestFacts
from gatekeeper.pr.trust_root import trust_root_changes
from tests.support.builders import ALICE, BOB, CAROL, COPILOT, OLD, OPERATOR, commit, facts, review

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "terraform"
POLICY = parse_policy(b"production:\n  tag_attributes: [triggers]\n", source="t")


def analysis(scenario: str, policy: Policy = POLICY) -> Analysis:
    data = (FIXTURES / scenario / "plan.json").read_bytes()
    return analyze([parse_plan(data, label="prod", path=f"{scenario}/plan.json")], policy)


GATED = analysis("replace_prod_db")
EMPTY = analysis("no_changes")


@dataclass(frozen=True)
class FakeOverrides:
    satisfied: bool = True
    available: bool = True
    unavailable_reason: str | None = None
    required: int = 1
    principals: tuple[str, ...] = ("alice@acme.example",)


def gate(f: PullRequestFacts, a: Analysis = GATED, policy: Policy = POLICY, **kw: Any) -> Decision:
    auth = assess(f, policy.agents)
    appr = evaluate(f, auth, policy.approvals, policy.agents, plan_labels=["prod"])
    tr = trust_root_changes(f.files, policy)
    return decide_gate(a, policy, auth, appr, tr, **kw)


def agent_pr(**kw: Any) -> PullRequestFacts:
    msg = "fix\n\nCo-authored-by: Bob <2+bob@users.noreply.github.com>"
    return facts(author=COPILOT, commits=[commit(1, COPILOT, message=msg)], **kw)


def test_headline_names_who_counted_and_who_was_excluded() -> None:
    d = gate(agent_pr(reviews=[review(ALICE), review(BOB)]))
    assert d.outcome == BLOCK and d.exit_code == 1
    assert d.headline == (
        "blocked: 1 more approval needed from distinct humans for 1 destructive production "
        "change (@alice counted; @bob excluded, co-authored the commits)"
    )
    assert (d.gated_count, d.approvals_required, d.approvals_counted) == (1, 2, 1)
    # how many and why is the PR view's (approvals_why): shown only while blocked
    assert d.details == ()


def test_full_explanation() -> None:
    f = agent_pr(reviews=[review(ALICE), review(BOB), review(CAROL, commit_id=OLD)])
    auth = assess(f, POLICY.agents)
    appr = evaluate(f, auth, POLICY.approvals, POLICY.agents, plan_labels=["prod"])
    lines = explain_gate(GATED, auth, appr, ())
    assert lines[0] == (
        "gated change: replace (destroy-then-create) module.prod_db.null_resource.primary "
        "(plan prod)"
    )
    assert "agent evidence: PR author: @Copilot is a known agent account" in lines
    assert "approval counted: @alice (on hhhhhhh)" in lines
    assert any(x.startswith("approval not counted: @bob: an operator") for x in lines)
    assert any(x.startswith("stale approval: @carol: approved 0000000") for x in lines)
    assert any(x.startswith("operator (never a second person): @bob: co-authored") for x in lines)


def test_enough_distinct_humans_allow() -> None:
    d = gate(agent_pr(reviews=[review(ALICE), review(CAROL)]))
    assert d.outcome == ALLOW and d.exit_code == 0
    assert d.headline == (
        "allowed: 1 destructive production change approved by 2 distinct humans (@alice, @carol)"
    )


def test_nothing_gated_allows_without_approvals() -> None:
    d = gate(agent_pr(), EMPTY)
    assert d.outcome == ALLOW and d.headline == "allowed: no destructive changes"
    assert d.gated_count == 0


def test_stale_approval_in_headline() -> None:
    d = gate(facts(reviews=[review(ALICE, commit_id=OLD)]))
    assert d.headline == (
        "blocked: 1 more approval needed from distinct humans for 1 destructive production "
        f"change (@alice approved an older commit ({OLD[:7]}))"
    )


def test_agent_changing_workflows_is_gated_even_with_an_empty_plan() -> None:
    f = agent_pr(files=[".github/workflows/deploy.yml", "main.tf"])
    d = gate(f, EMPTY)
    assert d.outcome == BLOCK
    assert d.headline == (
        "blocked: 2 more approvals needed from distinct humans for 1 trust-root file changed "
        "by an agent"
    )
    assert d.gated_count == 1
    # and no signed override can waive it
    assert gate(f, EMPTY, overrides=FakeOverrides()).outcome == BLOCK
    # two distinct humans can
    f2 = agent_pr(files=[".github/workflows/deploy.yml"], reviews=[review(ALICE), review(CAROL)])
    assert gate(f2, EMPTY).outcome == ALLOW


def test_human_changing_workflows_is_not_gated() -> None:
    d = gate(facts(author=OPERATOR, files=[".github/workflows/deploy.yml"]), EMPTY)
    assert d.outcome == ALLOW
    assert any("not gated (human-authored PR)" in x for x in d.details)


def test_signed_override_allows_when_approvals_are_missing() -> None:
    d = gate(agent_pr(), overrides=FakeOverrides())
    assert d.outcome == ALLOW
    assert d.headline == (
        "allowed: a signed override by alice@acme.example covers 1 destructive production change"
    )
    d = gate(agent_pr(), overrides=FakeOverrides(satisfied=False, principals=()))
    assert d.outcome == BLOCK


def test_blockers_fail_closed_even_with_approvals() -> None:
    f = agent_pr(reviews=[review(ALICE), review(CAROL)])
    d = gate(f, blockers=["the PR has 300 commits; GitHub lists only 250"])
    assert d.outcome == BLOCK
    assert d.headline.startswith("blocked: the PR has 300 commits")
    # but with nothing gated, there is nothing to block
    assert gate(f, EMPTY, blockers=["x"]).outcome == ALLOW


def test_always_gated_applies_to_human_prs() -> None:
    d = gate(facts(), EMPTY, always_gated=["the plan workflow changed"])
    assert d.outcome == BLOCK and "1 gated condition" in d.headline


def test_changes_requested_blocks_with_policy() -> None:
    policy = parse_policy(
        b"production:\n  tag_attributes: [triggers]\n"
        b"approvals:\n  changes_requested_blocks: true\n",
        source="t",
    )
    f = facts(reviews=[review(ALICE), review(CAROL, "CHANGES_REQUESTED")])
    d = gate(f, policy=policy)
    assert d.outcome == BLOCK
    assert d.headline == "blocked: @carol requested changes (1 destructive production change)"
    assert gate(f).outcome == ALLOW  # default policy: a change request does not block


def test_advisory_mode_reports_but_exits_zero() -> None:
    policy = parse_policy(
        b"mode: advisory\nproduction:\n  tag_attributes: [triggers]\n", source="t"
    )
    d = gate(agent_pr(), policy=policy)
    assert d.outcome == BLOCK and d.exit_code == 0
    assert d.headline.endswith("[advisory mode: not enforced]")


def test_pending() -> None:
    d = decide_pending("a" * 40, "")
    assert d.headline == f"blocked: plan pending for {'a' * 40}" and d.exit_code == 1


@pytest.mark.parametrize("n", [4, 6])
def test_long_lists_are_shortened_in_the_headline(n: int) -> None:
    from gatekeeper.pr.facts import Actor

    ops = [Actor(500 + i, f"op{i}", "User") for i in range(n)]
    f = facts(
        author=COPILOT,
        commits=[commit(i, o) for i, o in enumerate(ops)],
        reviews=[review(o) for o in ops],
        files=[ChangedFile("main.tf")],
    )
    d = gate(f)
    assert "more not counted" in d.headline
    assert len(d.headline) < 300


def test_no_override_counts_when_any_pr_changes_the_trust_root() -> None:
    """One rule, `overrides_can_count`, for the gate and the decision: a PR touching the
    trust root cannot be overridden, whoever wrote it (the override module agrees)."""
    from gatekeeper.decision import overrides_can_count

    human = facts(author=OPERATOR, files=["CODEOWNERS", "main.tf"])
    tr = trust_root_changes(human.files, POLICY)
    assert tr and not overrides_can_count(tr)
    assert not overrides_can_count((), ["the plan job is not trusted"])
    assert overrides_can_count(())
    d = gate(human, overrides=FakeOverrides())
    assert d.outcome == BLOCK
    # without the trust-root change the same override allows
    assert gate(facts(author=OPERATOR), overrides=FakeOverrides()).outcome == ALLOW
