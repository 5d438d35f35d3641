"""End to end: the action's real entrypoint, driven as the Actions runner drives it.

Each step runs the exact container command (`gatekeeper gate`: the Dockerfile's ENTRYPOINT plus
action.yml's `runs.args`) as a subprocess with the environment a runner sets for a Docker action
(INPUT_* from action.yml, GITHUB_*, an event file shaped like GitHub's webhook payloads, empty
GITHUB_OUTPUT and GITHUB_STEP_SUMMARY files), against the local GitHub test server
(tests/ghserver). The setup is the hardened split of examples/plan.yml + examples/gate.yml: the
untrusted plan job's own command (`gatekeeper gate --plan ... --bundle-out DIR`) makes the plan
bundle, which the test server serves as the `gatekeeper-plan` artifact of a successful
`.github/workflows/plan.yml` run for the PR head. The policy lives on the base branch.

The plan is fixtures/terraform/replace_prod_db/plan.json (real Terraform 1.0.3): it replaces
`module.prod_db.null_resource.primary`, tagged env=prod in its `triggers`.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.actions_runner import Events, StepResult, StepRunner, local_gatekeeper
from tests.ghserver import GHServer
from tests.ghserver.state import Pull, State

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "terraform"
DB_PLAN = FIXTURES / "replace_prod_db" / "plan.json"
NO_CHANGES_PLAN = FIXTURES / "no_changes" / "plan.json"
DB_ADDRESS = "module.prod_db.null_resource.primary"
REPO = "acme/infra"
POLICY_PATH = ".github/gatekeeper.yml"
SIGNERS_PATH = ".github/gatekeeper/allowed_signers"
POLICY = """\
version: 1
production:
  tag_attributes: [triggers]
approvals:
  agent_authored: 2
  human_authored: 1
overrides:
  allowed_signers: .github/gatekeeper/allowed_signers
  namespace_domain: acme.example
