from __future__ import annotations

from gatekeeper.policy.load import parse_policy
from gatekeeper.policy.model import AgentPolicy
from gatekeeper.pr.authorship import assess
from gatekeeper.pr.facts import Actor
from tests.support.builders import (
    ACTIONS_BOT,
    ALICE,
    BOB,
    COPILOT,
    OPERATOR,
    WEB_FLOW,
    commit,
    facts,
    sha,
)

AGENTS = AgentPolicy()


def kinds(f: object, policy: AgentPolicy = AGENTS) -> list[str]:
    return [e.kind for e in assess(f, policy).evidence]  # type: ignore[arg-type]


def test_human_pr_has_no_evidence_and_lists_operators() -> None:
    f = facts(author=OPERATOR, commits=[commit(1, OPERATOR, WEB_FLOW)])
    a = assess(f, AGENTS)
    assert not a.agent_authored
    assert a.evidence == ()
    # web-flow (GitHub's web committer) is neither an operator nor evidence
    assert [op.display for op in a.operators] == ["@op"]
    assert a.operators[0].roles == ("opened the PR", f"authored commit {sha(1)[:7]}")


def test_agent_pr_author_is_authenticated_evidence() -> None:
    a = assess(facts(author=COPILOT, commits=[commit(1, COPILOT)]), AGENTS)
    assert a.agent_authored
    first = a.evidence[0]
    assert (first.kind, first.source, first.self_reported) == ("pr_author", "PR author", False)
    assert "known agent account" in first.text
    assert [e.kind for e in a.evidence] == ["pr_author", "commit_author"]


def test_bot_committer_is_evidence() -> None:
    f = facts(commits=[commit(1, OPERATOR, ACTIONS_BOT)])
    a = assess(f, AGENTS)
    assert a.agent_authored
    assert a.evidence[0].source == f"commit {sha(1)[:7]} committer"
    assert "type Bot" in a.evidence[0].text


def test_bot_suffix_without_type_is_evidence() -> None:
    f = facts(author=Actor(9, "some-helper[bot]", None))
    assert kinds(f) == ["pr_author"]


def test_bots_are_agents_false_keeps_listed_agents() -> None:
    policy = AgentPolicy(bots_are_agents=False)
    assert kinds(facts(author=Actor(9, "dependabot[bot]", "Bot")), policy) == []
    assert kinds(facts(author=COPILOT), policy) == ["pr_author"]


def test_agent_login_match_is_case_insensitive() -> None:
    assert kinds(facts(author=Actor(9, "COPILOT-swe-agent", "User"))) == ["pr_author"]


def test_co_authored_by_agent_is_self_reported_evidence() -> None:
    msg = "feat\n\nCo-authored-by: Claude <noreply@anthropic.com>\n"
    a = assess(facts(commits=[commit(1, OPERATOR, message=msg)]), AGENTS)
    assert a.agent_authored
    (e,) = a.evidence
    assert (e.kind, e.self_reported) == ("co_author", True)
    assert "noreply@anthropic.com" in e.text
    # the agent co-author is evidence, not an operator
    assert [op.display for op in a.operators] == ["@op"]


def test_co_author_noreply_of_a_bot_is_evidence() -> None:
    msg = "x\n\nCo-authored-by: helper <41898282+github-actions[bot]@users.noreply.github.com>"
    assert kinds(facts(commits=[commit(1, message=msg)])) == ["co_author"]


def test_human_co_author_is_operator_matched_by_noreply_login() -> None:
    msg = "x\n\nCo-authored-by: Bob B <2+bob@users.noreply.github.com>"
    a = assess(facts(commits=[commit(1, message=msg)]), AGENTS)
    assert not a.agent_authored
    assert a.operator_reason(BOB) == f"co-authored commit {sha(1)[:7]} (Co-authored-by)"
    # by id alone too (a renamed account keeps its id)
    assert a.operator_reason(Actor(2, "bob-renamed", "User")) is not None
    assert a.operator_reason(ALICE) is None


def test_human_co_author_matched_through_an_email_github_linked() -> None:
    # alice authored commit 1 (GitHub linked alice@acme.example to her account); commit 2
    # names the same email in a trailer: that co-author is alice's account.
    alice_git = Actor(1, "alice", "User", "alice@acme.example", "Alice")
    msg = "y\n\nCo-authored-by: A. <ALICE@acme.example>"
    a = assess(facts(commits=[commit(1, alice_git), commit(2, OPERATOR, message=msg)]), AGENTS)
    assert a.operator_reason(ALICE) is not None
    alice_op = next(op for op in a.operators if op.login == "alice")
    assert alice_op.roles[-1] == f"co-authored commit {sha(2)[:7]} (Co-authored-by)"


