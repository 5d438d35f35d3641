"""Run the real `gatekeeper gate` against the local GitHub test server and collect what it
posted: the sticky comment, the check run output, the job summary and the JSON report.

Used by the bundle/plan-file parity test and by the golden files of the PR comment, so the
goldens are what the gate itself posts (not what a test assembles from the renderer).
"""

from __future__ import annotations

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
from tests.ghserver.state import Pull
from tests.support.scenes import REPO, pr_event

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


def parse_outputs(text: str) -> dict[str, str]:
    """$GITHUB_OUTPUT as the runner reads it (NAME<<DELIM blocks)."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines) - 1:
        name, delim = lines[i].split("<<", 1)
        j = lines.index(delim, i + 1)
        out[name] = "\n".join(lines[i + 1 : j])
        i = j + 1
    return out


def runner_env(
    srv: GHServer, event: str, event_path: Path, output: Path, summary: Path, run_id: str
) -> dict[str, str | None]:
    """The variables the Actions runner sets for the gate's step, pointed at `srv`."""
    return {
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(event_path),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": srv.url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_TOKEN": srv.bot_token,
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_RUN_ID": run_id,
        "GITHUB_RUN_ATTEMPT": "1",
    }


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
    env = runner_env(srv, event, path, out, summary, RUN_ID)
    if not token:
        env["GITHUB_TOKEN"] = None
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
        outputs=parse_outputs(out.read_text()),
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