"""
# examples/gate.yml's step: `with:` as written there.
GATE_WITH = {"plan-workflow": ".github/workflows/plan.yml", "config": POLICY_PATH}


@dataclass
class World:
    srv: GHServer
    st: State
    runner: StepRunner
    events: Events
    tmp: Path
    signer_key: Path
    with_: dict[str, str] = field(default_factory=dict)  # the gate step's extra `with:`

    # ------------------------------------------------------------------ scenario steps
    def bundle(self, head_sha: str, plan: Path) -> dict[str, bytes]:
        """The plan job: `gatekeeper gate --plan PLAN --bundle-out DIR` on a pull_request
        event, run from the same console script; returns the uploaded files."""
        out = self.tmp / f"bundle-{head_sha[:12]}-{plan.parent.name}"
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.tmp),
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_OUTPUT": str(self.tmp / "plan-job-output"),
        }
        proc = subprocess.run(
            [
                local_gatekeeper(),
                "gate",
                "--plan",
                str(plan),
                "--bundle-out",
                str(out),
                "--head-sha",
                head_sha,
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        files = {
            p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()
        }
        assert files, "the plan job wrote no bundle"
        return files

    def plan_run(self, pr: Pull, plan: Path = DB_PLAN) -> Any:
        """The plan workflow (pull_request) completed and uploaded `gatekeeper-plan`."""
        return self.st.add_workflow_run(
            pr.head_sha,
            name="plan",
            event="pull_request",
            path=".github/workflows/plan.yml",
            artifacts={"gatekeeper-plan": self.bundle(pr.head_sha, plan)},
        )

    def gate(self, event_name: str, payload: dict[str, Any], **with_: str) -> StepResult:
        merged = {**GATE_WITH, **self.with_, **with_}
        ref = "refs/heads/main"
        return self.runner.run(
            event_name, payload, token=self.srv.bot_token, with_=merged, ref=ref, sha="0" * 40
        )

    def on_plan_completed(self, pr: Pull, run: Any, **with_: str) -> StepResult:
        return self.gate("workflow_run", self.events.workflow_run(pr, run), **with_)

    def on_review(self, pr: Pull, review: Any) -> StepResult:
        return self.gate("pull_request_review", self.events.review(pr, review))

    def on_comment(self, pr: Pull, comment: Any) -> StepResult:
        return self.gate("issue_comment", self.events.issue_comment(pr, comment))

    def on_push(self, pr: Pull) -> StepResult:
        return self.gate("pull_request_target", self.events.pull_request(pr, "synchronize"))

    def on_merge_group(self, pr: Pull) -> tuple[str, StepResult]:
        """The PR entered the merge queue: GitHub made a merge group commit to check."""
        group = self.st.add_commit(
            REPO,
            message=f"Merge pull request #{pr.number}",
            author="octocat",
            parents=[pr.base_sha, pr.head_sha],
        )
        payload = self.events.merge_group(pr, group.sha, pr.base_sha)
        return group.sha, self.gate("merge_group", payload)

    def check_runs(self, sha: str) -> list[Any]:
        repo = self.st.repo(REPO)
        return [c for c in repo.check_runs.values() if c.head_sha == sha and c.name == "gatekeeper"]

    def latest_check(self, sha: str) -> Any:
        runs = self.check_runs(sha)
        assert runs, f"no gatekeeper check run on {sha[:12]}"
        return max(runs, key=lambda c: c.id)


def _keygen(path: Path, comment: str) -> str:
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        capture_output=True,
    )
    return path.with_suffix(".pub").read_text(encoding="utf-8").strip()


@pytest.fixture
def world(gh_server: GHServer, tmp_path: Path) -> World:
    st = gh_server.state
    key = tmp_path / "erin_ed25519"
    pub = _keygen(key, "erin@acme.example")
    keytype, blob = pub.split()[:2]
    st.add_repo(
        REPO,
        files={
            POLICY_PATH: POLICY,
            SIGNERS_PATH: f"erin@acme.example {keytype} {blob}\n",
            ".github/workflows/plan.yml": "name: plan\non: pull_request\n",
            "infra/main.tf": 'module "prod_db" {\n  source = "./modules/db"\n}\n',
        },
    )
    for login, name in (
        ("alice", "Alice Operator"),
        ("bob", "Bob Reviewer"),
        ("carol", "Carol Reviewer"),
        ("dave", "Dave Engineer"),
        ("erin", "Erin Oncall"),
    ):
        st.add_user(login, name=name, email=f"{login}@acme.example")
        st.set_permission(login, "write", REPO)
    st.add_user("Copilot", "Bot", id=198982749)
    st.add_token("ghp_erin_token", "erin")
    runner = StepRunner(tmp_path / "runner", api_url=gh_server.url, repository=REPO)
    events = Events(REPO, api_url=gh_server.url)
    return World(gh_server, st, runner, events, tmp_path, key)


# ---------------------------------------------------------------------------- PR shapes


def copilot_pr(w: World) -> tuple[Pull, str]:
    """Copilot coding agent: the PR is opened by the `Copilot` bot on a `copilot/` branch;
    its commits co-author the human who assigned the task (alice: the operator)."""
    alice = w.st.user("alice")
    pr = w.st.add_pull(
        REPO,
        author="Copilot",
        title="Upgrade the prod database engine",
        body="Upgrades engine_version of the prod database module.",
        head_ref="copilot/upgrade-prod-db",
        commits=[
            {
                "message": "Upgrade prod db engine to 14.1",
                "author": "Copilot",
                "trailers": {"Co-authored-by": f"alice <{alice.noreply_email}>"},
                "contents": {"infra/main.tf": 'module "prod_db" {\n  engine_version = "14.1"\n}\n'},
            }
        ],
    )
    return pr, "alice"


def claude_code_pr(w: World) -> tuple[Pull, str]:
    """Claude Code on an engineer's machine: the PR is opened with alice's own credentials;
    the agent marks its commits and the PR body; dave pushed a fix-up (an operator too)."""
    pr = w.st.add_pull(
        REPO,
        author="alice",
        title="Upgrade the prod database engine",
        body="Upgrades the engine.\n\n🤖 Generated with [Claude Code](https://claude.com/claude-code)",
        head_ref="claude/upgrade-prod-db",
        commits=[
            {
                "message": "Upgrade prod db engine to 14.1",
                "author": "alice",
                "trailers": {"Co-Authored-By": "Claude <noreply@anthropic.com>"},
                "contents": {"infra/main.tf": 'module "prod_db" {\n  engine_version = "14.1"\n}\n'},
            },
            {
                "message": "Fix formatting",
                "author": "dave",
                "contents": {
                    "infra/main.tf": 'module "prod_db" {\n  engine_version = "14.1" \n}\n'
                },
            },
        ],
    )
    return pr, "dave"


AGENT_STYLES = {"copilot": copilot_pr, "claude-code": claude_code_pr}


def _describe(step: StepResult) -> str:
    return step.describe()


def assert_blocked(w: World, pr: Pull, step: StepResult) -> Any:
    assert step.returncode == 1, _describe(step)
    assert step.outputs.get("decision") == "block", _describe(step)
    check = w.latest_check(pr.head_sha)
    assert check.status == "completed" and check.conclusion == "failure", check
    assert check.app.slug == "github-actions"
    return check


def assert_allowed(w: World, pr: Pull, step: StepResult) -> Any:
    assert step.returncode == 0, _describe(step)
    assert step.outputs.get("decision") == "allow", _describe(step)
    check = w.latest_check(pr.head_sha)
    assert check.conclusion == "success", check
    return check


def _check_text(check: Any) -> str:
    out = check.output or {}
    return "\n".join(str(out.get(k) or "") for k in ("title", "summary", "text"))


# ------------------------------------------------------------------------------ scenarios


@pytest.mark.parametrize("style", sorted(AGENT_STYLES))
def test_agent_pr_replacing_prod_db_needs_two_distinct_humans(world: World, style: str) -> None:
    w = world
    pr, operator = AGENT_STYLES[style](w)

    # The plan job finished: the gate sees the replaced prod database and blocks.
    step = w.on_plan_completed(pr, w.plan_run(pr))
    check = assert_blocked(w, pr, step)
    assert DB_ADDRESS in _check_text(check)
    assert step.outputs.get("approvals_counted", step.outputs.get("approvals-counted")) == "0"
    assert step.outputs.get("approvals_required", step.outputs.get("approvals-required")) == "2"
    assert DB_ADDRESS in step.summary
    first_digest = step.outputs.get("plan_digest", step.outputs.get("plan-digest"))
    assert first_digest and len(first_digest) == 64

    # The operator approves: still blocked, and shown as excluded.
    review = w.st.add_review(pr, operator, "APPROVED")
    step = w.on_review(pr, review)
    check = assert_blocked(w, pr, step)
    assert step.outputs.get("approvals_counted", step.outputs.get("approvals-counted")) == "0"
    text = _check_text(check) + step.summary
    assert operator in text and "operator" in text.lower(), text

    # One other human: still blocked, 1 of 2.
    review = w.st.add_review(pr, "bob", "APPROVED")
    step = w.on_review(pr, review)
    assert_blocked(w, pr, step)
    assert step.outputs.get("approvals_counted", step.outputs.get("approvals-counted")) == "1"

    # A second one: allowed.
    review = w.st.add_review(pr, "carol", "APPROVED")
    step = w.on_review(pr, review)
    assert_allowed(w, pr, step)
    assert step.outputs.get("approvals_counted", step.outputs.get("approvals-counted")) == "2"

    # A new push: both approvals are stale, blocked again (first on the push itself, before
    # the new plan exists; then on the new plan).
    author = "Copilot" if style == "copilot" else "alice"
    w.st.push(pr, {"message": "Tweak", "author": author, "contents": {"infra/x.tf": "# x\n"}})
    step = w.on_push(pr)
    assert_blocked(w, pr, step)
    step = w.on_plan_completed(pr, w.plan_run(pr))
    check = assert_blocked(w, pr, step)
    assert step.outputs.get("approvals_counted", step.outputs.get("approvals-counted")) == "0"
    text = _check_text(check) + step.summary
    assert "bob" in text and "carol" in text and "stale" in text.lower(), text

    # A signed override by an allowlisted human (`gatekeeper sign --post`): allowed.
    comment = sign_override(w, pr)
    step = w.on_comment(pr, comment)
    check = assert_allowed(w, pr, step)
    assert "override" in (_check_text(check) + step.summary).lower()


def sign_override(w: World, pr: Pull, bundle: Path | None = None) -> Any:
    """erin runs `gatekeeper sign` against the PR's current plan artifact (or `bundle`: a
    file or directory of bundles) and posts it."""
    if bundle is None:
        runs = [r for r in w.st.repo(REPO).workflow_runs.values() if r.head_sha == pr.head_sha]
        art = max(runs, key=lambda r: r.id).artifacts[0]
        bundle = w.tmp / f"artifact-{art.id}.zip"
        bundle.write_bytes(art.data)
    before = {c.id for c in w.st.comments(pr)}
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(w.tmp),
        "GITHUB_TOKEN": "ghp_erin_token",
    }
    proc = subprocess.run(
        [
            local_gatekeeper(),
            "sign",
            "--repo",
            REPO,
            "--pr",
            str(pr.number),
            "--key",
            str(w.signer_key),
            "--bundle",
            str(bundle),
            "--reason",
            "INC-4711 engine upgrade needs the replacement",
            "--ttl",
            "30m",
            "--post",
            "--yes-i-confirm",
            str(pr.number),
            "--api-url",
            w.srv.url,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert proc.returncode == 0, f"gatekeeper sign failed:\n{proc.stdout}\n{proc.stderr}"
    new = [c for c in w.st.comments(pr) if c.id not in before]
    assert len(new) == 1 and "gatekeeper-override" in new[0].body, proc.stdout
    return new[0]


def test_human_pr_with_the_same_plan_needs_one_approval(world: World) -> None:
    w = world
    pr = w.st.add_pull(
        REPO,
        author="dave",
        title="Upgrade the prod database engine",
        head_ref="dave/upgrade-db",
        commits=[
            {
                "message": "Upgrade prod db engine to 14.1",
                "author": "dave",
                "contents": {"infra/main.tf": 'module "prod_db" {\n  engine_version = "14.1"\n}\n'},
            }
        ],
    )
    step = w.on_plan_completed(pr, w.plan_run(pr))
    assert_blocked(w, pr, step)
    assert step.outputs.get("approvals_required", step.outputs.get("approvals-required")) == "1"
    review = w.st.add_review(pr, "bob", "APPROVED")
    step = w.on_review(pr, review)
    assert_allowed(w, pr, step)


def test_agent_pr_editing_a_workflow_is_gated_without_plan_changes(world: World) -> None:
    w = world
    alice = w.st.user("alice")
    pr = w.st.add_pull(
        REPO,
        author="Copilot",
        title="Speed up the plan workflow",
        head_ref="copilot/faster-plan",
        commits=[
            {
                "message": "Cache providers in the plan workflow",
                "author": "Copilot",
                "trailers": {"Co-authored-by": f"alice <{alice.noreply_email}>"},
                "contents": {
                    ".github/workflows/plan.yml": "name: plan\non: pull_request\n# cache\n"
                },
            }
        ],
    )
    step = w.on_plan_completed(pr, w.plan_run(pr, NO_CHANGES_PLAN))
    check = assert_blocked(w, pr, step)
    assert ".github/workflows/plan.yml" in _check_text(check) + step.summary


def test_api_outage_during_evaluation_blocks_with_a_clear_error(world: World) -> None:
    w = world
    pr, _ = copilot_pr(w)
    run = w.plan_run(pr)
    # Every read of the PR's reviews fails for the whole run (GitHub's 502 HTML page).
    w.srv.faults.error(r"/pulls/\d+/reviews$", 502, times=1000)
    step = w.on_plan_completed(pr, run, **{"time-budget": "3"})
    check = assert_blocked(w, pr, step)
    text = _check_text(check)
    assert "GitHub API unavailable" in text, text
    assert "502" in text, text
    assert "GitHub API unavailable" in step.stdout + step.stderr
    w.srv.faults.clear()


def test_merge_queue_re_verifies_on_the_merge_group_commit(world: World) -> None:
    w = world
    pr, _ = copilot_pr(w)
    w.on_plan_completed(pr, w.plan_run(pr))
    w.st.add_review(pr, "bob", "APPROVED")
    group_sha, step = w.on_merge_group(pr)
    assert step.returncode == 1, step.describe()
    assert w.latest_check(group_sha).conclusion == "failure"

    w.st.add_review(pr, "carol", "APPROVED")
    group_sha, step = w.on_merge_group(pr)
    assert step.returncode == 0, step.describe()
    assert w.latest_check(group_sha).conclusion == "success"


# ------------------------------------------------- a monorepo: one plan job per stack

MATRIX_WITH = {"artifact-name": "gatekeeper-plan-*"}  # examples/plan-matrix.yml's gate step
NETWORK_PLAN = FIXTURES / "update_in_place_and_create" / "plan.json"
CACHE_PLAN = FIXTURES / "replace_flag" / "plan.json"


def leg_bundle(
    w: World, head_sha: str, stack: str, plan: Path | None, *, legs: int
) -> dict[str, bytes]:
    """One matrix leg of examples/plan-matrix.yml: `gatekeeper gate --plan STACK=PLAN
    --bundle-out DIR --matrix-legs N` (or `--no-plan STACK` when the stack has nothing to
    plan), in a job whose GITHUB_JOB is `plan`; returns the uploaded files."""
    out = w.tmp / f"leg-{head_sha[:12]}-{stack}-{len(list(w.tmp.iterdir()))}"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(w.tmp),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_JOB": "plan",
        "GITHUB_OUTPUT": str(w.tmp / "plan-job-output"),
    }
    what = ["--plan", f"{stack}={plan}"] if plan is not None else ["--no-plan", stack]
    proc = subprocess.run(
        [
            local_gatekeeper(),
            "gate",
            *what,
            "--bundle-out",
            str(out),
            "--head-sha",
            head_sha,
            "--matrix-legs",
            str(legs),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def matrix_run(
    w: World,
    pr: Pull,
    stacks: dict[str, Path | None],
    *,
    running: tuple[str, ...] = (),
    failed: tuple[str, ...] = (),
    head_sha: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> Any:
    """The plan workflow's run: a `changes` job, then one `plan (STACK)` job per stack, each
    uploading `gatekeeper-plan-STACK` unless it is still running or failed. `head_sha` makes a
    leg bundle another commit; `labels` gives a leg another label than its stack's."""
    run = w.st.add_workflow_run(
        pr.head_sha, name="plan", path=".github/workflows/plan.yml", status="in_progress"
    )
    w.st.add_job(run, "changes")
    jobs = {s: w.st.add_job(run, f"plan ({s})", status="in_progress") for s in stacks}
    for stack, plan in stacks.items():
        if stack in running:
            continue
        if stack in failed:
            w.st.finish_job(run, jobs[stack], "failure")
            continue
        sha = (head_sha or {}).get(stack, pr.head_sha)
        label = (labels or {}).get(stack, stack)
        files = leg_bundle(w, sha, label, plan, legs=len(stacks))
        w.st.add_artifact(run, f"gatekeeper-plan-{stack}", files)
        w.st.finish_job(run, jobs[stack])
    return run