def test_unlinked_commit_author_matched_by_email() -> None:
    ghost = Actor(None, None, None, "carol@acme.example", "Carol")
    a = assess(facts(commits=[commit(1, ghost)]), AGENTS)
    assert a.operator_reason(Actor(3, "carol", "User", "carol@acme.example")) is not None
    assert a.operator_reason(Actor(3, "carol", "User")) is None  # no email known: no match


def test_unlinked_git_identity_naming_an_agent_is_self_reported_evidence() -> None:
    git = Actor(None, None, None, "cursoragent@cursor.com", "Cursor Agent")
    a = assess(facts(commits=[commit(1, git)]), AGENTS)
    (e,) = a.evidence
    assert (e.kind, e.self_reported) == ("git_identity", True)


def test_linked_human_commit_with_agent_git_identity_is_evidence() -> None:
    # the operator's account, but the agent's git name/email: still agent evidence
    git = Actor(10, "op", "User", "noreply@anthropic.com", "Claude")
    assert kinds(facts(commits=[commit(1, git)])) == ["git_identity"]


def test_branch_label_and_body_markers() -> None:
    f = facts(
        head_ref="Claude/fix-db",
        labels=("AI-Generated", "infra"),
        body="Summary\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)",
    )
    a = assess(f, AGENTS)
    assert [e.kind for e in a.evidence] == ["branch", "label", "body_marker"]
    assert all(e.self_reported for e in a.evidence)


def test_self_reported_text_never_makes_a_pr_human() -> None:
    # nothing in text can remove authenticated evidence
    f = facts(author=COPILOT, body="written by a human, no agent involved", labels=("human",))
    assert assess(f, AGENTS).agent_authored


def test_policy_extensions_apply() -> None:
    policy = parse_policy(
        b"agents:\n  logins: [robo-dev]\n  branch_prefixes: [bot-]\n  labels: [robot]\n",
        source="t",
    ).agents
    assert kinds(facts(author=Actor(5, "robo-dev", "User")), policy) == ["pr_author"]
    assert kinds(facts(head_ref="bot-123"), policy) == ["branch"]
    assert kinds(facts(labels=("robot",)), policy) == ["label"]
    off = parse_policy(b"agents:\n  use_defaults: false\n", source="t").agents
    assert kinds(facts(head_ref="copilot/x"), off) == []


def test_more_commits_than_github_lists_fails_closed_as_agent() -> None:
    cs = [commit(i) for i in range(250)]
    a = assess(facts(commits=cs, commits_count=300), AGENTS)
    assert a.agent_authored
    assert a.evidence[-1].kind == "unseen_commits"
    assert "300" in a.evidence[-1].text


# ------------------------------------------------- issue 10: pushers, co-author aliases


def test_every_pusher_is_an_operator_and_an_agent_pusher_is_evidence() -> None:
    from gatekeeper.pr.facts import Actor
    from tests.support.builders import ALICE, COPILOT, facts

    a = assess(facts(pushers=(ALICE,)), AgentPolicy())
    assert a.operator_reason(Actor(ALICE.id, "renamed")) == "pushed to the head branch"
    assert not a.agent_authored
    a = assess(facts(pushers=(COPILOT,)), AgentPolicy())
    assert a.agent_authored and a.evidence[0].kind == "pusher"


def test_an_unresolved_co_author_excludes_the_logins_its_name_or_local_part_names() -> None:
    from gatekeeper.pr.authorship import co_author_aliases
    from gatekeeper.pr.facts import Actor
    from tests.support.builders import COPILOT, commit, facts

    assert co_author_aliases("Olga Petrova", "olga.petrova+gh@acme.example") == ("olgapetrova",)
    assert co_author_aliases("olga", "o.p@acme.example") == ("olga", "op")
    msg = "fix\n\nCo-authored-by: Olga Petrova <o.petrova@acme.example>\n"
    a = assess(facts(commits=(commit(1, COPILOT, message=msg),)), AgentPolicy())
    for login in ("olga-petrova", "OlgaPetrova", "o_petrova", "opetrova"):
        assert a.operator_reason(Actor(99, login)) is not None, login
    assert a.operator_reason(Actor(98, "olga")) is None  # a first name alone is not a match
    assert a.operator_reason(Actor(97, "petrova")) is None
