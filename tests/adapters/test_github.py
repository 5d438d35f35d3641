"""The PyGithub adapter against the local GitHub test server: snapshot, pagination, retries."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.adapters.github import GitHubClient, RetryPolicy, rate_limit_wait
from gatekeeper.adapters.github_errors import ApiUnavailable, NotFound
from gatekeeper.adapters.github_facts import pr_facts
from gatekeeper.errors import ApiError
from gatekeeper.policy.model import AgentPolicy, ApprovalPolicy
from gatekeeper.pr.approvals import evaluate
from gatekeeper.pr.authorship import assess
from tests.ghserver import GHServer
from tests.ghserver.state import Pull, State

REPO = "acme/infra"
AGENTS = AgentPolicy()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def client(
    srv: GHServer, *, token: str | None = None, sleeps: Sleeps | None = None, **retry: Any
) -> GitHubClient:
    policy = RetryPolicy(**{"timeout": 2, "backoff": 0.01, "total_seconds": 60.0, **retry})
    return GitHubClient(
        token or srv.bot_token,
        srv.url,
        retry=policy,
        seconds_between_writes=0,
        sleep=sleeps if sleeps is not None else Sleeps(),
    )


def scene(st: State, **kw: Any) -> Pull:
    st.add_repo(REPO, files={".github/gatekeeper.yml": "mode: enforce\n"})
    return st.add_pull(author="alice", **kw)


# ------------------------------------------------------------------------ snapshot


def test_snapshot_reads_every_page_at_100(gh_server: GHServer) -> None:
    st = gh_server.state
    pr = scene(st, commits=[f"c{i}" for i in range(130)], labels=["infra", "ai-agent"])
    people = [st.add_user(f"u{i}") for i in range(60)]
    for p in people:  # collaborators: author_association COLLABORATOR (required by default)
        st.set_permission(p, "write")
    for i in range(120):  # 120 reviews over two pages: an approval on page 1, then
        # on page 2 a change request (every third person) or a comment (cancels nothing)
        later = "CHANGES_REQUESTED" if i % 3 == 0 else "COMMENTED"
        st.add_review(pr, people[i % 60], "APPROVED" if i < 60 else later)
    for i in range(205):
        st.add_comment(pr, people[i % 60], f"c{i}")
    f = client(gh_server).fetch_snapshot(REPO, pr.number)
    assert len(f.commits) == 130 and f.commits_count == 130 and not f.commits_truncated
    assert len(f.reviews) == 120 and len(f.comments) == 205
    assert f.labels == ("infra", "ai-agent")
    assert f.head_sha == pr.head_sha and f.commits[-1].sha == pr.head_sha
    for call in gh_server.calls(r"/(commits|reviews|comments|files)$"):
        assert call.query["per_page"] == ["100"]
    assert gh_server.count() == 1 + 2 + 2 + 3 + 1
    # the approval table over those pages: each person once, by latest state
    r = evaluate(f, assess(f, AGENTS), ApprovalPolicy(), AGENTS)
    assert len(r.counted) == 40
    assert {a.login for a in r.counted} == {f"u{i}" for i in range(60) if i % 3}
    assert len(r.changes_requested) == 20


def test_snapshot_identities(gh_server: GHServer) -> None:
    st = gh_server.state
    pr = scene(
        st,
        commits=[
            {
                "message": "a",
                "author": "claude[bot]",
                "committer": "web-flow",
                "trailers": {"Co-authored-by": "Alice <alice@example.com>"},
            },
            {"message": "b", "author": None, "author_name": "Ghost", "author_email": "g@x.example"},
        ],
    )
    f = client(gh_server).fetch_snapshot(REPO, pr.number)
    a, b = f.commits
    assert (a.author.login, a.author.type) == ("claude[bot]", "Bot")
    assert a.committer.is_web_flow
    assert "Co-authored-by: Alice <alice@example.com>" in a.message
    assert (b.author.login, b.author.email, b.author.name) == (None, "g@x.example", "Ghost")
    auth = assess(f, AGENTS)
    assert auth.agent_authored
    assert [e.kind for e in auth.evidence] == ["commit_author"]


def test_more_than_250_commits_is_flagged(gh_server: GHServer) -> None:
    st = gh_server.state
    pr = scene(st, commits=[f"c{i}" for i in range(260)])
    f = client(gh_server).fetch_snapshot(REPO, pr.number)
    assert len(f.commits) == 250 and f.commits_count == 260 and f.commits_truncated
    assert pr.head_sha not in {c.sha for c in f.commits}
    assert gh_server.count(r"/pulls/\d+$") == 1  # not mistaken for a moving head


def test_missing_pr(gh_server: GHServer) -> None:
    scene(gh_server.state)
    with pytest.raises(NotFound) as err:
        client(gh_server).fetch_snapshot(REPO, 99)
    assert err.value.exit_code == 2


def test_enterprise_server_base_url(gh_server: GHServer) -> None:
    with GHServer(enterprise=True) as ghes:
        st = ghes.state
        pr = scene(st, commits=[f"c{i}" for i in range(101)])
        assert ghes.url.endswith("/api/v3")
        f = client(ghes).fetch_snapshot(REPO, pr.number)
        assert len(f.commits) == 101
        assert ghes.count(r"/pulls/\d+/commits$") == 2  # followed the absolute next link
        ghes.verify()


# ---------------------------------------------------------------------- retries


def test_5xx_truncated_and_reset_are_retried(gh_server: GHServer) -> None:
    pr = scene(gh_server.state)
    gh_server.faults.error(r"/pulls/\d+$", 500)
    gh_server.faults.error(r"/pulls/\d+$", 502)
    gh_server.faults.truncate(r"/commits$")
    gh_server.faults.reset(r"/reviews$")
    gh_server.faults.error(r"/files$", 504)
    sleeps = Sleeps()
    c = client(gh_server, sleeps=sleeps)
    f = c.fetch_snapshot(REPO, pr.number)
    assert f.number == pr.number
    assert gh_server.count(r"/pulls/\d+$") == 3
    assert len(sleeps) == 5
    assert all(0 < s <= 0.01 * 2**4 for s in sleeps)


def test_slow_response_times_out_and_is_retried(gh_server: GHServer) -> None:
    pr = scene(gh_server.state)
    gh_server.faults.slow(r"/pulls/\d+$", seconds=2.5)
    f = client(gh_server, timeout=1).fetch_snapshot(REPO, pr.number)
    assert f.number == pr.number


def test_primary_rate_limit_waits_for_reset(gh_server: GHServer) -> None:
    pr = scene(gh_server.state)
    gh_server.faults.rate_limit(r"/pulls/\d+$", reset_in=30)
    sleeps = Sleeps()
    client(gh_server, sleeps=sleeps).fetch_snapshot(REPO, pr.number)
    assert len(sleeps) == 1 and 25 <= sleeps[0] <= 32


@pytest.mark.parametrize("status", [403, 429])
def test_secondary_rate_limit_honours_retry_after(gh_server: GHServer, status: int) -> None:
    pr = scene(gh_server.state)
    gh_server.faults.secondary_rate_limit(r"/reviews$", retry_after=7, status=status)
    sleeps = Sleeps()
    client(gh_server, sleeps=sleeps).fetch_snapshot(REPO, pr.number)
    assert sleeps == [7.0]


def test_rate_limit_beyond_budget_fails_closed_without_waiting(gh_server: GHServer) -> None:
    pr = scene(gh_server.state)
    gh_server.faults.rate_limit(r"/pulls/\d+$", reset_in=3600)
    sleeps = Sleeps()
    with pytest.raises(ApiUnavailable, match="time budget") as err:
        client(gh_server, sleeps=sleeps, total_seconds=120).fetch_snapshot(REPO, pr.number)
    assert sleeps == [] and err.value.exit_code == 1


def test_gives_up_after_max_attempts(gh_server: GHServer) -> None:
    pr = scene(gh_server.state)
    gh_server.faults.error(r"/pulls/\d+$", 503, times=10)
    with pytest.raises(ApiUnavailable, match="gave up after 3 attempts") as err:
        client(gh_server, max_attempts=3).fetch_snapshot(REPO, pr.number)
    assert err.value.exit_code == 1
    assert gh_server.count(r"/pulls/\d+$") == 3


def test_bad_token_and_forbidden_are_not_retried(gh_server: GHServer) -> None:
    pr = scene(gh_server.state)
    with pytest.raises(ApiError, match="bad credentials") as err:
        client(gh_server, token="ghp_nope").fetch_snapshot(REPO, pr.number)
    assert err.value.exit_code == 2
    gh_server.faults.respond(
        r"/pulls/\d+$", 403, {"message": "Resource not accessible by integration"}
    )
    with pytest.raises(ApiError, match="forbidden") as err:
        client(gh_server).fetch_snapshot(REPO, pr.number)
    assert not isinstance(err.value, ApiUnavailable)


def test_rate_limit_wait_rules() -> None:
    now = 1000.0
    assert rate_limit_wait(429, {"Retry-After": "12"}, None, now) == 12.0
    assert (
        rate_limit_wait(403, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1030"}, None, now)
        == 31.0
    )
    assert (
        rate_limit_wait(403, {}, {"message": "You have exceeded a secondary rate limit"}, now)
        == 60.0
    )
    assert rate_limit_wait(403, {}, {"message": "Resource not accessible"}, now) is None
    assert rate_limit_wait(500, {"retry-after": "1"}, None, now) is None


# ------------------------------------------------------------------ other reads


def test_read_file_at_a_ref(gh_server: GHServer) -> None:
    st = gh_server.state
    pr = scene(st)
    st.put_content("main", "big.bin", b"x" * (1024 * 1024 + 1))
    c = client(gh_server)
    assert c.read_file(REPO, ".github/gatekeeper.yml", pr.base_sha) == b"mode: enforce\n"
    assert c.read_file(REPO, "nope.yml", pr.base_sha) is None
    with pytest.raises(ApiError, match="not a file"):
        c.read_file(REPO, ".github", pr.base_sha)
    with pytest.raises(ApiError, match="too large"):
        c.read_file(REPO, "big.bin", pr.base_sha)


def test_lookup_reviewers(gh_server: GHServer) -> None:
    st = gh_server.state
    scene(st)
    st.add_user("bob")
    st.add_user("carol")
    st.set_permission("bob", "maintain")
    st.set_permission("carol", "triage")
    st.add_team("acme", "sre", members=["bob"], pending=["carol"])
    perms, teams = client(gh_server).lookup_reviewers(
        REPO, ["bob", "carol", "dave"], permission=True, teams=["acme/sre", "acme/none"]
    )
    assert perms == {"bob": "write", "carol": "read", "dave": "none"}
    assert teams == {"acme/sre": frozenset({"bob"}), "acme/none": frozenset()}


def test_reviews_carry_the_author_association(gh_server: GHServer) -> None:
    """GitHub's author_association on each review: what approvals.require_association reads
    (no extra request). Owner, organization members and collaborators count; nobody else."""
    st = gh_server.state
    pr = scene(st)
    people = ("collab", "member", "invited", "stranger")
    for login in people:
        st.add_user(login)
    st.set_permission("collab", "read")
    st.add_team("acme", "sre", members=["member"])
    st.add_team("acme", "ops", pending=["invited"])  # not a member until accepted
    for login in people:
        st.add_review(pr, login)
    f = client(gh_server).fetch_snapshot(REPO, pr.number)
    got = {r.user.login: r.author_association for r in f.reviews if r.user}
    assert got == {
        "collab": "COLLABORATOR",
        "member": "MEMBER",
        "invited": "NONE",
        "stranger": "NONE",
    }
    r = evaluate(f, assess(f, AGENTS), ApprovalPolicy(), AGENTS)
    assert sorted(a.login for a in r.counted) == ["collab", "member"]
    assert {x.login: x.short for x in r.excluded} == {
        "invited": "not a collaborator",
        "stranger": "not a collaborator",
    }
    st.add_repo("octo/solo", owner_type="User")  # a user's repository: its owner is OWNER
    solo = st.add_pull("octo/solo", author="collab")
    st.add_review(solo, "octo")
    (review,) = client(gh_server).fetch_snapshot("octo/solo", solo.number).reviews
    assert review.author_association == "OWNER"


def test_find_pulls_by_head(gh_server: GHServer) -> None:
    st = gh_server.state
    pr = scene(st, head_ref="feature")
    c = client(gh_server)
    assert c.find_pulls_by_head(REPO, "acme", "feature", pr.head_sha) == [pr.number]
    assert c.find_pulls_by_head(REPO, "acme", "feature", "0" * 40) == []


def test_artifact_download_follows_the_blob_redirect_without_the_token(gh_server: GHServer) -> None:
    st = gh_server.state
    pr = scene(st)
    run = st.add_workflow_run(pr.head_sha, artifacts={"gatekeeper-plan": {"a.txt": b"hello"}})
    c = client(gh_server)
    (art,) = c.run_artifacts(REPO, run.id, "gatekeeper-plan")
    gh_server.faults.error(r"^/_blobs/", 503)
    data = c.download_artifact(REPO, art["id"])
    assert data[:2] == b"PK"
    blob_calls = gh_server.calls(r"^/_blobs/")
    assert len(blob_calls) == 2
    assert all("authorization" not in {k.lower() for k in b.headers} for b in blob_calls)


def test_many_artifacts_and_jobs_are_paged_and_downloaded_in_parallel(
    gh_server: GHServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One bundle per matrix leg: every page of the run's artifacts and jobs, and each zip
    downloaded by at most `workers` threads at a time, each its own (PyGithub's connection
    object holds the request in flight, so threads must not share it)."""
    import threading
    import time
    import zipfile

    st = gh_server.state
    pr = scene(st)
    run = st.add_workflow_run(pr.head_sha)
    for i in range(130):
        st.add_artifact(run, f"gatekeeper-plan-s{i:03d}", {"leg.txt": f"leg {i}"})
        st.add_job(run, f"plan (s{i:03d})")
    c = client(gh_server)
    arts = c.run_artifacts(REPO, run.id, None)
    assert len(arts) == 130 and gh_server.count(r"/runs/\d+/artifacts$") == 2
    assert len(c.run_jobs(REPO, run.id)) == 130 and gh_server.count(r"/runs/\d+/jobs$") == 2

    active, peak, lock = [0], [0], threading.Lock()
    real = c.download_artifact

    def tracked(repo: str, artifact_id: int) -> bytes:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            time.sleep(0.01)
            return real(repo, artifact_id)
        finally:
            with lock:
                active[0] -= 1

    monkeypatch.setattr(c, "download_artifact", tracked)
    names = {a["id"]: a["name"] for a in arts}
    got = dict(c.download_artifacts(REPO, sorted(names), workers=4))
    assert sorted(got) == sorted(names)
    for art_id, data in got.items():
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            assert zf.read("leg.txt").decode() == f"leg {int(names[art_id][-3:])}"
    assert 1 < peak[0] <= 4


