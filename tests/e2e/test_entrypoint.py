"""The image's entrypoint, tested without Docker (no engine runs here).

The Dockerfile installs the hash-pinned requirements.lock and then the project's wheel into a
venv, and runs `gatekeeper` (ENTRYPOINT) with `gate` (CMD; action.yml's `runs.args` says the
same). This module repeats those install steps in a fresh venv from a freshly built wheel
(once per test session), then runs the exact container command as the Actions runner would,
plus `gatekeeper check` on a bundled fixture. It also checks the Dockerfile, action.yml and the
examples for the properties the README promises (pinned base, hashed dependencies, no build
tools in the final stage, every `with:` key an input).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.actions_runner import (
    ACTION,
    Events,
    StepRunner,
    container_command,
    dockerfile_instruction,
    input_env,
    parse_output_file,
)
from tests.ghserver import GHServer

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")
FIXTURE = ROOT / "fixtures" / "terraform" / "replace_prod_db" / "plan.json"
EXAMPLES = ROOT / "examples"
PIP_TIMEOUT = 900


def _pip_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def _run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, env=_pip_env(), **kw)  # type: ignore[call-overload]
    assert proc.returncode == 0, f"$ {' '.join(argv)}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="session")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh venv built like the image's /opt/gatekeeper: the lock with --require-hashes,
    then the project's wheel with --no-deps, then `pip check`. Returns its bin/."""
    base = tmp_path_factory.mktemp("image")
    src = base / "src"
    # Build from a clean copy of what .dockerignore lets into the build context.
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    shutil.copytree(
        ROOT / "gatekeeper",
        src / "gatekeeper",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
    )
    dist = base / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)])
    wheels = sorted(dist.glob("plan_gatekeeper-*.whl"))
    assert len(wheels) == 1, wheels

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)])
    pip = [str(venv / "bin" / "python"), "-m", "pip"]
    _run(
        [
            *pip,
            "install",
            "-q",
            "--require-hashes",
            "--only-binary=:all:",
            "--no-deps",
            "-r",
            str(ROOT / "requirements.lock"),
        ],
        timeout=PIP_TIMEOUT,
    )
    _run([*pip, "install", "-q", "--no-index", "--no-deps", str(wheels[0])])
    _run([*pip, "check"])
    yield venv / "bin"


# ------------------------------------------------------------------ the image's command


def test_container_command_is_gatekeeper_gate() -> None:
    assert dockerfile_instruction("ENTRYPOINT") == ["gatekeeper"]
    assert dockerfile_instruction("CMD") == ["gate"]
    assert ACTION["runs"]["using"] == "docker"
    assert ACTION["runs"]["image"] == "Dockerfile"
    assert container_command() == ["gatekeeper", "gate"]


