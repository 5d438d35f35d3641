"""The forgeries of issue 10, each as an agent holding its operator's token would try them,
end to end through `gatekeeper gate` and the local GitHub server (real HTTP, every response
checked against GitHub's OpenAPI description). Each must end with a red check whose
explanation names the cause; the controls (two genuine humans, a genuine signed override)
must still allow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.gate.test_gate_command import (
    GATED_PLAN,
    OVERRIDE_POLICY,
    SIGNERS_PATH,
    Runner,
    _fast,
    check_runs,
    comment_event,
    gate,
    signed_override,
    upload_bundle,
)
from tests.ghserver import GHServer
from tests.ghserver.state import Pull, State
from tests.support.scenes import POLICY_YML, REPO, agent_pr, base_repo, pr_event

__all__ = ["_fast", "gate"]  # the fixtures of test_gate_command, used here

STRICT = POLICY_YML + "approvals:\n  human_authored: 2\n"
LAX = "mode: advisory\napprovals:\n  agent_authored: 0\n  human_authored: 0\n"


def agent_branch(st: State, name: str, files: dict[str, str]) -> str:
    """A branch the agent pushed (it may push any branch but the protected default)."""
    r = st.repo(REPO)
    c = st.add_commit(
        r, message="my rules", author="op", parents=[r.branches["main"]], contents=files
    )
    r.branches[name] = c.sha
    return c.sha


def report(tmp_path: Path) -> dict[str, Any]:
    import jsonschema

    from gatekeeper.render.report import report_schema

    doc: dict[str, Any] = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(doc, report_schema())
    return doc


# ------------------------------------------------------ 1. a base branch the agent controls


def test_a_permissive_base_branch_does_not_relax_the_policy(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    evil = agent_branch(st, "relaxed", {".github/gatekeeper.yml": LAX})
    pr = agent_pr(st, base_ref="relaxed")
    assert pr.base_sha == evil
    res = gate(
        "pull_request",
        pr_event(pr),
        "--plan",
        GATED_PLAN,
        "--report",
        str(tmp_path / "report.json"),
    )
    assert res.code == 1, res.out
    (run,) = check_runs(st, pr.head_sha)
    assert run.conclusion == "failure"  # not neutral: the base's `mode: advisory` is ignored
    assert "2 more approvals needed from distinct humans" in res.outputs["headline"]
    main = st.repo(REPO).branches["main"]
    refs = {c.query["ref"][0] for c in gh_server.calls(r"/contents/")}
    assert refs == {main}  # the trust root: the default branch's head, never the PR's base
    doc = report(tmp_path)
    assert doc["pull_request"]["trust_root"]["sha"] == main
    assert doc["pull_request"]["trust_root"]["branch"] == "main"
    (me,) = doc["head"]["pull_requests"]
    assert me == {
        "number": pr.number,
        "base_ref": "relaxed",
        "protected": False,
        "decision": "block",
        "headline": res.outputs["headline"],
    }


def test_a_key_in_the_base_branchs_allowed_signers_counts_for_nothing(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st, policy=OVERRIDE_POLICY)
    pr = agent_pr(st)
    line, body = signed_override(tmp_path, pr)
    # the agent's key, on a branch of its own, and the PR moved onto it
    evil = agent_branch(st, "mine", {SIGNERS_PATH: line + "\n"})
    pr.base_ref, pr.base_sha = "mine", evil
    st.add_comment(pr, "alice", body)
    res = gate("issue_comment", comment_event(pr), "--plan", GATED_PLAN, "--head-sha", pr.head_sha)
    assert res.code == 1, res.out
    assert "signed override" not in res.outputs["headline"]
    assert "allowed_signers" in res.out  # explained: none on the default branch


def test_two_prs_one_head_the_check_is_the_strictest(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    """Two humans approve the head on a PR into the agent's branch; the PR into main, with
    the same head, has no approval. One check on the head: it must stay red."""
    st = gh_server.state
    base_repo(st)
    agent_branch(st, "side", {"README": "side\n"})
    into_main = agent_pr(st)
    side = st.add_pull(
        author="Copilot",
        head_ref=into_main.head_ref,
        base_ref="side",
        commits=[st.repo(REPO).commits[s] for s in into_main.commits],
    )
    assert side.head_sha == into_main.head_sha
    st.add_review(side, "alice")
    st.add_review(side, "carol")
    path = str(tmp_path / "report.json")
    res = gate("pull_request", pr_event(side), "--plan", GATED_PLAN, "--report", path)
    assert res.code == 1, res.out
    headline = res.outputs["headline"]
    assert f"(PR #{into_main.number} into main, same head commit)" in headline
    assert [r.conclusion for r in check_runs(st, side.head_sha)] == ["failure"]
    doc = report(tmp_path)
    assert doc["head"]["decided_by"] == into_main.number
    prs = {p["number"]: p for p in doc["head"]["pull_requests"]}
    assert prs[side.number]["decision"] == "allow" and prs[side.number]["protected"] is False
    assert prs[into_main.number]["decision"] == "block" and prs[into_main.number]["protected"]
    assert f"PR #{side.number} into side: allowed" in res.out  # each PR named in the log
    # the event of the PR into main says the same
    res = gate("pull_request", pr_event(into_main), "--plan", GATED_PLAN)
    assert res.code == 1
    assert [r.conclusion for r in check_runs(st, side.head_sha)] == ["failure", "failure"]


def test_protected_branches_globs_add_release_branches(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st, policy=POLICY_YML + "protected_branches: ['release/*']\n")
    agent_branch(st, "release/1.0", {"README": "r\n"})
    pr = agent_pr(st, base_ref="release/1.0")
    st.add_review(pr, "alice")
    st.add_review(pr, "carol")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 0, res.out  # a protected base is judged like main: two humans allow


# ------------------------------------------------------- 2. a rival check on the head


def _two_humans(st: State) -> Pull:
    pr = agent_pr(st)
    st.add_review(pr, "alice")
    st.add_review(pr, "carol")
    return pr


def test_a_rival_check_run_from_another_workflow_is_tampering(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = _two_humans(st)
    # any workflow's GITHUB_TOKEN posts as GitHub Actions: a `gatekeeper` success of its own
    st.add_check_run(pr.head_sha, "gatekeeper", conclusion="success")
    res = gate(
        "pull_request",
        pr_event(pr),
        "--plan",
        GATED_PLAN,
        "--report",
        str(tmp_path / "report.json"),
    )
    assert res.code == 1, res.out
    assert res.outputs["headline"].startswith(
        "blocked: tampering: a 'gatekeeper' check run on this commit was not posted by the gate"
    )
    assert "another workflow" in res.outputs["headline"]
    runs = check_runs(st, pr.head_sha)
    assert runs[-1].conclusion == "failure" and runs[-1].app.id == 15368
    assert runs[-1].output["summary"].startswith("> [!CAUTION]")
    (comment,) = st.comments(pr)
    marker, first = comment.body.split("\n\n", 1)
    assert marker.startswith("<!-- gatekeeper:sticky:")  # the hidden marker, then the notice
    assert first.startswith("> [!CAUTION]\n> **Tampering")  # shown first
    (t,) = report(tmp_path)["head"]["tampering"]
    assert t["kind"] == "check run" and t["creator"].startswith("app 15368 (github-actions)")
    assert "external_id" in t["why"]


def test_the_gates_own_earlier_check_runs_are_not_tampering(
    gh_server: GHServer, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    pr = _two_humans(st)
    assert gate("pull_request", pr_event(pr), "--plan", GATED_PLAN).code == 0
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 0, res.out  # control: two genuine distinct humans on the head
    assert [r.conclusion for r in check_runs(st, pr.head_sha)] == ["success", "success"]


def _gate_app(st: State) -> tuple[Any, str]:
    app = st.add_app("acme-gatekeeper", name="Acme Gatekeeper")
    token = "ghs_acmegatekeeperapptoken00000000000"
    st.add_token(token, "acme-gatekeeper[bot]", app=app)
    return app, token


def test_with_the_gates_app_a_check_run_of_any_other_app_is_tampering(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    st = gh_server.state
    app, token = _gate_app(st)
    base_repo(st, policy=POLICY_YML + f"identity:\n  app_id: {app.id}\n")
    pr = _two_humans(st)
    env = {"GITHUB_TOKEN": token, "INPUT_COMMENT-LOGIN": "acme-gatekeeper[bot]"}
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN, env=env)
    assert res.code == 0, res.out  # the App's own runs are the gate's
    rival = st.add_app("helpful-ci")
    st.add_check_run(pr.head_sha, "gatekeeper", conclusion="success", app=rival)
    st.add_check_run(pr.head_sha, "gatekeeper", conclusion="success")  # a GITHUB_TOKEN run
    path = str(tmp_path / "report.json")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN, "--report", path, env=env)
    assert res.code == 1, res.out
    assert "tampering" in res.outputs["headline"] and "1 more" in res.outputs["headline"]
    creators = sorted(t["creator"] for t in report(tmp_path)["head"]["tampering"])
    assert creators == sorted(["app 15368 (github-actions)", f"app {rival.id} (helpful-ci)"])
    assert check_runs(st, pr.head_sha)[-1].app is app


def test_a_gatekeeper_status_by_anyone_is_tampering(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = _two_humans(st)
    st.add_status(pr.head_sha, "success", "gatekeeper", creator="op")  # the operator's PAT
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1
    assert (
        "'gatekeeper' commit status" in res.outputs["headline"] and "@op" in res.outputs["headline"]
    )


def test_the_gates_own_status_is_not_tampering(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = _two_humans(st)
    assert gate("pull_request", pr_event(pr), "--plan", GATED_PLAN, "--commit-status").code == 0
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN, "--commit-status")
    assert res.code == 0, res.out
    # ... but a gate that posts no status calls its own old one a stranger's
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1 and "posts no commit status" in res.out


# ------------------------------------------------- 3. a human co-author, corporate email


def test_a_human_co_author_with_a_corporate_email_does_not_count(
    gh_server: GHServer, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    st.add_user("olga", name="Olga Petrova")
    st.set_permission("olga", "write")
    commit = {
        "message": "Recreate the database",
        "author": "Copilot",
        "trailers": {"Co-authored-by": "olga <olga@acme.example>"},
        "contents": {"main.tf": "# x\n"},
    }
    pr = st.add_pull(author="Copilot", head_ref="copilot/db", commits=[commit])
    st.add_review(pr, "olga")
    st.add_review(pr, "alice")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1, res.out
    assert "@olga excluded, co-authored the commits" in res.outputs["headline"]
    assert res.outputs["approvals-counted"] == "1"


# -------------------------------------------------- 4. a push onto a colleague's PR


def test_whoever_pushed_onto_a_colleagues_pr_is_an_operator(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st, policy=STRICT)
    st.add_user("dave")
    st.add_user("olga")
    for who in ("dave", "olga"):
        st.set_permission(who, "write")
    pr = st.add_pull(author="dave", commits=[{"message": "tidy", "author": "dave"}])
    # with olga's token the agent pushes a commit under dave's git identity
    st.push(pr, {"message": "Recreate the database", "author": "dave"}, pusher="olga")
    st.add_review(pr, "olga")
    st.add_review(pr, "alice")
    path = str(tmp_path / "report.json")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN, "--report", path)
    assert res.code == 1, res.out
    assert "@olga excluded, pushed to the head branch" in res.outputs["headline"]
    ops = {o["login"]: o["roles"] for o in report(tmp_path)["authorship"]["operators"]}
    assert ops["olga"] == ["pushed to the head branch"]
    assert gh_server.calls(r"/activity")[0].query["ref"] == [f"refs/heads/{pr.head_ref}"]


def test_pushers_that_cannot_be_read_block(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = _two_humans(st)
    gh_server.faults.respond(
        r"/activity$", 403, {"message": "Resource not accessible by integration"}, times=10
    )
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1, res.out
    assert (
        "the accounts that pushed to copilot/recreate-db cannot be read" in res.outputs["headline"]
    )
    assert "forbidden (403)" in res.outputs["headline"]


def test_a_push_by_a_deleted_account_blocks(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = _two_humans(st)
    st.add_activity(REPO, pr.head_ref, pr.base_sha, pr.head_sha, "force_push", None)
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1, res.out
    assert "has no actor (deleted account)" in res.outputs["headline"]


def test_checks_or_statuses_that_cannot_be_listed_block(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = _two_humans(st)
    for path in (r"/statuses$", r"/commits/[0-9a-f]+/check-runs$", r"/commits/[0-9a-f]+/pulls$"):
        gh_server.faults.respond(path, 403, {"message": "Resource not accessible"}, times=10)
        res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
        assert res.code == 1, (path, res.out)
        assert res.outputs["headline"].startswith(
            "blocked: the head commit's other PRs and checks cannot be read"
        ), res.outputs["headline"]
        gh_server.faults.clear()
    assert {r.conclusion for r in check_runs(st, pr.head_sha)} == {"failure"}


def test_a_fork_counts_its_owner_and_the_author_as_pushers(
    gh_server: GHServer, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st)
    fork = st.add_repo("alice/infra")
    pr = st.add_pull(
        REPO,
        author="op",
        head_repo=fork,
        commits=[{"message": "x", "author": "op"}],
    )
    st.add_review(pr, "alice")  # the fork's owner: could push to its branch
    res = gate("pull_request_target", pr_event(pr), "--plan", GATED_PLAN)
    assert res.code == 1, res.out
    assert "@alice excluded, pushed to the head branch" in res.outputs["headline"]
    assert gh_server.calls(r"/activity") == []  # not this repository's pushes


# --------------------------------------------------------------- 5. malformed counts


def _pull_json(srv: GHServer, pr: Pull) -> dict[str, Any]:
    got = requests.get(
        f"{srv.url}/repos/{REPO}/pulls/{pr.number}",
        headers={"Authorization": f"token {srv.bot_token}"},
        timeout=10,
    )
    doc: dict[str, Any] = got.json()
    return doc


def test_a_pr_object_without_integer_counts_fails_closed(gh_server: GHServer, gate: Runner) -> None:
    st = gh_server.state
    base_repo(st)
    pr = _two_humans(st)
    for field, value in (("commits", None), ("changed_files", "3000")):
        doc = _pull_json(gh_server, pr)
        if value is None:
            del doc[field]
        else:
            doc[field] = value
        gh_server.faults.respond(rf"/pulls/{pr.number}$", 200, doc, method="GET", times=100)
        res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN)
        assert res.code == 1, res.out
        assert f"{field} is not a int" in res.outputs["headline"]
        gh_server.faults.clear()
    assert [r.conclusion for r in check_runs(st, pr.head_sha)] == ["failure", "failure"]


# ------------------------------------------------------------------ controls


def test_a_genuine_signed_override_by_a_key_on_the_default_branch_allows(
    gh_server: GHServer, tmp_path: Path, gate: Runner
) -> None:
    st = gh_server.state
    base_repo(st, policy=OVERRIDE_POLICY)
    pr = agent_pr(st)
    line, body = signed_override(tmp_path, pr)
    # added to main after the PR was opened: the PR's base commit does not have it
    st.add_commit(
        st.repo(REPO),
        message="allow alice",
        author="carol",
        parents=[st.repo(REPO).branches["main"]],
        contents={SIGNERS_PATH: line + "\n"},
    )
    r = st.repo(REPO)
    r.branches["main"] = list(r.commits)[-1]
    assert st.get_content(pr.base_sha, SIGNERS_PATH) is None
    st.add_comment(pr, "alice", body)
    res = gate("issue_comment", comment_event(pr), "--plan", GATED_PLAN, "--head-sha", pr.head_sha)
    assert res.code == 0, res.out
    assert res.outputs["headline"].startswith(
        "allowed: a signed override by alice@acme.example covers 1 destructive production change"
    )


# ------------------------------------------------- the cost of one check per head


@pytest.mark.parametrize("setup", ["single", "split"])
def test_request_count_with_one_and_five_prs_sharing_a_head(
    gh_server: GHServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
    gate: Runner,
    setup: str,
) -> None:
    """Requests per evaluation with 1 and with 5 open PRs (into main and release/1..4, all
    protected) sharing one head: every other protected PR costs its snapshot (PR, commits,
    reviews, comments, files: 5) and, in the split setup, its plan bundle (5: runs, artifacts,
    the run's jobs, the download's redirect and blob); the trust root,
    the pushers of the shared head branch and the head's checks are read once.
    Run with -s to see the counts (the issue's note quotes them)."""
    st = gh_server.state
    base_repo(st, policy=POLICY_YML + "protected_branches: ['release/*']\n")
    first = agent_pr(st)
    prs = [first]
    for i in range(1, 5):
        agent_branch(st, f"release/{i}", {"README": f"{i}\n"})
        prs.append(
            st.add_pull(
                author="Copilot",
                head_ref=first.head_ref,
                base_ref=f"release/{i}",
                commits=[st.repo(REPO).commits[s] for s in first.commits],
            )
        )
    for pr in prs:
        st.add_review(pr, "alice")
        st.add_review(pr, "carol")
    argv: tuple[str, ...] = ("--plan", GATED_PLAN)
    counts: dict[int, int] = {}
    for n in (1, 5):
        for pr in prs[n:]:
            pr.state = "closed"  # the other PRs are not open for the 1-PR count
        for pr in prs[:n]:
            pr.state = "open"
        if setup == "split":
            st.repo(REPO).workflow_runs.clear()
            for pr in prs[:n]:
                upload_bundle(gh_server, tmp_path, monkeypatch, capsys, pr, pull_requests=[pr])
            argv = ()
        gh_server.reset_log()
        res = gate("pull_request_target", pr_event(first), *argv, "--no-comment")
        assert res.code == 0, res.out
        counts[n] = len(gh_server.log)
        with capsys.disabled():
            print(f"\n{setup}: {n} PR(s) sharing a head: {counts[n]} requests per evaluation")
    per_pr = 5 if setup == "single" else 10
    assert counts[5] == counts[1] + 4 * per_pr, counts
