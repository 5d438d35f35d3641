"""The sticky comment (gatekeeper.adapters.comment) against the local GitHub test server
(tests/ghserver), driven through the real PyGithub client: no PyGithub internals mocked."""

# ruff: noqa: F811  (pytest fixtures are parameters named like the imported fixture)
from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from gatekeeper.adapters import comment
from gatekeeper.adapters.github import GitHubClient, RetryPolicy
from gatekeeper.errors import ApiError
from tests.ghserver import GHServer
from tests.ghserver.fixture import gh_server  # noqa: F401 - fixture

BOT = "github-actions[bot]"
MARKER = "<!-- gatekeeper:sticky:0123456789abcdef -->"
OTHER_MARKER = "<!-- gatekeeper:sticky:fedcba9876543210 -->"
COMMENTS = r"/issues/1/comments$"


def _client(srv: GHServer, *, timeout: int = 5) -> GitHubClient:
    """The gate's own client on the test server (no write throttling)."""
    return GitHubClient(
        srv.bot_token, srv.url, retry=RetryPolicy(timeout=timeout), seconds_between_writes=0
    )


def upsert_sticky_comment(client: GitHubClient, *args: Any, **kw: Any) -> str:
    kw.setdefault("retry_delays", (0.0, 0.0))
    return comment.upsert_sticky_comment(client, "acme/infra", *args, **kw)


def body(text: str, marker: str = MARKER) -> str:
    return f"{marker}\n\n### {text}\n"


@pytest.fixture
def scene(gh_server: GHServer) -> Any:
    return gh_server.state.seed_basic()


@pytest.fixture
def repo(gh_server: GHServer, scene: Any) -> Any:
    return _client(gh_server)


def _bodies(srv: GHServer, scene: Any) -> list[tuple[str, str]]:
    return [(c.user.login, c.body) for c in srv.state.comments(scene.pr)]


def test_create_then_unchanged_then_updated(gh_server: GHServer, scene: Any, repo: Any) -> None:
    assert upsert_sticky_comment(repo, 1, body("blocked"), MARKER, self_login=BOT) == "created"
    gh_server.reset_log()
    assert upsert_sticky_comment(repo, 1, body("blocked"), MARKER, self_login=BOT) == "unchanged"
    # Nothing was written when nothing changed.
    assert gh_server.count(method="POST") == gh_server.count(method="PATCH") == 0
    assert upsert_sticky_comment(repo, 1, body("allowed"), MARKER, self_login=BOT) == "updated"
    assert gh_server.count(method="PATCH") == 1
    assert _bodies(gh_server, scene) == [(BOT, body("allowed"))]
    gh_server.assert_no_unexpected()


def test_one_comment_per_label_set(gh_server: GHServer, scene: Any, repo: Any) -> None:
    upsert_sticky_comment(repo, 1, body("prod"), MARKER, self_login=BOT)
    upsert_sticky_comment(repo, 1, body("staging", OTHER_MARKER), OTHER_MARKER, self_login=BOT)
    upsert_sticky_comment(repo, 1, body("prod 2"), MARKER, self_login=BOT)
    assert _bodies(gh_server, scene) == [
        (BOT, body("prod 2")),
        (BOT, body("staging", OTHER_MARKER)),
    ]


def test_a_planted_marker_is_never_ours(gh_server: GHServer, scene: Any, repo: Any) -> None:
    # Someone else pastes the marker (an agent hoping its text gets "edited in place").
    planted = gh_server.state.add_comment(scene.pr, "alice", body("fake: allowed"))
    # Our own comment without the marker is not the sticky one either.
    gh_server.state.add_comment(scene.pr, BOT, "unrelated bot comment")
    assert upsert_sticky_comment(repo, 1, body("blocked"), MARKER, self_login=BOT) == "created"
    comments = gh_server.state.comments(scene.pr)
    assert [(c.user.login, c.body) for c in comments] == [
        ("alice", body("fake: allowed")),
        (BOT, "unrelated bot comment"),
        (BOT, body("blocked")),
    ]
    assert planted.history == []  # never edited