def test_downloads_stop_at_the_time_budget(gh_server: GHServer) -> None:
    from gatekeeper.adapters.github_errors import ApiUnavailable

    st = gh_server.state
    pr = scene(st)
    run = st.add_workflow_run(pr.head_sha)
    ids = [st.add_artifact(run, f"leg-{i}", {"a": str(i)}).id for i in range(6)]
    now = [0.0]
    c = GitHubClient(
        gh_server.bot_token,
        gh_server.url,
        retry=RetryPolicy(timeout=2, total_seconds=10.0),
        clock=lambda: now[0],
    )
    downloads = c.download_artifacts(REPO, ids, workers=1)
    first = next(downloads)
    assert first[0] == ids[0]
    now[0] = 11.0  # the budget is spent: nothing more starts
    with pytest.raises(ApiUnavailable, match="longer than the 10s time budget"):
        list(downloads)
    assert gh_server.count(r"/actions/artifacts/\d+/zip$") <= 2


# ---------------------------------------------------------------- check runs


def test_check_run_create_looks_before_repeating(gh_server: GHServer) -> None:
    st = gh_server.state
    pr = scene(st)
    gh_server.faults.error(r"/check-runs$", 502, method="POST")  # applied? unknown: look
    c = client(gh_server)
    kw: dict[str, Any] = {
        "head_sha": pr.head_sha,
        "name": "gatekeeper",
        "conclusion": "failure",
        "title": "t",
        "summary": "s",
        "text": "",
        "external_id": "gk:1",
    }
    run_id = c.create_check_run(REPO, **kw)
    assert [r.id for r in st.repo(REPO).check_runs.values()] == [run_id]
    # a rate-limited create was certainly not applied: repeated without looking
    gh_server.faults.secondary_rate_limit(r"/check-runs$", retry_after=0, method="POST")
    gh_server.reset_log()
    c.create_check_run(REPO, **{**kw, "external_id": "gk:2"})
    assert [str(x).split(" ")[0] for x in gh_server.log] == ["POST", "POST"]