def test_installed_console_script_runs(image_venv: Path) -> None:
    proc = subprocess.run(
        [str(image_venv / "gatekeeper"), "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("gatekeeper ")
    # The wheel carries its schemas (the package reads them at run time).
    code = (
        "import importlib.resources as r, json;"
        "print(json.loads(r.files('gatekeeper').joinpath('schemas/config.schema.json')"
        ".read_text())['title'])"
    )
    proc = subprocess.run(
        [str(image_venv / "python"), "-c", code], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and "policy" in proc.stdout.lower(), proc.stderr


def test_check_on_a_bundled_fixture(image_venv: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [
            str(image_venv / "gatekeeper"),
            "check",
            "--config",
            str(EXAMPLES / "gatekeeper.yml"),
            "--format",
            "json",
            "--report",
            str(report),
            f"prod={FIXTURE}",
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr  # gated changes need approval
    doc = json.loads(proc.stdout)
    assert json.loads(report.read_text()) == doc
    text = json.dumps(doc)
    assert "module.prod_db.null_resource.primary" in text


def test_gate_outside_actions_is_a_one_line_input_error(image_venv: Path, tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [str(image_venv / "gatekeeper"), *container_command()[1:]],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: GITHUB_EVENT_NAME is not set"), proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("token_var", ["INPUT_GITHUB-TOKEN", "INPUT_GITHUB_TOKEN"])
def test_gate_entrypoint_as_the_runner_runs_it(
    image_venv: Path, gh_server: GHServer, tmp_path: Path, token_var: str
) -> None:
    """The plan job's command makes the bundle; then the exact container command runs with
    the runner's env on the workflow_run event of examples/gate.yml. The check run lands on
    the PR head, the outputs and the job summary are written."""
    st = gh_server.state
    scene = st.seed_basic()
    policy = "version: 1\nproduction:\n  tag_attributes: [triggers]\n"
    st.put_content("main", ".github/gatekeeper.yml", policy)
    pr = scene.pr
    repo = scene.repo.full_name
    gatekeeper = str(image_venv / "gatekeeper")
    bundle = tmp_path / "bundle"
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "GITHUB_REPOSITORY": repo}
    made = subprocess.run(
        [
            gatekeeper,
            "gate",
            "--plan",
            f"infra={FIXTURE}",
            "--bundle-out",
            str(bundle),
            "--head-sha",
            pr.head_sha,
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=tmp_path,
    )
    assert made.returncode == 0, made.stderr
    files = {
        p.relative_to(bundle).as_posix(): p.read_bytes() for p in bundle.rglob("*") if p.is_file()
    }
    run = st.add_workflow_run(pr.head_sha, artifacts={"gatekeeper-plan": files})

    runner = StepRunner(
        tmp_path / "runner", api_url=gh_server.url, repository=repo, executable=gatekeeper
    )
    payload = Events(repo, api_url=gh_server.url).workflow_run(pr, run)
    extra: dict[str, str] = {}
    if token_var == "INPUT_GITHUB_TOKEN":  # a wrapper that passes the underscore form
        extra = {"INPUT_GITHUB-TOKEN": "", "INPUT_GITHUB_TOKEN": gh_server.bot_token}
    step = runner.run(
        "workflow_run",
        payload,
        token=gh_server.bot_token,
        with_={"plan-workflow": ".github/workflows/plan.yml"},
        extra_env=extra,
    )
    assert step.argv[1:] == ["gate"]
    assert step.returncode == 1, step.describe()
    assert step.outputs["decision"] == "block"
    assert set(step.outputs) <= set(ACTION["outputs"]), "every output is declared in action.yml"
    assert "module.prod_db.null_resource.primary" in step.summary
    assert (runner.workspace / ACTION["inputs"]["report"]["default"]).is_file()
    runs = [c for c in scene.repo.check_runs.values() if c.name == "gatekeeper"]
    assert [c.head_sha for c in runs] == [pr.head_sha]
    assert runs[0].conclusion == "failure"
    assert runs[0].app.slug == "github-actions"


def test_bundle_out_input_is_the_plan_job_mode(
    image_venv: Path, gh_server: GHServer, tmp_path: Path
) -> None:
    """The action with `plans` and `bundle-out` (the examples' plan job): on the pull_request
    event it writes the bundle for the PR head into the workspace and calls no API."""
    st = gh_server.state
    pr = st.seed_basic().pr
    repo = "acme/infra"
    runner = StepRunner(
        tmp_path / "runner",
        api_url=gh_server.url,
        repository=repo,
        executable=str(image_venv / "gatekeeper"),
    )
    shutil.copy2(FIXTURE, runner.workspace / "plan.json")
    step = runner.run(
        "pull_request",
        Events(repo, api_url=gh_server.url).pull_request(pr),
        token=gh_server.bot_token,
        with_={"plans": "infra=plan.json", "bundle-out": "gatekeeper-bundle"},
    )
    assert step.returncode == 0, step.describe()
    assert gh_server.count(".*") == 0, "the plan job's mode makes no API call"
    bundle = runner.workspace / "gatekeeper-bundle" / "gatekeeper-bundle.json"
    doc = json.loads(bundle.read_text(encoding="utf-8"))
    assert pr.head_sha in json.dumps(doc) and "module.prod_db.null_resource.primary" in json.dumps(
        doc
    )
    assert step.outputs == {
        "bundle": "gatekeeper-bundle/gatekeeper-bundle.json",
        "head-sha": pr.head_sha,
    }
    assert set(step.outputs) <= set(ACTION["outputs"])
    assert step.summary == ""  # no decision is made here


# ------------------------------------------------------------------------ the Dockerfile


def _stages() -> list[tuple[str, list[str]]]:
    stages: list[tuple[str, list[str]]] = []
    for line in DOCKERFILE.splitlines():
        if re.match(r"^FROM\s", line):
            stages.append((line, []))
        elif stages:
            stages[-1][1].append(line)
    return stages


def test_dockerfile_pins_the_base_by_digest_and_hashes_every_dependency() -> None:
    stages = _stages()
    names = {m.group(1) for line, _ in stages if (m := re.search(r"\bAS\s+(\S+)", line))}
    for line, _ in stages:
        image = line.split()[1]
        if image in names:
            continue  # FROM an earlier stage
        assert re.fullmatch(r"python:3\.12-slim@sha256:[0-9a-f]{64}", image), line
    body = "\n".join(DOCKERFILE.split("\\\n"))
    installs = [m.group(0) for m in re.finditer(r"pip install[^\n]*", body)]
    assert installs
    for cmd in installs:
        hashed = "--require-hashes" in cmd and "-r requirements" in cmd
        local = "--no-index" in cmd and "--no-deps" in cmd
        assert hashed or local, cmd
    lock = (ROOT / "requirements.lock").read_text()
    pins = re.findall(r"^\S+==\S+", lock, re.M)
    hashed = re.findall(r"^\S+==\S+ \\\n(?:\s+--hash=sha256:[0-9a-f]{64}(?: \\)?\n)+", lock, re.M)
    assert len(pins) >= 7 and len(hashed) == len(pins)
    assert "msgspec==" in lock and "pygithub==" in lock.lower()


def test_final_stage_has_no_build_tools_and_runs_the_gate() -> None:
    stages = _stages()
    assert stages[-1][0].split()[1] == "runtime"  # the action stage = the runtime stage
    runtime = next(body for line, body in stages if line.endswith("AS runtime"))
    text = "\n".join(runtime)
    for tool in ("gcc", "build-essential", "apt-get install", "pip wheel", "setuptools"):
        assert tool not in text, tool
    assert "COPY --from=builder /opt/gatekeeper /opt/gatekeeper" in text
    assert "pip uninstall" in text
    cli = next(body for line, body in stages if line.endswith("AS cli"))
    assert any(re.match(r"^USER\s+10001", x) for x in cli)
    rules = [x for x in (ROOT / ".dockerignore").read_text().splitlines() if x and x[0] != "#"]
    assert rules[0] == "*", "the build context is an allow-list"
    assert "!gatekeeper/" in rules and "!requirements.lock" in rules


# --------------------------------------------------------------- action.yml and examples


def test_action_inputs_outputs_and_branding() -> None:
    inputs = ACTION["inputs"]
    for name in (
        "plans",
        "config",
        "github-token",
        "mode",
        "comment",
        "source-dir",
        "base-source-dir",
        "plan-labels",
    ):
        assert name in inputs, name
        assert inputs[name]["description"].strip()
    assert all(re.fullmatch(r"[a-z][a-z0-9-]*", n) for n in inputs)
    assert inputs["github-token"]["default"] == "${{ github.token }}"
    outputs = ACTION["outputs"]
    for name in (
        "decision",
        "gated-count",
        "plan-digest",
        "approvals-counted",
        "approvals-required",
        "report-path",
    ):
        assert name in outputs, name
    assert ACTION["branding"]["icon"] and ACTION["branding"]["color"]
    env = input_env({"plans": "a.json"}, token="t")
    assert env["INPUT_GITHUB-TOKEN"] == "t" and env["INPUT_PLANS"] == "a.json"


def test_readme_documents_every_input_and_output() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in [*ACTION["inputs"], *ACTION["outputs"]]:
        assert f"| `{name}` |" in text, name


def _workflows() -> dict[str, dict[object, object]]:
    out = {}
    for path in sorted(EXAMPLES.glob("*.yml")):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(doc, dict) and "jobs" in doc:
            out[path.name] = doc
    return out


def _steps(doc: dict[object, object]) -> Iterator[tuple[str, dict[str, object]]]:
    for job_id, job in doc["jobs"].items():  # type: ignore[attr-defined]
        for step in job.get("steps", []):
            yield str(job_id), step


def test_examples_pin_actions_by_sha_and_use_only_declared_inputs() -> None:
    workflows = _workflows()
    assert {"quickstart.yml", "plan.yml", "gate.yml"} <= set(workflows)
    for name, doc in workflows.items():
        # PyYAML reads the key `on` as True
        assert doc.get("permissions") == {}, f"{name}: top-level permissions must be {{}}"
        for job_id, job in doc["jobs"].items():  # type: ignore[attr-defined]
            assert job_id != "gatekeeper" and job.get("name") != "gatekeeper", (
                f"{name}: a job named gatekeeper would post a check of that name"
            )
            assert "permissions" in job, f"{name}/{job_id}: no job permissions"
        for job_id, step in _steps(doc):
            uses = step.get("uses")
            if not uses:
                continue
            assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", str(uses)), f"{name}: {uses}"
            if str(uses).startswith("plan-gatekeeper/plan-gatekeeper@"):
                unknown = set(step.get("with", {})) - set(ACTION["inputs"])  # type: ignore[arg-type]
                assert not unknown, f"{name}/{job_id}: not action inputs: {unknown}"


def test_gate_workflow_is_trusted_and_least_privilege() -> None:
    """The hardened gate posts as its own App: every trigger runs on the default branch (so
    the environment holding the key releases it), the key lives in that environment, the
    job's own GITHUB_TOKEN has no permissions, and the action gets the App's token."""
    doc = _workflows()["gate.yml"]
    triggers = doc[True]  # `on:`
    assert set(triggers) == {"pull_request_target", "issue_comment", "workflow_run"}
    assert triggers["workflow_run"]["workflows"] == ["plan", "review-relay"]
    for job in doc["jobs"].values():
        assert job["permissions"] == {}
        assert job["environment"] == "gatekeeper"
        uses = [str(step.get("uses", "")) for step in job["steps"]]
        assert uses[0] == (
            "actions/create-github-app-token@1b10c78c7865c340bc4f6099eb2f838309f1e8c3"
        )  # v3.1.1
        app = job["steps"][0]
        assert app["with"]["private-key"] == "${{ secrets.GATEKEEPER_APP_PRIVATE_KEY }}"
        gate = job["steps"][1]
        assert gate["with"]["github-token"] == "${{ steps.app.outputs.token }}"
        assert gate["with"]["comment-login"] == "${{ steps.app.outputs.app-slug }}[bot]"
        for step in job["steps"]:
            assert "actions/checkout" not in str(step.get("uses", "")), "gate checks out code"
            assert "run" not in step, "the trusted gate runs no shell"
    relay = _workflows()["review-relay.yml"]
    assert set(relay[True]) == {"pull_request_review"}
    for job in relay["jobs"].values():
        assert job["permissions"] == {} and "environment" not in job
    plan = _workflows()["plan.yml"]
    assert set(plan[True]) == {"pull_request"}
    for job in plan["jobs"].values():
        assert job["permissions"] == {"contents": "read"}
        uploads = [s for s in job["steps"] if "upload-artifact" in str(s.get("uses", ""))]
        assert uploads and uploads[0]["with"]["name"] == "gatekeeper-plan"
        setup = [s for s in job["steps"] if "setup-terraform" in str(s.get("uses", ""))]
        assert setup and setup[0]["with"]["terraform_wrapper"] is False


def test_ruleset_requires_the_check_from_the_gates_app() -> None:
    doc = json.loads((EXAMPLES / "ruleset.json").read_text(encoding="utf-8"))
    assert doc["target"] == "branch" and doc["enforcement"] == "active"
    assert doc.get("bypass_actors") == []
    rules = {r["type"]: r.get("parameters", {}) for r in doc["rules"]}
    checks = rules["required_status_checks"]["required_status_checks"]
    # the placeholder for the App's id (README): never GitHub Actions, which any workflow is
    assert checks == [{"context": "gatekeeper", "integration_id": 123456}]
    assert "pull_request" in rules
    assert "merge_queue" not in rules  # the queue's refs cannot get the App's key


def test_app_manifest_asks_for_the_least_permissions() -> None:
    doc = json.loads((EXAMPLES / "gatekeeper-app-manifest.json").read_text(encoding="utf-8"))
    assert doc["public"] is False
    assert doc["hook_attributes"]["active"] is False and doc["default_events"] == []
    assert doc["default_permissions"] == {
        "actions": "read",  # the plan workflow's runs and artifact
        "checks": "write",  # the gatekeeper check run (and listing rivals)
        "contents": "read",  # the policy, allowed_signers, the default branch, pushes
        "metadata": "read",  # mandatory
        "pull_requests": "write",  # the PR snapshot and the sticky comment
        "statuses": "read",  # rival commit statuses (tamper check)
    }


def test_example_policy_is_valid(image_venv: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            str(image_venv / "gatekeeper"),
            "check",
            "--config",
            str(EXAMPLES / "gatekeeper.yml"),
            str(ROOT / "fixtures" / "terraform" / "no_changes" / "plan.json"),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr


def test_output_file_parser_reads_both_forms() -> None:
    text = "a=1\nb<<ghadelimiter_x\nline1\nline2\nghadelimiter_x\n"
    assert parse_output_file(text) == {"a": "1", "b": "line1\nline2"}


def test_matrix_plan_example_uploads_one_bundle_per_leg() -> None:
    """examples/plan-matrix.yml: stacks from a changed-paths step, fail-fast off, one artifact
    per leg (the gate's pattern `gatekeeper-plan-*`), every leg recording the matrix size, and
    a no-plan marker when no stack changed."""
    doc = _workflows()["plan-matrix.yml"]
    assert set(doc[True]) == {"pull_request"}
    changes, plan = doc["jobs"]["changes"], doc["jobs"]["plan"]
    assert plan["needs"] == "changes"
    assert plan["strategy"]["fail-fast"] is False
    assert plan["strategy"]["matrix"]["stack"] == "${{ fromJSON(needs.changes.outputs.stacks) }}"
    for job in (changes, plan):
        assert job["permissions"] == {"contents": "read"}
    uploads = [s for s in plan["steps"] if "upload-artifact" in str(s.get("uses", ""))]
    assert [u["with"]["name"] for u in uploads] == ["gatekeeper-plan-${{ matrix.stack }}"]
    marker = [s for s in changes["steps"] if "upload-artifact" in str(s.get("uses", ""))]
    assert [u["with"]["name"] for u in marker] == ["gatekeeper-plan-none"]
    # every leg's bundle step is the action itself (nothing unpublished is installed), and
    # records the matrix size: a plan bundle where the stack exists, else the no-plan marker
    legs = [s for s in plan["steps"] if "bundle-out" in s.get("with", {})]
    assert [("plans" in s["with"], "no-plan" in s["with"]) for s in legs] == [
        (True, False),
        (False, True),
    ]
    for s in legs:
        assert s["uses"].startswith("plan-gatekeeper/plan-gatekeeper@")
        assert s["with"]["matrix-legs"] == "${{ strategy.job-total }}"
    none = [s for s in changes["steps"] if "bundle-out" in s.get("with", {})]
    assert [s["with"].get("no-plan") for s in none] == ["no-stack-changed"]
    assert "pip install" not in (EXAMPLES / "plan-matrix.yml").read_text()
    setup = [s for s in plan["steps"] if "setup-terraform" in str(s.get("uses", ""))]
    assert setup and setup[0]["with"]["terraform_wrapper"] is False
    # the gate's pattern matches every artifact name the workflow can upload
    from gatekeeper import globs

    assert all(globs.match("gatekeeper-plan-*", u["with"]["name"]) for u in uploads + marker)