def test_self_login_is_compared_case_insensitively(
    gh_server: GHServer, scene: Any, repo: Any
) -> None:
    gh_server.state.add_comment(scene.pr, BOT, body("old"))
    assert upsert_sticky_comment(
        repo, 1, body("new"), MARKER, self_login="GitHub-Actions[bot]"
    ) == ("updated")
    assert _bodies(gh_server, scene) == [(BOT, body("new"))]


def test_finds_the_comment_on_a_later_page(gh_server: GHServer, scene: Any, repo: Any) -> None:
    for i in range(230):
        gh_server.state.add_comment(scene.pr, "bob", f"chatter {i}")
    gh_server.state.add_comment(scene.pr, BOT, body("old"))
    gh_server.reset_log()
    assert upsert_sticky_comment(repo, 1, body("new"), MARKER, self_login=BOT) == "updated"
    lists = gh_server.calls(COMMENTS, "GET")
    assert len(lists) == 3  # 231 comments, 100 per page
    assert all(r.query.get("per_page") == ["100"] for r in lists)
    assert gh_server.count(method="POST") == 0


def test_existing_duplicates_are_collapsed_to_the_oldest(
    gh_server: GHServer, scene: Any, repo: Any
) -> None:
    st = gh_server.state
    older = st.add_comment(scene.pr, BOT, body("first run"), created_at="2024-05-01T10:00:00Z")
    st.add_comment(scene.pr, BOT, body("second run"), created_at="2024-05-01T10:00:05Z")
    st.add_comment(scene.pr, BOT, body("third run"), created_at="2024-05-01T10:00:09Z")
    assert upsert_sticky_comment(repo, 1, body("now"), MARKER, self_login=BOT) == "updated"
    comments = st.comments(scene.pr)
    assert [(c.id, c.body) for c in comments] == [(older.id, body("now"))]