def test_matrix_leg_replacing_prod_db_needs_two_distinct_humans(world: World) -> None:
    """Three legs: `db` replaces the prod database, `network` only updates, `dns` has nothing
    to plan (its no-plan marker). One gate over all of them: one digest, one decision."""
    w = world
    w.with_ = MATRIX_WITH
    pr, operator = copilot_pr(w)
    run = matrix_run(w, pr, {"db": DB_PLAN, "network": NETWORK_PLAN, "dns": None})
    step = w.on_plan_completed(pr, run)
    check = assert_blocked(w, pr, step)
    text = _check_text(check) + step.summary
    assert DB_ADDRESS in text, text
    assert step.outputs.get("gated-count") == "1", step.describe()
    assert step.outputs.get("approvals-required") == "2"
    # the three bundles were each fetched once
    assert w.srv.count(r"/actions/artifacts/\d+/zip$") == 3
    report = json.loads((w.runner.workspace / step.outputs["report-path"]).read_text())
    source = report["pull_request"]["analysis_source"]
    assert [b["artifact"] for b in source["bundles"]] == [
        "gatekeeper-plan-db",
        "gatekeeper-plan-dns",
        "gatekeeper-plan-network",
    ]
    assert source["no_plan"] == ["dns"]
    assert sorted(p["label"] for p in report["plans"]) == ["db", "network"]

    for who in (operator, "bob"):
        step = w.on_review(pr, w.st.add_review(pr, who, "APPROVED"))
        assert_blocked(w, pr, step)
    step = w.on_review(pr, w.st.add_review(pr, "carol", "APPROVED"))
    assert_allowed(w, pr, step)
    assert step.outputs.get("approvals-counted") == "2"


