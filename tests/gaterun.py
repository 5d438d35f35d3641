"""Run the real `gatekeeper gate` against the local GitHub test server and collect what it
posted: the sticky comment, the check run output, the job summary and the JSON report.

Used by the bundle/plan-file parity test and by the golden files of the PR comment, so the
goldens are what the gate itself posts (not what a test assembles from the renderer).
"""

from __future__ import annotations

import copy
import io
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gatekeeper.cli import main
from tests.ghserver import GHServer
from tests.ghserver.state import Pull, State

WEBHOOKS = Path(__file__).resolve().parent / "data" / "webhooks"
REPO = "acme/infra"
RUN_ID = "9876543210"
RUN_URL = f"https://github.com/{REPO}/actions/runs/{RUN_ID}"


@dataclass(frozen=True)
class Posted:
    """What one gate run posted."""

    code: int
    comment: str | None  # the sticky comment's body (None: no comment)
    title: str  # check run output
    summary: str
    text: str
    job_summary: str  # GITHUB_STEP_SUMMARY
    report: dict[str, Any]  # the JSON report (--report)
    outputs: dict[str, str]
    log: str


def _hook(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((WEBHOOKS / name).read_text())
    return doc


def pr_event(pr: Pull, name: str = "pull_request.synchronize.22.json") -> dict[str, Any]:
    """A real webhook payload, rewritten to point at the server's repository, PR and commits."""
    doc = copy.deepcopy(_hook(name))
    doc["repository"]["full_name"] = REPO
    doc["repository"]["name"] = REPO.split("/")[1]
    p = doc["pull_request"]
    p["number"] = pr.number
    p["head"]["sha"] = pr.head_sha
    p["head"]["ref"] = pr.head_ref
    p["base"]["sha"] = pr.base_sha
    p["base"]["ref"] = pr.base_ref
    return doc


@contextmanager
def _environ(values: Mapping[str, str | None]) -> Iterator[None]:
    saved = {k: v for k, v in os.environ.items() if k.startswith(("INPUT_", "GITHUB_"))}
    for k in saved:
        del os.environ[k]
    for k, v in values.items():
        if v is not None:
            os.environ[k] = v
    try:
        yield
    finally:
        for k in [k for k in os.environ if k.startswith(("INPUT_", "GITHUB_"))]:
            del os.environ[k]
        os.environ.update(saved)


def _outputs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines) - 1:
        name, delim = lines[i].split("<<", 1)
        j = lines.index(delim, i + 1)
        out[name] = "\n".join(lines[i + 1 : j])
        i = j + 1
    return out


def run_gate(
    srv: GHServer,
    work: Path,
    pr: Pull,
    argv: Sequence[str],
    *,
    event: str = "pull_request",
    payload: dict[str, Any] | None = None,
    token: bool = True,
) -> Posted:
    """`gatekeeper gate ARGV` as the runner starts it, with the runner's environment."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / "event.json"
    path.write_text(json.dumps(payload if payload is not None else pr_event(pr)))
    out, summary, report = work / "output", work / "summary.md", work / "report.json"
    for f in (out, summary):
        f.write_text("")
    report.unlink(missing_ok=True)
    env: dict[str, str | None] = {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": srv.url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_TOKEN": srv.bot_token if token else None,
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_RUN_ID": RUN_ID,
        "GITHUB_RUN_ATTEMPT": "1",
    }
    log_out, log_err = io.StringIO(), io.StringIO()
    with _environ(env), redirect_stdout(log_out), redirect_stderr(log_err):
        code = main(["gate", *argv, "--report", str(report)])
    comments = [c for c in srv.state.comments(pr) if c.user.login == "github-actions[bot]"]
    runs = [r for r in srv.state.repo(REPO).check_runs.values() if r.head_sha == pr.head_sha]
    output = runs[-1].output if runs else {}
    return Posted(
        code=code,
        comment=comments[-1].body if comments else None,
        title=str(output.get("title") or ""),
        summary=str(output.get("summary") or ""),
        text=str(output.get("text") or ""),
        job_summary=summary.read_text(),
        report=json.loads(report.read_text()) if report.exists() else {},
        outputs=_outputs(out.read_text()),
        log=log_out.getvalue() + log_err.getvalue(),
    )


def upload_bundle(srv: GHServer, work: Path, pr: Pull, plans: Sequence[str]) -> None:
    """The plan job of the split setup: `gate --plan ... --bundle-out DIR` on the
    pull_request event (no API calls), then actions/upload-artifact (the server's seeding)."""
    out_dir = work / "bundle"
    argv = [a for p in plans for a in ("--plan", p)]
    res = run_gate(srv, work, pr, [*argv, "--bundle-out", str(out_dir)], token=False)
    assert res.code == 0, res.log
    data = (out_dir / "gatekeeper-bundle.json").read_bytes()
    srv.state.add_workflow_run(
        pr.head_sha, artifacts={"gatekeeper-plan": {"gatekeeper-bundle.json": data}}
    )


def gate_from_plans(srv: GHServer, work: Path, pr: Pull, plans: Sequence[str]) -> Posted:
    """The single-workflow setup: the gate reads the plan files itself."""
    return run_gate(srv, work, pr, [a for p in plans for a in ("--plan", p)])


def gate_from_bundle(srv: GHServer, work: Path, pr: Pull, plans: Sequence[str]) -> Posted:
    """The split setup: the gate re-analyzes the plan job's bundle."""
    upload_bundle(srv, work, pr, plans)
    return run_gate(srv, work, pr, [])


# ---------------------------------------------------------------------- scenes


def base_repo(st: State, policy: str) -> None:
    st.add_repo(REPO, files={".github/gatekeeper.yml": policy, "main.tf": "# base\n"})
    for login in ("op", "alice", "bob", "carol"):
        st.add_user(login, name=login.title())
        st.set_permission(login, "write")
    st.add_user("Copilot", type="Bot", id=198982749)


def agent_pr(st: State, **kw: Any) -> Pull:
    """Copilot's PR; the operator `op` co-authored the commit (noreply address)."""
    commit = {
        "message": "Recreate the database",
        "author": "Copilot",
        "trailers": {"Co-authored-by": f"Op Erator <{st.user('op').noreply_email}>"},
        "contents": {"main.tf": 'resource "null_resource" "primary" {}\n'},
    }
    kw.setdefault("commits", [commit])
    kw.setdefault("head_ref", "copilot/recreate-db")
    return st.add_pull(author="Copilot", **kw)


def human_pr(st: State, **kw: Any) -> Pull:
    commit = {"message": "Change", "author": "op", "contents": {"main.tf": "# x\n"}}
    kw.setdefault("commits", [commit])
    return st.add_pull(author="op", **kw)