def test_two_runs_racing_leave_one_comment(gh_server: GHServer, scene: Any) -> None:
    # Both creates are held for a second, so both runs list "no comment" and both create.
    gh_server.faults.slow(COMMENTS, seconds=1.0, method="POST", times=2)
    results: dict[str, str] = {}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        try:
            repo = _client(gh_server)
            results[name] = upsert_sticky_comment(repo, 1, body(name), MARKER, self_login=BOT)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in ("run-a", "run-b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    assert gh_server.count(COMMENTS, "POST") == 2  # the race really happened
    comments = gh_server.state.comments(scene.pr)
    assert len(comments) == 1
    assert comments[0].body in (body("run-a"), body("run-b"))
    assert sorted(results.values()) in (["created", "updated"], ["created", "unchanged"])


def test_lost_answer_to_a_create_is_not_retried_blindly(
    gh_server: GHServer, scene: Any, repo: Any
) -> None:
    # The comment is stored, but the answer is cut off: the client sees a failure.
    gh_server.faults.truncate(COMMENTS, method="POST")
    assert upsert_sticky_comment(repo, 1, body("blocked"), MARKER, self_login=BOT) == "created"
    assert gh_server.count(COMMENTS, "POST") == 1  # listed first, found it, no second create
    assert _bodies(gh_server, scene) == [(BOT, body("blocked"))]


def test_create_timeout_waits_and_lists_before_retrying(gh_server: GHServer, scene: Any) -> None:
    repo = _client(gh_server, timeout=1)
    # The server holds the answer past the client's timeout, then stores the comment.
    gh_server.faults.slow(COMMENTS, seconds=2.0, method="POST")
    result = upsert_sticky_comment(
        repo, 1, body("blocked"), MARKER, self_login=BOT, retry_delays=(2.5, 0.0)
    )
    assert result == "created"
    # The timed-out create landed while we waited: found by listing, not created twice.
    assert gh_server.count(COMMENTS, "POST") == 1
    assert _bodies(gh_server, scene) == [(BOT, body("blocked"))]


def test_create_timeout_with_a_late_duplicate_heals_on_the_next_run(
    gh_server: GHServer, scene: Any
) -> None:
    repo = _client(gh_server, timeout=1)
    gh_server.faults.slow(COMMENTS, seconds=2.0, method="POST")
    # No wait: the listing comes before the held create lands, so a retry creates a second.
    assert upsert_sticky_comment(repo, 1, body("blocked"), MARKER, self_login=BOT) == "created"
    posts = [i for i, r in enumerate(gh_server.calls(COMMENTS)) if r.method == "POST"]
    assert len(posts) == 2
    assert any(r.method == "GET" for r in gh_server.calls(COMMENTS)[posts[0] + 1 : posts[1]])
    time.sleep(1.5)  # the held create lands: two marked comments now
    assert len(gh_server.state.comments(scene.pr)) == 2
    assert upsert_sticky_comment(repo, 1, body("blocked"), MARKER, self_login=BOT) == "unchanged"
    assert _bodies(gh_server, scene) == [(BOT, body("blocked"))]


def test_server_error_on_create_is_retried_after_listing(
    gh_server: GHServer, scene: Any, repo: Any
) -> None:
    gh_server.faults.error(COMMENTS, 502, method="POST")
    assert upsert_sticky_comment(repo, 1, body("blocked"), MARKER, self_login=BOT) == "created"
    log = [(r.method, r.status) for r in gh_server.calls(COMMENTS)]
    assert log == [("GET", 200), ("POST", 502), ("GET", 200), ("POST", 201), ("GET", 200)]
    assert _bodies(gh_server, scene) == [(BOT, body("blocked"))]


def test_persistent_server_errors_raise_api_error(
    gh_server: GHServer, scene: Any, repo: Any
) -> None:
    gh_server.faults.error(COMMENTS, 503, method="POST", times=10)
    with pytest.raises(ApiError) as err:
        upsert_sticky_comment(repo, 1, body("blocked"), MARKER, self_login=BOT)
    assert "3 attempts" in err.value.message
    assert gh_server.count(COMMENTS, "POST") == 3
    assert gh_server.state.comments(scene.pr) == []


def test_client_errors_are_not_retried(gh_server: GHServer, scene: Any, repo: Any) -> None:
    too_long = MARKER + "x" * 70_000  # GitHub: "Body is too long (maximum is 65536 characters)"
    with pytest.raises(ApiError) as err:
        upsert_sticky_comment(repo, 1, too_long, MARKER, self_login=BOT)
    assert "422" in err.value.message
    assert gh_server.count(COMMENTS, "POST") == 1


def test_listing_failure_raises_api_error(gh_server: GHServer, scene: Any, repo: Any) -> None:
    gh_server.faults.respond(
        COMMENTS, 403, {"message": "Resource not accessible by integration"}, method="GET"
    )
    with pytest.raises(ApiError) as err:
        upsert_sticky_comment(repo, 1, body("x"), MARKER, self_login=BOT)
    assert "Resource not accessible by integration" in err.value.message
    assert gh_server.count(COMMENTS, "POST") == 0


def test_arguments_are_checked(repo: Any) -> None:
    with pytest.raises(ValueError):
        upsert_sticky_comment(repo, 1, "no marker here", MARKER, self_login=BOT)
    with pytest.raises(ValueError):
        upsert_sticky_comment(repo, 1, body("x"), MARKER, self_login="")


def test_with_a_snapshot_the_race_check_uses_githubs_clock_not_ours(
    gh_server: GHServer, scene: Any, repo: Any
) -> None:
    """The test server's clock is years behind this machine's. The post-create listing must
    be bounded by GitHub's timestamp of the new comment, or it would miss the comment."""
    from datetime import timedelta

    for i in range(150):  # old comments: outside the race window, so never listed again
        gh_server.state.add_comment(scene.pr, "alice", f"note {i}")
    gh_server.state.clock.advance(3600)
    known = [f for f in gh_server.github().get_repo("acme/infra").get_issue(1).get_comments()]
    gh_server.reset_log()
    action = upsert_sticky_comment(
        repo,
        1,
        body("blocked"),
        MARKER,
        self_login=BOT,
        known=known,
        known_age=timedelta(seconds=5),
    )
    assert action == "created"
    listings = [c for c in gh_server.calls(COMMENTS, "GET")]
    assert len(listings) == 1  # one page since the snapshot, not all 150 comments again
    assert _bodies(gh_server, scene)[-1] == (BOT, body("blocked"))