def test_matrix_leg_still_running_is_plan_pending(world: World) -> None:
    w = world
    pr, _ = copilot_pr(w)
    run = matrix_run(w, pr, {"db": DB_PLAN, "network": NETWORK_PLAN, "dns": None}, running=("dns",))
    step = w.gate("pull_request_target", w.events.pull_request(pr, "synchronize"), **MATRIX_WITH)
    check = assert_blocked(w, pr, step)
    headline = step.outputs["headline"]
    assert headline.startswith(f"blocked: plan pending for {pr.head_sha}"), headline
    assert "1 of 4 jobs still running ('plan (dns)')" in headline, headline
    assert step.outputs.get("plan-digest") == ""  # never a decision on part of the matrix
    assert w.srv.count(r"/actions/artifacts/\d+/zip$") == 0
    assert "plan pending" in _check_text(check)
    assert run.status == "in_progress"


def test_matrix_leg_failed_is_an_error_naming_it(world: World) -> None:
    w = world
    pr, _ = copilot_pr(w)
    run = matrix_run(w, pr, {"db": DB_PLAN, "network": NETWORK_PLAN, "dns": None}, failed=("dns",))
    assert (run.status, run.conclusion) == ("completed", "failure")
    step = w.on_plan_completed(pr, run, **MATRIX_WITH)
    assert step.returncode == 2, step.describe()
    assert step.outputs.get("decision") == "error"
    check = w.latest_check(pr.head_sha)
    assert check.conclusion == "failure"
    title = (check.output or {}).get("title", "")
    assert "'plan (dns)' (failure)" in title, title
    assert "plan (dns)" in step.stderr + step.stdout