def test_check_run_output_is_clipped(gh_server: GHServer) -> None:
    st = gh_server.state
    pr = scene(st)
    c = client(gh_server)
    c.create_check_run(
        REPO,
        head_sha=pr.head_sha,
        name="gatekeeper",
        conclusion="success",
        title="t",
        summary="x" * 70000,
        text="y" * 70000,
        external_id="e",
    )
    (run,) = st.repo(REPO).check_runs.values()
    assert len(run.output["summary"]) <= 65535 and run.output["summary"].endswith("job summary)")


# ------------------------------------------------------------------ pure parsing


def test_pr_facts_from_a_webhook_pull_request() -> None:
    doc = json.loads(
        (
            Path(__file__).resolve().parents[1] / "data" / "webhooks" / "pull_request.opened.0.json"
        ).read_text()
    )
    f = pr_facts("Codertocat/Hello-World", doc["pull_request"], [], [], [], [])
    assert (f.number, f.author.login, f.author.id) == (2, "Codertocat", 21031067)
    assert f.head_ref == "changes" and f.base_ref == "master"
    assert f.head_repository == "Codertocat/Hello-World" and not f.is_fork


def test_malformed_api_answers_fail_closed() -> None:
    doc = json.loads(
        (
            Path(__file__).resolve().parents[1] / "data" / "webhooks" / "pull_request.opened.0.json"
        ).read_text()
    )
    pr = doc["pull_request"]
    bad = {**pr, "head": {**pr["head"], "sha": None}}
    with pytest.raises(ApiUnavailable, match=r"head\.sha"):
        pr_facts("x/y", bad, [], [], [], [])
    with pytest.raises(ApiUnavailable, match="id"):
        pr_facts("x/y", pr, [], [{"id": 1, "state": "APPROVED", "user": {"login": "x"}}], [], [])
    # the counts tell a truncated list from a complete one: missing or malformed, no facts
    for key, value in (("commits", None), ("changed_files", "1"), ("commits", True)):
        broken = {k: v for k, v in pr.items() if k != key}
        if value is not None:
            broken[key] = value
        with pytest.raises(ApiUnavailable, match=rf"{key} is not a int"):
            pr_facts("x/y", broken, [], [], [], [])
    with pytest.raises(ApiUnavailable, match="negative"):
        pr_facts("x/y", {**pr, "commits": -1}, [], [], [], [])


def test_contents_base64(gh_server: GHServer) -> None:
    st = gh_server.state
    pr = scene(st)
    payload = bytes(range(256)) * 3
    st.put_content("main", "bin.dat", payload)
    assert client(gh_server).read_file(REPO, "bin.dat", pr.base_sha) == payload
    assert base64.b64encode(payload)  # sanity: binary content survives the wrapping
