"""`gatekeeper gate` end to end: gatekeeper.cli.main, environment variables, an event file made
from the real webhook payloads, the local GitHub test server, GITHUB_OUTPUT / summary files."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cli import main
from gatekeeper.commands import gate as gate_cmd
from gatekeeper.gate import pipeline
from tests.ghserver import GHServer
from tests.ghserver.state import Pull, State
from tests.support.gaterun import parse_outputs, runner_env
from tests.support.scenes import (
    POLICY_YML,
    REPO,
    agent_pr,
    base_repo,
    hook,
    human_pr,
    pr_event,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "terraform"
GATED_PLAN = str(FIXTURES / "replace_prod_db" / "plan.json")
EMPTY_PLAN = str(FIXTURES / "no_changes" / "plan.json")


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate_cmd, "WRITE_SPACING", 0.0)
    monkeypatch.setattr(gate_cmd, "BACKOFF", 0.01)


# ------------------------------------------------------------------------ scenes


# ------------------------------------------------------------------------ events


def comment_event(pr: Pull) -> dict[str, Any]:
    doc = copy.deepcopy(hook("issue_comment.created.0.json"))
    doc["repository"]["full_name"] = REPO
    doc["issue"]["number"] = pr.number
    doc["issue"]["pull_request"] = {"url": f"https://api.github.com/repos/{REPO}/pulls/{pr.number}"}
    return doc


@dataclass
class Outcome:
    code: int
    outputs: dict[str, str]
    summary: str
    out: str
    err: str


def run_gate(
    srv: GHServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    event: str,
    payload: dict[str, Any],
    *argv: str,
    env: dict[str, str | None] | None = None,
) -> Outcome:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(payload))
    out, summary = tmp_path / "output", tmp_path / "summary.md"
    out.write_text("")
    summary.write_text("")
    for key in list(__import__("os").environ):
        if key.startswith(("INPUT_", "GITHUB_")):
            monkeypatch.delenv(key, raising=False)
    base = runner_env(srv, event, path, out, summary, "4242")
    for k, v in {**base, **(env or {})}.items():
        if v is None:
            monkeypatch.delenv(k, raising=False)
        else:
            monkeypatch.setenv(k, v)
    code = main(["gate", *argv])
    captured = capsys.readouterr()
    return Outcome(
        code, parse_outputs(out.read_text()), summary.read_text(), captured.out, captured.err
    )


Runner = Callable[..., "Outcome"]


@pytest.fixture
def gate(
    gh_server: GHServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Runner:
    """`gate(event, payload, *argv, env=...)`: run_gate bound to this test's server and tmp dir."""

    def run(event: str, payload: dict[str, Any], *argv: str, **kw: Any) -> Outcome:
        return run_gate(gh_server, tmp_path, monkeypatch, capsys, event, payload, *argv, **kw)

    return run


def check_runs(st: State, sha: str) -> list[Any]:
    return [r for r in st.repo(REPO).check_runs.values() if r.head_sha == sha]


# ------------------------------------------------------------- single workflow