def test_matrix_duplicate_label_is_refused(world: World) -> None:
    w = world
    pr, _ = copilot_pr(w)
    # the `network` leg labels its plan `db`, as the db leg does
    run = matrix_run(
        w, pr, {"db": DB_PLAN, "network": NETWORK_PLAN, "dns": None}, labels={"network": "db"}
    )
    step = w.on_plan_completed(pr, run, **MATRIX_WITH)
    assert_blocked(w, pr, step)
    headline = step.outputs["headline"]
    assert (
        "'gatekeeper-plan-db' and 'gatekeeper-plan-network' both hold the plan labelled 'db'"
        in (headline)
    ), headline
    assert step.outputs.get("plan-digest") == ""


def test_matrix_bundle_of_an_older_head_is_refused(world: World) -> None:
    w = world
    pr, _ = copilot_pr(w)
    old = pr.head_sha
    w.st.push(pr, {"message": "Tweak", "author": "Copilot", "contents": {"infra/x.tf": "# x\n"}})
    # the db leg uploaded the bundle it made for the previous head
    run = matrix_run(
        w, pr, {"db": DB_PLAN, "network": NETWORK_PLAN, "dns": None}, head_sha={"db": old}
    )
    step = w.on_plan_completed(pr, run, **MATRIX_WITH)
    assert_blocked(w, pr, step)
    headline = step.outputs["headline"]
    assert "artifact 'gatekeeper-plan-db'" in headline, headline
    assert f"made for commit {old[:12]}, not the head {pr.head_sha[:12]}" in headline, headline
    assert step.outputs.get("plan-digest") == ""


