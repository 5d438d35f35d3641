"""Runs the built image as the GitHub runner runs this Docker action, and checks what it wrote.

    .venv/bin/python .ci/image_smoke.py localhost/gatekeeper-image:test

For each step the runner `docker run`s the image with `--workdir /github/workspace`, the
workspace mounted there, the event at /github/workflow/event.json, fresh GITHUB_OUTPUT and
GITHUB_STEP_SUMMARY files under /github/file_commands, `-e INPUT_<NAME>` per action.yml input
and the GITHUB_*/RUNNER_* variables, and runs ENTRYPOINT + `runs.args`. Here the engine is
buildah (`buildah from` + `buildah run --isolation chroot`, host network), which does not apply
ENTRYPOINT, so the command is named as ENTRYPOINT + args say (tests/actions_runner.py reads
them from the Dockerfile and action.yml). The GitHub side is the local test server
(tests/ghserver) on 127.0.0.1, which the container reaches over the host network.

Steps, as the quick start runs them: `gatekeeper check` on a real Terraform fixture; the plan
job's `bundle-out` mode on a pull_request event; the gate on workflow_run (blocked: the check
run fails); the gate on pull_request_review after a distinct human approved (allowed). Every
exit code, output, summary and check run is asserted; any mismatch exits 1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.actions_runner import (  # noqa: E402
    ACTION,
    Events,
    StepResult,
    StepRunner,
    container_command,
    step_result,
)
from tests.ghserver import GHServer  # noqa: E402

FIXTURE = ROOT / "fixtures" / "terraform" / "replace_prod_db" / "plan.json"
ADDRESS = "module.prod_db.null_resource.primary"
POLICY = "version: 1\nproduction:\n  tag_attributes: [triggers]\n"
BUILDAH = ["buildah", "--storage-driver", "vfs"]
# Where the runner mounts things in a Docker action's container.
WORKSPACE = "/github/workspace"
FILE_COMMANDS = "/github/file_commands"
WORKFLOW = "/github/workflow"
HOME = "/github/home"


class ImageStepRunner(StepRunner):
    """StepRunner's environment and files, with the command run in the image."""

    def __init__(self, base: Path, container: str, *, api_url: str, repository: str) -> None:
        super().__init__(base, api_url=api_url, repository=repository, executable="gatekeeper")
        self.container = container

    def run_image(
        self,
        event_name: str,
        payload: dict[str, Any],
        *,
        token: str,
        with_: dict[str, str] | None = None,
        command: list[str] | None = None,
    ) -> StepResult:
        files, event = self.new_step(payload)
        home = files.parent / "home"
        home.mkdir()
        env = self.env(
            event_name,
            Path(WORKFLOW) / "event.json",
            sha="0" * 40,
            ref="refs/heads/main",
            token=token,
            with_=with_ or {},
            files=Path(FILE_COMMANDS),
        )
        # The runner does not pass PATH: the image's own (venv first) applies.
        del env["PATH"]
        env.update(
            HOME=HOME,
            GITHUB_WORKSPACE=WORKSPACE,
            RUNNER_TEMP="/home/runner/work/_temp",
            RUNNER_WORKSPACE="/home/runner/work/infra",
        )
        argv = command or container_command()
        run = [*BUILDAH, "run", "--isolation", "chroot", "--workingdir", WORKSPACE]
        for host, inside in (
            (self.workspace, WORKSPACE),
            (files, FILE_COMMANDS),
            (event.parent, WORKFLOW),
            (home, HOME),
        ):
            run += ["--volume", f"{host}:{inside}"]
        for key, value in env.items():
            run += ["--env", f"{key}={value}"]
        started = time.monotonic()
        proc = subprocess.run(
            [*run, self.container, "--", *argv],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        print(f"  ({time.monotonic() - started:.1f} s: {' '.join(argv)})")
        return step_result(proc, files, argv, env)


def expect(ok: bool, what: str, step: StepResult | None = None) -> None:
    if not ok:
        detail = f"\n{step.describe()}" if step is not None else ""
        raise SystemExit(f"image-smoke: FAILED: {what}{detail}")
    print(f"  ok: {what}")


def known_outputs(step: StepResult) -> None:
    unknown = set(step.outputs) - set(ACTION["outputs"])
    expect(
        not unknown,
        f"every output written is declared in action.yml ({sorted(step.outputs)})",
        step,
    )


def main(image: str) -> int:
    base = Path(tempfile.mkdtemp(prefix="gk-smoke-"))
    # One working container for every step: with vfs storage each `buildah from` copies the
    # whole image (~50 s here). The steps share nothing but the image: each gets its own
    # mounts and environment, and the gate writes only to them.
    container = f"gk-smoke-{os.getpid()}"
    subprocess.run([*BUILDAH, "from", "--name", container, image], check=True, capture_output=True)
    try:
        with GHServer() as srv:
            run_steps(srv, container, base)
            srv.verify()  # every response matched GitHub's schema, no unexpected request
        print("image-smoke: OK")
        return 0
    finally:
        subprocess.run([*BUILDAH, "rm", container], check=False, capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def run_steps(srv: GHServer, container: str, base: Path) -> None:
    st = srv.state
    scene = st.seed_basic()
    st.put_content("main", ".github/gatekeeper.yml", POLICY)
    pr, repo = scene.pr, scene.repo.full_name
    runner = ImageStepRunner(base, container, api_url=srv.url, repository=repo)
    events = Events(repo, api_url=srv.url)
    ws = runner.workspace
    shutil.copy2(FIXTURE, ws / "plan.json")
    (ws / "gatekeeper.yml").write_text(POLICY, encoding="utf-8")

    print("== gatekeeper check on a real Terraform plan (replaces a production database)")
    step = runner.run_image(
        "pull_request",
        events.pull_request(pr),
        token=srv.bot_token,
        command=[
            "gatekeeper",
            "check",
            "--config",
            "gatekeeper.yml",
            "--report",
            "r.json",
            "infra=plan.json",
        ],
    )
    expect(step.returncode == 1, "check exits 1 (blocked)", step)
    lines = step.stdout.splitlines()
    expect(
        "BLOCKED: 1 destructive production change needs approval from distinct humans" in lines,
        "check says BLOCKED",
        step,
    )
    expect(
        any(x.startswith("::error title=Gated") for x in lines),
        "GITHUB_ACTIONS=true: a workflow-command annotation for the gated change",
        step,
    )
    expect(ADDRESS in step.stdout, "check names the gated resource", step)
    report = json.loads((ws / "r.json").read_text(encoding="utf-8"))
    expect(report["decision"] == "block", "report written into the workspace")

    print("== plan job: the action's bundle-out mode (pull_request)")
    step = runner.run_image(
        "pull_request",
        events.pull_request(pr),
        token=srv.bot_token,
        with_={"plans": "infra=plan.json", "bundle-out": "gatekeeper-bundle"},
    )
    expect(step.returncode == 0, "bundle-out exits 0", step)
    expect(step.outputs.get("head-sha") == pr.head_sha, "bundle made for the PR head", step)
    bundle = ws / "gatekeeper-bundle"
    files = {
        p.relative_to(bundle).as_posix(): p.read_bytes() for p in bundle.rglob("*") if p.is_file()
    }
    expect(
        bool(files) and step.outputs.get("bundle", "").endswith(".json"),
        f"bundle written to the workspace ({sorted(files)})",
        step,
    )
    expect(srv.count(".*") == 0, "bundle-out made no API call")
    known_outputs(step)
    shutil.rmtree(bundle)
    (ws / "plan.json").unlink()  # the gate job has only the artifact

    print("== gate on workflow_run: plan bundle of the head, no approval yet")
    wrun = st.add_workflow_run(pr.head_sha, artifacts={"gatekeeper-plan": files})
    step = runner.run_image(
        "workflow_run",
        events.workflow_run(pr, wrun),
        token=srv.bot_token,
        with_={"plan-workflow": ".github/workflows/plan.yml"},
    )
    expect(step.returncode == 1, "gate exits 1 (blocked)", step)
    expect(step.outputs.get("decision") == "block", "output decision=block", step)
    expect(step.outputs.get("gated-count") == "1", "output gated-count=1", step)
    expect(step.outputs.get("approvals-required") == "1", "output approvals-required=1", step)
    digest = step.outputs.get("plan-digest", "")
    expect(len(digest) == 64, "output plan-digest is a sha256", step)
    expect(ADDRESS in step.summary, "job summary names the gated resource", step)
    rpath = ACTION["inputs"]["report"]["default"]
    expect(
        step.outputs.get("report-path") == rpath and (ws / rpath).is_file(),
        "JSON report in the workspace",
        step,
    )
    known_outputs(step)
    runs = [c for c in scene.repo.check_runs.values() if c.name == "gatekeeper"]
    expect(
        [(c.head_sha, c.conclusion) for c in runs] == [(pr.head_sha, "failure")],
        "check run `gatekeeper` failed on the PR head",
    )
    expect(runs[0].app.slug == "github-actions", "check run written by GitHub Actions")

    print("== gate on pull_request_review: a distinct human approved the head")
    review = st.add_review(pr, scene.reviewer, "APPROVED")
    step = runner.run_image(
        "pull_request_review",
        events.review(pr, review),
        token=srv.bot_token,
        with_={"plan-workflow": ".github/workflows/plan.yml"},
    )
    expect(step.returncode == 0, "gate exits 0 (allowed)", step)
    expect(step.outputs.get("decision") == "allow", "output decision=allow", step)
    expect(step.outputs.get("approvals-counted") == "1", "output approvals-counted=1", step)
    expect(step.outputs.get("plan-digest") == digest, "same plan digest as before", step)
    known_outputs(step)
    runs = [c for c in scene.repo.check_runs.values() if c.name == "gatekeeper"]
    expect(runs[-1].conclusion == "success", "check run `gatekeeper` now succeeds")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: image_smoke.py IMAGE")
    sys.exit(main(sys.argv[1]))