def test_operator_approval_does_not_count_on_the_agents_pr(
    gh_server: GHServer, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = agent_pr(st)
    st.add_review(pr, "alice")
    st.add_review(pr, "op")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1
    assert res.outputs["decision"] == "block"
    assert res.outputs["approvals-counted"] == "1"
    assert res.outputs["approvals-required"] == "2"
    assert res.outputs["gated-count"] == "1"
    assert len(res.outputs["plan-digest"]) == 64
    assert res.outputs["agent-authored"] == "true"
    headline = res.outputs["headline"]
    assert headline == (
        "blocked: 1 more approval needed from distinct humans for 1 destructive production "
        "change (@alice counted; @op excluded, co-authored the commits)"
    )
    (run,) = check_runs(st, pr.head_sha)
    assert run.name == "gatekeeper" and run.conclusion == "failure"
    assert "1 more approval needed from distinct humans" in run.output["title"]
    assert res.outputs["plan-digest"] in run.output["summary"]
    assert "Explanation" in run.output["text"]
    assert "- operator \\(never a second person\\): @\u200bop: co\\-authored" in run.output["text"]
    assert "agent evidence: PR author" in res.out  # the job log has the whole story
    assert "Blocked" in res.summary
    # the sticky comment was posted by the token's user
    (comment,) = st.comments(pr)
    assert comment.user.login == "github-actions[bot]"


def test_two_distinct_humans_allow(gh_server: GHServer, tmp_path: Path, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = agent_pr(st)
    st.add_review(pr, "alice")
    st.add_review(pr, "carol")
    st.add_review(pr, "alice", "COMMENTED")  # a later comment does not cancel
    report = tmp_path / "report.json"
    res = gate(
        "pull_request",
        pr_event(pr),
        "--plan",
        GATED_PLAN,
        "--report",
        str(report),
    )
    assert res.code == 0, res.err
    assert res.outputs["decision"] == "allow"
    (run,) = check_runs(st, pr.head_sha)
    assert run.conclusion == "success"
    doc = json.loads(report.read_text())
    assert [a["login"] for a in doc["approvals"]["counted"]] == ["alice", "carol"]
    assert doc["authorship"]["agent_authored"] is True
    assert doc["pull_request"]["number"] == pr.number
    assert doc["overrides"] == {"considered": False}
    import jsonschema

    from gatekeeper.render.report import report_schema

    jsonschema.validate(doc, report_schema())


def test_approval_before_a_push_is_stale(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    old = pr.head_sha
    st.add_review(pr, "alice")
    st.push(pr, {"message": "more", "author": "op"})
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1
    assert f"@alice approved an older commit ({old[:7]})" in res.outputs["headline"]
    assert res.outputs["agent-authored"] == "false"


def test_plans_for_an_older_head_are_pending(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    event = pr_event(pr)
    st.add_review(pr, "alice")
    st.push(pr, {"message": "more", "author": "op"})  # the event (and its plan) are now old
    res = gate("pull_request", event, "--plan", GATED_PLAN)
    assert res.code == 1
    assert res.outputs["headline"].startswith(f"blocked: plan pending for {pr.head_sha}")


def test_agent_changing_a_workflow_is_gated_with_an_empty_plan(
    gh_server: GHServer, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    commit = {
        "message": "ci",
        "author": "Copilot",
        "contents": {".github/workflows/deploy.yml": "on: push\n"},
    }
    pr = st.add_pull(author="Copilot", commits=[commit])
    res = gate("pull_request", pr_event(pr), "--plan", EMPTY_PLAN)
    assert res.code == 1
    assert "1 trust-root file changed by an agent" in res.outputs["headline"]
    assert res.outputs["gated-count"] == "1"


def test_policy_is_read_at_the_base_not_the_head(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st, policy=POLICY_YML + "approvals:\n  human_authored: 2\n")
    # the PR tries to lower the bar in its own copy of the policy
    commit = {
        "message": "relax",
        "author": "op",
        "contents": {".github/gatekeeper.yml": "approvals:\n  human_authored: 0\n"},
    }
    pr = human_pr(st, commits=[commit])
    st.add_review(pr, "alice")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1
    assert res.outputs["approvals-required"] == "2"
    refs = [c.query.get("ref", [""])[0] for c in gh_server.calls(r"/contents/")]
    assert refs == [pr.base_sha]


def test_advisory_mode_reports_a_neutral_check(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st, policy=POLICY_YML + "mode: advisory\n")
    pr = human_pr(st)
    res = gate(
        "pull_request",
        pr_event(pr),
        "--plan",
        GATED_PLAN,
        "--commit-status",
    )
    assert res.code == 0 and res.outputs["decision"] == "block"
    (run,) = check_runs(st, pr.head_sha)
    assert run.conclusion == "neutral"
    (status,) = st.repo(REPO).statuses
    assert status.context == "gatekeeper"


def test_an_error_turns_an_earlier_success_status_red(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    # A ruleset may require the status context: an error must not leave the last success.
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    st.add_review(pr, "alice")
    ok = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN, "--commit-status")
    assert ok.code == 0
    res = gate(
        "pull_request", pr_event(pr), "--plan", str(tmp_path / "nope.json"), "--commit-status"
    )
    assert res.code == 2 and res.outputs["decision"] == "error"
    success, error = st.repo(REPO).statuses
    assert (success.state, error.state) == ("success", "failure")
    assert (error.description or "").startswith("error:")


def test_commit_status_optional(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    res = gate(
        "pull_request",
        pr_event(pr),
        "--plan",
        GATED_PLAN,
        env={"INPUT_COMMIT-STATUS": "true"},
    )
    assert res.code == 1
    (status,) = st.repo(REPO).statuses
    assert (status.state, status.context) == ("failure", "gatekeeper")
    assert (status.description or "").startswith("blocked:")


def test_reviewer_without_write_permission(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st, policy=POLICY_YML + "approvals:\n  require_write_permission: true\n")
    st.add_user("reader")
    st.set_permission("reader", "read")
    pr = human_pr(st)
    st.add_review(pr, "reader")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1
    assert "@reader excluded, no write permission" in res.outputs["headline"]
    st.add_review(pr, "bob")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 0


# ------------------------------------------------------------------ split setup


def upload_bundle(
    srv: GHServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    pr: Pull,
    plan: str = GATED_PLAN,
    **run_kw: Any,
) -> None:
    """What the plan job does: `gatekeeper gate --bundle-out` on the pull_request event,
    then actions/upload-artifact (here: the server's seeding API)."""
    out_dir = tmp_path / "bundle"
    before = srv.count()
    res = run_gate(
        srv,
        tmp_path,
        monkeypatch,
        capsys,
        "pull_request",
        pr_event(pr),
        "--plan",
        plan,
        "--bundle-out",
        str(out_dir),
        env={"GITHUB_TOKEN": None},
    )
    assert res.code == 0, res.err
    assert srv.count() == before  # the plan job never calls the API
    data = (out_dir / "gatekeeper-bundle.json").read_bytes()
    srv.state.add_workflow_run(
        pr.head_sha, artifacts={"gatekeeper-plan": {"gatekeeper-bundle.json": data}}, **run_kw
    )


def test_split_setup_plan_pending_then_review(
    gh_server: GHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = agent_pr(st)
    review_event = pr_event(pr, "pull_request_review.submitted.0.json")
    res = gate("pull_request_review", review_event)
    assert res.code == 1
    assert res.outputs["headline"].startswith(f"blocked: plan pending for {pr.head_sha}")
    assert res.outputs["plan-digest"] == ""
    (run,) = check_runs(st, pr.head_sha)
    assert run.conclusion == "failure"

    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr)
    st.add_review(pr, "alice")
    st.add_review(pr, "bob")
    gh_server.reset_log()
    res = gate("pull_request_review", review_event)
    assert res.code == 0, res.out
    assert res.outputs["decision"] == "allow"
    assert res.outputs["approvals-counted"] == "2"
    # no Terraform, no checkout: the analysis came from the artifact
    assert gh_server.count(r"/actions/artifacts/\d+/zip$") == 1


def test_split_setup_plan_run_in_progress_or_failed(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    st.add_workflow_run(pr.head_sha, status="in_progress")
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 1 and "is in_progress" in res.outputs["headline"]


def test_split_setup_ignores_artifacts_of_other_workflows(
    gh_server: GHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    upload_bundle(
        gh_server,
        tmp_path,
        monkeypatch,
        capsys,
        pr,
        plan=EMPTY_PLAN,
        path=".github/workflows/evil.yml",
    )
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 1
    assert "no run of .github/workflows/plan.yml" in res.outputs["headline"]


def test_split_setup_pr_changing_the_plan_workflow_is_gated(
    gh_server: GHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    commit = {
        "message": "faster plan",
        "author": "op",
        "contents": {".github/workflows/plan.yml": "on: pull_request\n"},
    }
    pr = human_pr(st, commits=[commit])
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr, plan=EMPTY_PLAN)
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 1
    assert "1 gated condition" in res.outputs["headline"]


def test_workflow_run_event_finds_the_pr(
    gh_server: GHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr)
    st.add_review(pr, "alice")
    doc = copy.deepcopy(hook("workflow_run.completed.2.json"))
    doc["repository"]["full_name"] = REPO
    doc["workflow_run"]["head_sha"] = pr.head_sha
    doc["workflow_run"]["head_branch"] = pr.head_ref
    doc["workflow_run"]["head_repository"]["owner"]["login"] = "acme"
    doc["workflow_run"]["pull_requests"] = []  # like a fork PR: not linked, looked up by head
    res = gate("workflow_run", doc)
    assert res.code == 0, res.out
    assert res.outputs["pr-number"] == str(pr.number)


def test_merge_group_reports_on_the_group_head(
    gh_server: GHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr)
    st.add_review(pr, "alice")
    group_head = st.add_commit(REPO, message="merge group").sha
    doc = copy.deepcopy(hook("merge_group.checks_requested.0.json"))
    doc["repository"]["full_name"] = REPO
    doc["merge_group"]["head_sha"] = group_head
    doc["merge_group"]["head_ref"] = (
        f"refs/heads/gh-readonly-queue/main/pr-{pr.number}-{pr.head_sha}"
    )
    res = gate("merge_group", doc)
    assert res.code == 0, res.out
    assert [r.conclusion for r in check_runs(st, group_head)] == ["success"]


# ---------------------------------------------------------------- bad input, exits


def test_issue_comment_on_an_issue_exits_zero_quickly(gh_server: GHServer, gate: Runner) -> None:
    base_repo(gh_server.state)
    doc = hook("issue_comment.created.0.json")
    doc["repository"]["full_name"] = REPO
    res = gate("issue_comment", doc)
    assert res.code == 0
    assert "not a pull request" in res.out
    assert gh_server.count() == 0
    assert res.outputs["decision"] == "skipped"


def test_issue_comment_on_a_pr_re_evaluates(
    gh_server: GHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr)
    st.add_comment(pr, "alice", "looks scary")
    res = gate("issue_comment", comment_event(pr))
    assert res.code == 1
    assert "1 more approval needed from distinct humans" in res.outputs["headline"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"GITHUB_TOKEN": None}, "no GitHub token"),
        ({"GITHUB_REPOSITORY": "other/repo"}, "foreign event"),
        ({"GITHUB_EVENT_NAME": "push"}, "not supported"),
    ],
)
def test_bad_environment_exits_2_with_one_line(
    gh_server: GHServer, env: dict[str, str | None], message: str, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    res = gate("pull_request", pr_event(pr), env=env)
    assert res.code == 2
    first = res.err.splitlines()[0]
    assert first.startswith("error: ") and message in first
    assert gh_server.count() == 0


def test_malformed_payload_exits_2(gh_server: GHServer, gate: Runner) -> None:
    base_repo(gh_server.state)
    doc = hook("pull_request.opened.0.json")
    doc["repository"]["full_name"] = REPO
    doc["pull_request"]["head"]["sha"] = "zzz"
    res = gate("pull_request", doc)
    assert res.code == 2 and "not a commit SHA" in res.err


def test_missing_pr_exits_2(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    doc = pr_event(pr)
    doc["pull_request"]["number"] = 999
    res = gate("pull_request", doc)
    assert res.code == 2
    assert "pull request #999 not found in acme/infra" in res.err.splitlines()[0]


def test_bad_base_policy_exits_2_and_turns_the_check_red(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st, policy="approvals: [not, a, mapping]\n")
    pr = human_pr(st)
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 2
    assert ".github/gatekeeper.yml@" in res.err
    (run,) = check_runs(st, pr.head_sha)
    assert run.conclusion == "failure" and run.output["title"].startswith("error:")


# ------------------------------------------------------------------------ faults


def test_transient_errors_are_retried(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    st.add_review(pr, "alice")
    gh_server.faults.error(rf"/pulls/{pr.number}$", 500)
    gh_server.faults.error(r"/commits$", 502)
    gh_server.faults.truncate(r"/reviews$")
    gh_server.faults.secondary_rate_limit(r"/files$", retry_after=1)
    gh_server.faults.reset(r"/contents/")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 0, res.err
    assert gh_server.faults.pending() == []
    assert gh_server.count(rf"/pulls/{pr.number}$") == 2


def test_persistent_outage_blocks_never_allows(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    st.add_review(pr, "alice")  # would be allowed
    gh_server.faults.error(r"/reviews$", 503, times=100)
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1
    assert res.outputs["decision"] == "block"
    assert res.outputs["headline"].startswith("blocked: GitHub API unavailable: list reviews")
    # the check run still says so (on the event's head)
    (run,) = check_runs(st, pr.head_sha)
    assert run.conclusion == "failure"


def test_rate_limit_longer_than_the_budget_blocks_at_once(
    gh_server: GHServer, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    gh_server.faults.rate_limit(rf"/pulls/{pr.number}$", reset_in=3600)
    res = gate(
        "pull_request",
        pr_event(pr),
        "--plan",
        GATED_PLAN,
        "--time-budget",
        "30",
    )
    assert res.code == 1
    assert "time budget" in res.outputs["headline"]
    assert gh_server.count(rf"/pulls/{pr.number}$") == 1


def test_check_run_create_is_not_duplicated_after_a_lost_answer(
    gh_server: GHServer, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    gh_server.faults.truncate(r"/check-runs$", method="POST")  # created, answer cut off
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1
    assert len(check_runs(st, pr.head_sha)) == 1
    assert gh_server.count(r"/check-runs$", "POST") == 1  # looked first, did not repeat
    # one listing for the tamper check before posting, one probe after the lost answer
    assert gh_server.count(r"/commits/[0-9a-f]+/check-runs$", "GET") == 2


def test_check_run_create_is_retried_when_it_did_not_land(
    gh_server: GHServer, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    gh_server.faults.reset(r"/check-runs$", method="POST")  # nothing created
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1
    assert len(check_runs(st, pr.head_sha)) == 1
    assert gh_server.count(r"/check-runs$", "POST") == 2


# -------------------------------------------------------------------- efficiency


def busy_pr(st: State) -> Pull:
    """100 commits, 50 reviews, 200 comments."""
    commits: list[Any] = [
        {
            "message": f"step {i}",
            "author": "Copilot",
            "trailers": {"Co-authored-by": "Op Erator <op@acme.example>"},
        }
        for i in range(99)
    ]
    commits.append({"message": "last", "author": "op", "contents": {"main.tf": "# y\n"}})
    pr = st.add_pull(author="Copilot", commits=commits)
    people = [st.add_user(f"rev{i}") for i in range(25)]
    for p in people:
        st.set_permission(p, "write")
        st.add_review(pr, p, "COMMENTED")
        st.add_review(pr, p, "APPROVED")
    for i in range(200):
        st.add_comment(pr, people[i % 25], f"comment {i}")
    return pr


@pytest.mark.parametrize("setup", ["single", "split"])
def test_request_budget(
    gh_server: GHServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    setup: str,
    gate: Runner,
) -> None:
    """A PR with 100 commits, 50 reviews and 200 comments: at most 13 (single) or 18 (split)
    requests for the evaluation (snapshot, trust root, analysis, head checks, check run). The
    sticky comment is counted separately (its own module lists the comments again before it
    edits).

    Issue 10 added five reads, one each, whatever the size of the PR: the default branch's
    head (the trust root), the pushers (activity), the open PRs of the head, its `gatekeeper`
    check runs and its commit statuses (tamper check). The single-workflow run, comment
    included, stays within the original budget of 15; the split setup needs 20 (its plan
    artifact alone takes 5: runs, artifacts, the run's jobs for pending or failed legs, the
    download's redirect and blob)."""
    st = gh_server.state
    base_repo(st, policy=POLICY_YML + "overrides:\n  namespace_domain: acme.example\n")
    pr = busy_pr(st)
    argv: tuple[str, ...] = ("--plan", GATED_PLAN)
    if setup == "split":
        upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr)
        argv = ()
    gh_server.reset_log()
    res = gate(
        "pull_request_target",
        pr_event(pr),
        *argv,
        "--no-comment",
    )
    assert res.code == 0, res.out
    assert res.outputs["approvals-counted"] == "25"  # every distinct human counted
    calls = [str(c) for c in gh_server.log]
    evaluation = len(calls)
    with capsys.disabled():
        print(f"\n{setup}: {evaluation} requests for the evaluation:\n  " + "\n  ".join(calls))
    for new_read in (
        r"/branches/main ",
        r"/activity\?",
        r"/commits/[0-9a-f]{40}/pulls\?",
        r"/commits/[0-9a-f]{40}/check-runs\?",
        r"/commits/[0-9a-f]{40}/statuses\?",
    ):
        assert len([c for c in calls if re.search(new_read, c)]) == 1, (new_read, calls)
    evaluation_budget, run_budget = (13, 15) if setup == "single" else (18, 20)
    assert evaluation <= evaluation_budget, calls
    # with the sticky comment (created on the first run, edited in place afterwards)
    for attempt in ("create", "update"):
        gh_server.reset_log()
        res = gate("pull_request_target", pr_event(pr), *argv)
        assert res.code == 0
        extra = [str(c) for c in gh_server.log][evaluation:]
        with capsys.disabled():
            print(
                f"{setup} + sticky comment ({attempt}): {len(gh_server.log)} requests; "
                "comment: " + ", ".join(extra)
            )
        # The whole run, comment included, stays within the budget: the sticky comment is
        # found in the snapshot, and only a create re-lists (recent comments only).
        assert len(gh_server.log) <= run_budget, extra
        listings = [c for c in extra if "/comments?" in c]
        assert len(listings) == (1 if attempt == "create" else 0), extra
    assert len([c for c in st.comments(pr) if c.user.login == "github-actions[bot]"]) == 1


# ------------------------------------------------------------- signed overrides

OVERRIDE_POLICY = POLICY_YML + "overrides:\n  namespace_domain: acme.example\n"
SIGNERS_PATH = ".github/gatekeeper/allowed_signers"


def signed_override(tmp_path: Path, pr: Pull, **fields: Any) -> tuple[str, str]:
    """(allowed_signers line, comment body) for an override signed with a fresh key."""
    import subprocess
    from datetime import UTC, datetime, timedelta

    from gatekeeper.classify import analyze
    from gatekeeper.overrides.message import OverrideMessage, render_message, sort_changes
    from gatekeeper.overrides.signer import format_comment
    from gatekeeper.plan.parse import parse_plan
    from gatekeeper.policy.load import parse_policy

    key = tmp_path / "alice_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    plan = parse_plan(Path(GATED_PLAN).read_bytes(), label=GATED_PLAN, path=GATED_PLAN)
    analysis = analyze([plan], parse_policy(OVERRIDE_POLICY, source="t"))
    now = datetime.now(UTC).replace(microsecond=0)
    m = OverrideMessage(
        repository=REPO,
        pull_request=pr.number,
        head_sha=pr.head_sha,
        plan_sha256=analysis.plan_digest,
        changes=sort_changes((c.change.action.value, c.change.address) for c in analysis.gated),
        approver="alice@acme.example",
        issued_at=now - timedelta(minutes=1),
        expires_at=now + timedelta(hours=1),
        reason="INC-4711 recreate the primary",
    )
    sig = subprocess.run(
        [
            "ssh-keygen",
            "-q",
            "-Y",
            "sign",
            "-n",
            "gatekeeper-override-v1@acme.example",
            "-f",
            str(key),
        ],
        input=render_message(m),
        capture_output=True,
        check=True,
    ).stdout.decode()
    line = f"alice@acme.example {(tmp_path / 'alice_key.pub').read_text().strip()}\n"
    return line, format_comment(m, sig)


def test_signed_override_allows(gh_server: GHServer, tmp_path: Path, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st, policy=OVERRIDE_POLICY)
    pr = agent_pr(st)
    line, body = signed_override(tmp_path, pr)
    st.put_content("main", SIGNERS_PATH, line)
    pr.base_sha = st.repo(REPO).branches["main"]
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1  # no override yet: blocked, and told how to sign
    (comment,) = st.comments(pr)
    shown = comment.body.replace(" \\\n    ", " ")  # the command is wrapped to fit
    assert f"gatekeeper sign --repo {REPO} --pr {pr.number} --plan" in shown
    st.add_comment(pr, "alice", body)
    report = tmp_path / "report.json"
    res = gate(
        "issue_comment",
        comment_event(pr),
        "--plan",
        GATED_PLAN,
        "--head-sha",
        pr.head_sha,
        "--report",
        str(report),
    )
    assert res.code == 0, res.out
    assert res.outputs["headline"] == (
        "allowed: a signed override by alice@acme.example covers 1 destructive production change"
    )
    doc = json.loads(report.read_text())
    assert doc["overrides"]["principals"] == ["alice@acme.example"]
    assert doc["overrides"]["accepted"][0]["reason"] == "INC-4711 recreate the primary"
    refs = {c.query["ref"][0] for c in gh_server.calls(r"/contents/")}
    assert refs == {pr.base_sha}  # policy and allowed_signers: base commit only


def test_signed_override_is_unavailable_when_the_trust_root_changes(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st, policy=OVERRIDE_POLICY)
    commit = {
        "message": "x",
        "author": "Copilot",
        "contents": {SIGNERS_PATH: "mallory@evil.example ssh-ed25519 AAAA\n"},
    }
    pr = st.add_pull(author="Copilot", commits=[commit])
    line, body = signed_override(tmp_path, pr)
    st.put_content("main", SIGNERS_PATH, line)
    pr.base_sha = st.repo(REPO).branches["main"]
    st.add_comment(pr, "alice", body)
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1
    assert "trust-root file changed by an agent" in res.outputs["headline"]
    assert gh_server.count(r"/contents/\.github/gatekeeper/allowed_signers") == 0


def test_override_without_allowed_signers_on_the_base(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st, policy=OVERRIDE_POLICY)
    pr = agent_pr(st)
    _, body = signed_override(tmp_path, pr)
    st.add_comment(pr, "alice", body)
    report = tmp_path / "report.json"
    res = gate(
        "pull_request",
        pr_event(pr),
        "--plan",
        GATED_PLAN,
        "--report",
        str(report),
    )
    assert res.code == 1
    doc = json.loads(report.read_text())
    assert doc["overrides"]["available"] is False
    assert "no allowed_signers file" in doc["overrides"]["unavailable_reason"]


# --------------------------------------------------------------------- more events


def test_closed_pr_is_skipped(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st, state="closed")
    res = gate(
        "pull_request_review",
        pr_event(pr, "pull_request_review.submitted.0.json"),
    )
    assert res.code == 0 and res.outputs["decision"] == "skipped"
    assert check_runs(st, pr.head_sha) == []


def test_workflow_dispatch_with_a_pr_number(
    gh_server: GHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr)
    doc = {"inputs": {}, "ref": "refs/heads/main", "repository": {"full_name": REPO}}
    res = gate(
        "workflow_dispatch",
        doc,
        env={"INPUT_PR-NUMBER": str(pr.number)},
    )
    assert res.code == 1 and res.outputs["pr-number"] == str(pr.number)
    assert "1 more approval needed from distinct humans" in res.outputs["headline"]


def test_merge_group_for_an_outdated_head_blocks(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    old = pr.head_sha
    st.push(pr, {"message": "later", "author": "op"})
    group_head = st.add_commit(REPO, message="merge group").sha
    doc = copy.deepcopy(hook("merge_group.checks_requested.0.json"))
    doc["repository"]["full_name"] = REPO
    doc["merge_group"]["head_sha"] = group_head
    doc["merge_group"]["head_ref"] = f"refs/heads/gh-readonly-queue/main/pr-{pr.number}-{old}"
    res = gate("merge_group", doc)
    assert res.code == 1 and "the merge group holds" in res.outputs["headline"]
    assert [r.conclusion for r in check_runs(st, group_head)] == ["failure"]


# ------------------------------------------------------- action.yml inputs/outputs


def test_action_inputs_plans_globs_labels_mode_report(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st, policy=POLICY_YML + "mode: advisory\n")
    pr = human_pr(st)
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "prod.json").write_bytes(Path(GATED_PLAN).read_bytes())
    (plans / "dev.json").write_bytes(Path(EMPTY_PLAN).read_bytes())
    report = tmp_path / "gatekeeper-report.json"
    env: dict[str, str | None] = {
        "INPUT_PLANS": f"{plans}/*.json\n",
        "INPUT_PLAN-LABELS": "production=*/prod.json\nscratch=*/dev.json",
        "INPUT_MODE": "enforce",  # stricter than the policy's advisory: wins
        "INPUT_REPORT": str(report),
        "INPUT_COMMENT": "off",
    }
    res = gate("pull_request", pr_event(pr), env=env)
    assert res.code == 1 and res.outputs["decision"] == "block"
    assert res.outputs["report-path"] == str(report)
    doc = json.loads(report.read_text())
    assert sorted(p["label"] for p in doc["plans"]) == ["production", "scratch"]
    assert doc["advisory"] is False
    assert st.comments(pr) == []
    # `advisory` cannot loosen an enforcing policy; here the policy is advisory: advisory
    env["INPUT_MODE"] = "advisory"
    res = gate("pull_request", pr_event(pr), env=env)
    assert res.code == 0 and res.outputs["decision"] == "block"


def test_errors_set_the_decision_output(gh_server: GHServer, tmp_path: Path, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    res = gate(
        "pull_request",
        pr_event(pr),
        env={"INPUT_PLANS": str(tmp_path / "missing-*.json")},
    )
    assert res.code == 2 and "matches no file" in res.err
    res = gate(
        "pull_request",
        pr_event(pr),
        "--plan",
        str(tmp_path / "nope.json"),
    )
    assert res.code == 2 and res.outputs["decision"] == "error"
    (run,) = check_runs(st, pr.head_sha)
    assert run.conclusion == "failure"


@pytest.mark.slow
def test_check_run_text_stays_within_githubs_limit_with_a_long_explanation() -> None:
    """The check run's text holds the diffs and the explanation; together they must fit in
    65,535 characters, or GitHub refuses the check run and the PR shows nothing."""
    from gatekeeper.gate.pipeline import Result
    from gatekeeper.gate.sections import Sections
    from gatekeeper.render.check_run import check_output
    from gatekeeper.render.layout import size_chars
    from gatekeeper.render.markdown import CHECK_LIMIT
    from tests.render.test_markdown import thousands_truncated

    s = thousands_truncated()
    assert s.view is not None
    explanation = tuple(f"@reviewer{i}: excluded, co-authored commit {i:040x}" for i in range(4000))
    title, summary, text = check_output(
        Result(s.analysis, s.decision, s.view, Sections(), explanation)
    )
    assert size_chars(text) <= CHECK_LIMIT and size_chars(summary) <= CHECK_LIMIT
    assert 0 < len(title) <= 255
    assert "<summary>Explanation</summary>" in text and text.endswith("</details>")
    assert "more lines: see the job summary" in text
    short = check_output(Result(s.analysis, s.decision, s.view, Sections(), explanation[:3]))[2]
    assert "reviewer2: excluded" in short and "more lines" not in short
    assert "@reviewer2" not in short  # mentions are neutralized, nobody gets pinged


# ------------------------------------------------------- fail-open paths (review findings)


def same_head_pr(st: State, pr: Pull, base_ref: str) -> Pull:
    """A second PR from `pr`'s head commit into another base branch (GitHub allows it)."""
    repo = st.repo(REPO)
    repo.branches.setdefault(base_ref, pr.base_sha)
    other = st.add_pull(author=pr.user.login, head_ref=pr.head_ref + "-2", base_ref=base_ref)
    other.head_sha, other.head_ref, other.commits = pr.head_sha, pr.head_ref, list(pr.commits)
    other.files = list(pr.files)
    return other


def test_split_setup_ignores_the_plan_run_of_another_pr_with_the_same_head(
    gh_server: GHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, gate: Runner
) -> None:
    """An agent opens a second PR from the same head into another base (whose plan workflow
    may differ) and lets its plan run upload an empty plan: it must not stand for PR #1."""
    st = gh_server.state
    base_repo(st)
    pr = agent_pr(st)
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr)  # the honest run: gated
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 1 and "for 1 destructive production change" in res.outputs["headline"]
    other = same_head_pr(st, pr, "other")
    # like a fork PR, the run lists no pull request; the bundle names PR #2 into `other`
    upload_bundle(
        gh_server, tmp_path, monkeypatch, capsys, other, plan=EMPTY_PLAN, pull_requests=[]
    )
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 1 and res.outputs["decision"] == "block", res.outputs
    assert res.outputs["headline"].startswith(f"blocked: plan pending for {pr.head_sha}")
    assert (
        f"made for PR #{other.number} into 'other', not PR #{pr.number} into 'main'"
        in (res.outputs["headline"])
    )
    # a same-repository run lists both PRs (same head): it cannot be told which one it was
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, other, plan=EMPTY_PLAN)
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 1 and "cannot be told which one it planned" in res.outputs["headline"]
    assert [r.conclusion for r in check_runs(st, pr.head_sha)] == ["failure"] * 3
    # PR #2's own gate does not take PR #1's run either
    res = gate("pull_request_target", pr_event(other))
    assert res.code == 1 and res.outputs["decision"] == "block"


def test_split_setup_fork_run_is_used_when_its_bundle_names_the_pr(
    gh_server: GHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    st.add_review(pr, "alice")
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr, pull_requests=[])
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 0, res.outputs
    assert "1 destructive production change approved by" in res.outputs["headline"]


def test_stale_digest_does_not_carry_approvals_over_a_trust_root_push(
    gh_server: GHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st, policy=POLICY_YML + "approvals:\n  stale: digest\n")
    pr = agent_pr(st)
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr)
    st.add_review(pr, "alice")
    st.add_review(pr, "bob")
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 0
    # a push with the same plan: the digest carries both approvals over
    st.push(pr, {"message": "docs", "author": "Copilot", "contents": {"README.md": "hi\n"}})
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr)
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 0, res.outputs
    # the agent now rewrites the gate's own policy; the plan is the same
    st.push(
        pr,
        {
            "message": "tweak",
            "author": "Copilot",
            "contents": {".github/gatekeeper.yml": "mode: advisory\n"},
        },
    )
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr)
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 1 and res.outputs["decision"] == "block", res.outputs
    assert res.outputs["approvals-counted"] == "0"
    assert "stale: digest does not apply: this PR changes the trust root" in res.out


def test_stale_digest_does_not_carry_approvals_when_the_plan_job_changes(
    gh_server: GHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, gate: Runner
) -> None:
    """The reviewer's scenario: policy and plan workflow rewritten in one push."""
    st = gh_server.state
    base_repo(st, policy=POLICY_YML + "approvals:\n  stale: digest\n")
    pr = agent_pr(st)
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr)
    st.add_review(pr, "alice")
    st.add_review(pr, "bob")
    contents = {".github/gatekeeper.yml": "mode: advisory\n", ".github/workflows/plan.yml": "x\n"}
    st.push(pr, {"message": "tweak", "author": "Copilot", "contents": contents})
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr)
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 1 and res.outputs["decision"] == "block", res.outputs


def test_configured_policy_path_must_exist(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st, policy=POLICY_YML + "approvals:\n  human_authored: 3\n")
    pr = human_pr(st)
    st.add_review(pr, "alice")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1  # the base policy: 3 needed
    res = gate(
        "pull_request",
        pr_event(pr),
        "--plan",
        GATED_PLAN,
        env={"INPUT_CONFIG": ".github/<b>@acme/sre</b>.yml"},
    )
    assert res.code == 2 and res.outputs["decision"] == "error", res.outputs
    assert "the configured policy file does not exist on the default branch" in res.err
    run = check_runs(st, pr.head_sha)[-1]
    assert run.conclusion == "failure" and run.output["title"].startswith("error:")
    # the message quotes the input: escaped in the check run's Markdown
    assert "<b>" not in run.output["summary"] and "&lt;b&gt;" in run.output["summary"]
    assert "@acme" not in run.output["summary"]
    # the default path, named explicitly, is read as before
    res = gate(
        "pull_request",
        pr_event(pr),
        "--plan",
        GATED_PLAN,
        env={"INPUT_CONFIG": ".github/gatekeeper.yml"},
    )
    assert res.code == 1


def test_the_default_policy_path_may_be_absent(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    st.add_repo(REPO, files={"main.tf": "# base\n"})
    st.add_user("op")
    st.set_permission("op", "write")
    pr = human_pr(st)
    res = gate("pull_request", pr_event(pr), "--plan", EMPTY_PLAN)
    assert res.code == 0, res.err


def test_error_summary_escapes_the_message(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st, policy="approvals:\n  agent_authored: '<img src=x>@acme/sre'\n")
    pr = human_pr(st)
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 2
    (run,) = check_runs(st, pr.head_sha)
    assert run.conclusion == "failure"
    assert "<img" not in run.output["summary"] and "&lt;img" in run.output["summary"]
    assert "@acme" not in run.output["summary"]


def test_a_block_that_cannot_be_posted_fails_the_job_loudly(
    gh_server: GHServer, gate: Runner
) -> None:
    """An approval is dismissed, the check run cannot be posted: the check still shows the
    earlier success, so the job must fail and say so (even in advisory mode)."""
    st = gh_server.state
    base_repo(st, policy=POLICY_YML + "mode: advisory\napprovals:\n  human_authored: 2\n")
    pr = human_pr(st)
    r = st.add_review(pr, "alice")
    st.add_review(pr, "bob")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 0
    st.dismiss_review(r)
    gh_server.faults.error(r"/check-runs$", 403, method="POST", times=100)
    ev = pr_event(pr, "pull_request_review.submitted.0.json")
    ev["action"] = "dismissed"
    res = gate("pull_request_review", ev, "--plan", GATED_PLAN)
    assert [c.conclusion for c in check_runs(st, pr.head_sha)] == ["success"]
    assert res.code == 1, res.err
    assert res.outputs["decision"] == "block"
    assert "could not post the neutral check run" in res.err
    assert "may still show an earlier result" in res.err


def test_an_allow_that_cannot_be_posted_is_only_a_warning(
    gh_server: GHServer, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    st.add_review(pr, "alice")
    gh_server.faults.error(r"/check-runs$", 403, method="POST", times=100)
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 0 and "warning: could not post the check run" in res.err


def test_a_bug_still_turns_the_check_red(
    gh_server: GHServer, monkeypatch: pytest.MonkeyPatch, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    st.add_review(pr, "alice")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 0

    def boom(*args: Any, **kw: Any) -> Any:
        raise RuntimeError("boom\n::add-mask::x")

    monkeypatch.setattr(pipeline, "assess", boom)
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 3
    assert "internal error (a bug): RuntimeError: boom" in res.err
    assert [c.conclusion for c in check_runs(st, pr.head_sha)] == ["success", "failure"]
    run = check_runs(st, pr.head_sha)[-1]
    assert run.output["title"].startswith("error: internal error (a bug): RuntimeError")
    assert "\n" not in run.output["title"]
    assert res.outputs["decision"] == "error"


def test_split_setup_with_unlisted_changed_files_distrusts_the_plan_job(
    gh_server: GHServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any, gate: Runner
) -> None:
    """GitHub lists at most 3000 changed files: an unseen one may be a workflow, so the plan
    artifact is not trusted, whoever wrote the PR."""
    from tests.ghserver.state import FileChange

    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr, plan=EMPTY_PLAN)
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 0
    pr.files = [FileChange(f"modules/m{i}.tf") for i in range(3001)]
    res = gate("pull_request_target", pr_event(pr))
    assert res.code == 1 and "1 gated condition" in res.outputs["headline"], res.outputs
    assert "GitHub lists only 3000" in res.out


def test_an_approval_from_outside_the_repository_does_not_count(
    gh_server: GHServer, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    st.add_user("sockpuppet")  # no permission on the repository: author_association NONE
    pr = agent_pr(st)
    st.add_review(pr, "alice")
    st.add_review(pr, "sockpuppet")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1, res.outputs
    assert "@sockpuppet excluded, not a collaborator" in res.outputs["headline"]
    assert "author_association NONE" in res.out
    # the policy can opt out (e.g. a private repository where every reader is trusted)
    opt_out = POLICY_YML + "approvals:\n  require_association: false\n"
    st.put_content(pr.base_sha, ".github/gatekeeper.yml", opt_out)
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 0, res.outputs


def test_log_lines_cannot_carry_workflow_commands(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    """Resource keys are untrusted text: a newline in one must not start a new log line,
    where the runner would read `::add-mask::` or `::stop-commands::`."""
    from tests.helpers import rc, show_json

    key = "x\n::stop-commands::pwned\r\n  ::add-mask::secret"
    plan = tmp_path / "evil.json"
    prod = {"env": "prod"}
    plan.write_bytes(
        show_json(rc(f'null_resource.db["{key}"]', ["delete"], before={"triggers": prod}))
    )
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    res = gate("pull_request", pr_event(pr), "--plan", str(plan))
    assert res.code == 1, res.err
    lines = (res.out + res.err).splitlines()
    assert not [x for x in lines if x.lstrip().startswith("::")], lines
    (shown,) = [x for x in lines if "::stop-commands::pwned" in x]
    assert shown.startswith("  gated change: delete null_resource.db[")
    assert "x\\n::stop-commands::pwned" in shown and "::add-mask::secret" in shown


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("::error::x", "\\x3a:error::x"),
        ("  ::add-mask::x", "  \\x3a:add-mask::x"),
        ("a\n::stop-commands::t", "a\\n::stop-commands::t"),
        ("fine: ::not at the start", "fine: ::not at the start"),
    ],
)
def test_say_escapes_each_log_line(
    text: str, shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    gate_cmd.say(text)
    gate_cmd.say(text, err=True)
    out = capsys.readouterr()
    assert out.out == shown + "\n" and out.err == shown + "\n"


@pytest.mark.parametrize("lead", ["\t", " \u00a0", "\u2028", "\x1c", "\r", "\x0b\x0c"])
def test_no_log_line_starts_with_a_workflow_command(
    lead: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whitespace (any, as the runner trims it) before `::` does not make a command."""
    gate_cmd.say(lead + "::add-mask::x")
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1  # the runner splits lines at \n
    assert not out.lstrip().startswith("::") and "add-mask::x" in out


# ------------------------------------------------- a matrix of plan jobs (issue 16)


def leg_bundle(gate: Runner, tmp_path: Path, pr: Pull, name: str, *argv: str) -> bytes:
    """A matrix leg's `gatekeeper gate --bundle-out DIR ...` on the pull_request event, in the
    job `plan` (GITHUB_JOB); returns the bundle it wrote."""
    out_dir = tmp_path / f"leg-{name}"
    res = gate(
        "pull_request",
        pr_event(pr),
        *argv,
        "--bundle-out",
        str(out_dir),
        env={"GITHUB_TOKEN": None, "GITHUB_JOB": "plan"},
    )
    assert res.code == 0, res.err
    return (out_dir / "gatekeeper-bundle.json").read_bytes()


def test_matrix_leg_writes_its_label_marker_and_matrix(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = agent_pr(st)
    doc = json.loads(
        leg_bundle(gate, tmp_path, pr, "dns", "--no-plan", "dns", "--matrix-legs", "3")
    )
    assert (doc["plans"], doc["no_plan"]) == ([], "dns")
    assert doc["matrix"] == {"job": "plan", "legs": 3}
    assert (doc["pr_number"], doc["head_sha"]) == (pr.number, pr.head_sha)
    assert gh_server.count() == 0  # the plan job never calls the API

    res = gate(
        "pull_request", pr_event(pr), "--plan", GATED_PLAN, "--no-plan", "x",
        "--bundle-out", str(tmp_path / "bad"), env={"GITHUB_TOKEN": None},
    )  # fmt: skip
    assert res.code == 2 and "--no-plan and plans exclude each other" in res.err
    res = gate(
        "pull_request", pr_event(pr), "--plan", GATED_PLAN, "--matrix-legs", "3",
        "--bundle-out", str(tmp_path / "bad"), env={"GITHUB_TOKEN": None, "GITHUB_JOB": None},
    )  # fmt: skip
    assert res.code == 2 and "GITHUB_JOB" in res.err
    assert "Traceback" not in res.err


def test_matrix_leg_through_the_action_inputs(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    """examples/plan-matrix.yml's legs use the action: `plans` or `no-plan`, `matrix-legs`
    and `bundle-out` as inputs write the same bundle fields as the flags."""
    st = gh_server.state
    base_repo(st)
    pr = agent_pr(st)
    for name, inputs, want in (
        ("db", {"INPUT_PLANS": f"db={GATED_PLAN}"}, (["db"], None)),
        ("dns", {"INPUT_NO-PLAN": "dns"}, ([], "dns")),
    ):
        out_dir = tmp_path / f"inputs-{name}"
        env = {"GITHUB_TOKEN": None, "GITHUB_JOB": "plan", "INPUT_MATRIX-LEGS": "3"}
        res = gate(
            "pull_request",
            pr_event(pr),
            env={**env, **inputs, "INPUT_BUNDLE-OUT": str(out_dir)},
        )
        assert res.code == 0, res.err
        doc = json.loads((out_dir / "gatekeeper-bundle.json").read_bytes())
        assert ([p["label"] for p in doc["plans"]], doc.get("no_plan")) == want
        assert doc["matrix"] == {"job": "plan", "legs": 3}
    assert gh_server.count() == 0  # the plan job never calls the API
    res = gate(
        "pull_request",
        pr_event(pr),
        env={"GITHUB_TOKEN": None, "GITHUB_JOB": "plan", "INPUT_MATRIX-LEGS": "three",
             "INPUT_NO-PLAN": "dns", "INPUT_BUNDLE-OUT": str(tmp_path / "bad")},
    )  # fmt: skip
    assert res.code == 2 and "matrix-legs input is 'three'" in res.err


def test_matrix_with_a_leg_that_uploaded_nothing_is_never_decided(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    """Two of three legs uploaded a bundle, and the run says success: plan pending, never a
    decision on two thirds of the matrix; the missing leg's marker completes it."""
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    legs = ("--matrix-legs", "3")
    run = st.add_workflow_run(pr.head_sha)
    for stack, plan in (("db", GATED_PLAN), ("net", EMPTY_PLAN)):
        data = leg_bundle(gate, tmp_path, pr, stack, "--plan", f"{stack}={plan}", *legs)
        st.add_artifact(run, f"gatekeeper-plan-{stack}", {"gatekeeper-bundle.json": data})
        st.add_job(run, f"plan ({stack})")
    st.add_job(run, "plan (dns)")
    with_pattern = {"INPUT_ARTIFACT-NAME": "gatekeeper-plan-*"}
    res = gate("pull_request_target", pr_event(pr), env=with_pattern)
    assert res.code == 1, res.out
    assert "matrix job 'plan' has 3 legs and 2 plan bundles" in res.outputs["headline"]
    assert res.outputs["plan-digest"] == ""

    marker = leg_bundle(gate, tmp_path, pr, "dns", "--no-plan", "dns", *legs)
    st.add_artifact(run, "gatekeeper-plan-dns", {"gatekeeper-bundle.json": marker})
    gh_server.reset_log()
    res = gate("pull_request_target", pr_event(pr), env=with_pattern)
    assert res.code == 1 and res.outputs["gated-count"] == "1", res.out
    assert res.outputs["headline"].startswith("blocked: 1 more approval needed"), res.outputs
    assert gh_server.count(r"/actions/artifacts/\d+/zip$") == 3
    assert gh_server.count(r"/actions/runs/\d+/jobs") == 1


def test_leg_options_need_bundle_out(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = human_pr(st)
    res = gate("pull_request_target", pr_event(pr), "--no-plan", "dns")
    assert res.code == 2 and "they need --bundle-out DIR" in res.err
    assert gh_server.count() == 0