def test_matrix_override_digest_across_legs_is_what_sign_computes(world: World) -> None:
    """Two legs with gated changes: `gatekeeper sign --bundle DIR` over every leg's artifact
    signs the digest the gate reports, and the gate counts it."""
    w = world
    w.with_ = MATRIX_WITH
    pr, _ = copilot_pr(w)
    run = matrix_run(w, pr, {"db": DB_PLAN, "cache": CACHE_PLAN, "network": NETWORK_PLAN})
    step = w.on_plan_completed(pr, run)
    assert_blocked(w, pr, step)
    digest = step.outputs.get("plan-digest")
    assert digest and len(digest) == 64
    assert step.outputs.get("gated-count") == "2"
    assert "--bundle gatekeeper-plans/" in step.summary + _check_text(w.latest_check(pr.head_sha))

    # `gh run download RUN -p 'gatekeeper-plan-*' -D gatekeeper-plans`: one folder per artifact
    folder = w.tmp / "gatekeeper-plans"
    for art in run.artifacts:
        (folder / art.name).mkdir(parents=True)
        with zipfile.ZipFile(io.BytesIO(art.data)) as zf:
            zf.extractall(folder / art.name)
    comment = sign_override(w, pr, bundle=folder)
    signed = re.search(r"^plan_sha256: ([0-9a-f]{64})$", comment.body, re.M)
    assert signed and signed.group(1) == digest
    step = w.on_comment(pr, comment)
    check = assert_allowed(w, pr, step)
    assert "override" in (_check_text(check) + step.summary).lower()
    assert step.outputs.get("plan-digest") == digest
