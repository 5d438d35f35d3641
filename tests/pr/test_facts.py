from __future__ import annotations

import pytest

from gatekeeper.pr.facts import COMMITS_LIST_CAP, Actor, noreply_identity
from gatekeeper.pr.trailers import co_authors
from tests.support.builders import OPERATOR, WEB_FLOW, commit, facts


@pytest.mark.parametrize(
    ("actor", "bot"),
    [
        (Actor(1, "dependabot[bot]", "Bot"), True),
        (Actor(1, "renovate[bot]", None), True),  # suffix alone is enough
        (Actor(1, "Some-App", "Bot"), True),  # type alone is enough
        (Actor(1, "alice", "User"), False),
        (Actor(None, None, None, "x@y"), False),
    ],
)
def test_is_bot(actor: Actor, bot: bool) -> None:
    assert actor.is_bot is bot


def test_web_flow_is_recognised_by_login_or_email() -> None:
    assert WEB_FLOW.is_web_flow
    assert Actor(None, None, None, "noreply@github.com", "GitHub").is_web_flow
    # a linked account other than web-flow using that email is not GitHub's committer
    assert not Actor(5, "mallory", "User", "noreply@github.com").is_web_flow
    assert not OPERATOR.is_web_flow


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        ("12345+alice@users.noreply.github.com", (12345, "alice")),
        ("alice@users.noreply.github.com", (None, "alice")),
        ("198982749+Copilot@users.noreply.github.com", (198982749, "Copilot")),
        (
            "41898282+github-actions[bot]@users.noreply.github.com",
            (41898282, "github-actions[bot]"),
        ),
        ("7+bob@users.noreply.ghe.acme.example", (7, "bob")),
        ("alice@acme.example", None),
        ("noreply@github.com", None),
        (None, None),
        ("", None),
    ],
)
def test_noreply_identity(email: str | None, expected: tuple[int | None, str] | None) -> None:
    assert noreply_identity(email) == expected


def test_commit_cap_truncation_flag() -> None:
    cs = tuple(commit(i) for i in range(COMMITS_LIST_CAP))
    f = facts(commits=cs, commits_count=COMMITS_LIST_CAP + 1)
    assert f.commits_truncated
    assert not facts(commits=cs, commits_count=COMMITS_LIST_CAP).commits_truncated


def test_files_truncation_and_fork() -> None:
    f = facts(files=["a.tf"], changed_files_count=3001)
    assert f.files_truncated
    assert not facts(files=["a.tf"]).files_truncated
    assert facts(head_repository="mallory/infra").is_fork
    assert not facts(head_repository="ACME/infra").is_fork


def test_co_authors_case_insensitive_anywhere_crlf() -> None:
    msg = (
        "fix: thing\r\n\r\nbody text\r\nCO-AUTHORED-BY: Alice <alice@acme.example>\r\n"
        "co-authored-by:Claude <noreply@anthropic.com>\r\n"
        "  Co-Authored-By:   Bob Builder   <bob@acme.example>  \r\n"
        "Co-authored-by: alice <ALICE@acme.example>\r\n"  # same but for case: dropped
        "Co-authored-by: just a name\r\n"
        "Co-authored-by:\r\n"
        "Not-a-trailer: Eve <eve@x>\r\n"
    )
    got = [(c.name, c.email) for c in co_authors(msg)]
    assert got == [
        ("Alice", "alice@acme.example"),
        ("Claude", "noreply@anthropic.com"),
        ("Bob Builder", "bob@acme.example"),
        ("just a name", None),
    ]


def test_co_authors_none() -> None:
    assert co_authors("plain message\n\nSigned-off-by: A <a@b>") == ()
