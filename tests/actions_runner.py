"""What the GitHub Actions runner does for one step of this Docker action, without Docker.

For a `runs.using: docker` action the runner builds the image from the Dockerfile and runs it
with `--workdir /github/workspace`, one `-e INPUT_<NAME>` per input declared in action.yml (the
`with:` value or the input's default; the name upper-cased with spaces turned into `_` and
hyphens kept), the `GITHUB_*`/`RUNNER_*` variables, the event payload at `$GITHUB_EVENT_PATH`,
and fresh empty files at `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY`. The container's command is
the image's ENTRYPOINT plus `runs.args` from action.yml (which replaces the image's CMD).

`StepRunner` reproduces exactly that around a local command (the console script `gatekeeper`
from a venv instead of the image's), and `Events` builds event payloads from the real webhook
examples in tests/data/webhooks/ with only the fields a scenario needs rewritten.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
WEBHOOKS = Path(__file__).resolve().parent / "data" / "webhooks"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))


# ------------------------------------------------------------------ the image's command


def dockerfile_instruction(name: str, path: Path = ROOT / "Dockerfile") -> list[str]:
    """The last exec-form (JSON array) `name` instruction of the Dockerfile: what the final
    stage inherits when it does not set its own."""
    found: list[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        m = re.match(rf"^{name}\s+(\[.*\])\s*$", line.strip())
        if m:
            value = json.loads(m.group(1))
            assert isinstance(value, list) and all(isinstance(x, str) for x in value)
            found = value
    if found is None:
        raise AssertionError(f"the Dockerfile has no exec-form {name}")
    return found


def container_command() -> list[str]:
    """ENTRYPOINT + action.yml `runs.args` (the runner passes args, replacing CMD)."""
    args = ACTION["runs"].get("args")
    cmd = [str(a) for a in args] if args is not None else dockerfile_instruction("CMD")
    return [*dockerfile_instruction("ENTRYPOINT"), *cmd]


def local_gatekeeper() -> str:
    """The `gatekeeper` console script of the interpreter running the tests."""
    script = Path(sys.executable).with_name("gatekeeper")
    if not script.exists():
        raise AssertionError(f"no console script at {script}: install the package (pip -e .)")
    return str(script)


# ------------------------------------------------------------------------- inputs


def input_env(with_: Mapping[str, str], *, token: str) -> dict[str, str]:
    """INPUT_* as the runner sets them for action.yml's declared inputs."""
    declared = ACTION["inputs"]
    unknown = set(with_) - set(declared)
    if unknown:
        raise AssertionError(f"not inputs of action.yml: {sorted(unknown)}")
    env: dict[str, str] = {}
    for name, spec in declared.items():
        value = with_.get(name, str(spec.get("default", "")))
        value = value.replace("${{ github.token }}", token)
        env[f"INPUT_{name.replace(' ', '_').upper()}"] = value
    return env


def parse_output_file(text: str) -> dict[str, str]:
    """GITHUB_OUTPUT: `name=value` lines and `name<<DELIM` ... `DELIM` blocks."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            body: list[str] = []
            while i < len(lines) and lines[i] != delim:
                body.append(lines[i])
                i += 1
            if i >= len(lines):
                raise AssertionError(f"GITHUB_OUTPUT: {name}: unterminated heredoc")
            i += 1
            out[name] = "\n".join(body)
        else:
            name, _, value = line.partition("=")
            out[name] = value
    return out


# --------------------------------------------------------------------------- a step


@dataclass
class StepResult:
    returncode: int
    stdout: str
    stderr: str
    outputs: dict[str, str]
    summary: str
    argv: list[str]
    env: dict[str, str] = field(repr=False)

    def describe(self) -> str:
        return (
            f"$ {shlex.join(self.argv)}\nexit {self.returncode}\n--- stdout\n{self.stdout}"
            f"--- stderr\n{self.stderr}--- outputs\n{self.outputs}\n"
        )


class StepRunner:
    """Runs the action's container command for one event, as the runner would."""

    def __init__(
        self,
        base: Path,
        *,
        api_url: str,
        repository: str,
        executable: str | None = None,
        server_url: str = "https://github.com",
    ) -> None:
        self.base = base
        self.workspace = base / "workspace"
        self.workspace.mkdir(parents=True, exist_ok=True)
        self.api_url = api_url
        self.repository = repository
        self.server_url = server_url
        self.executable = executable or local_gatekeeper()
        self.run_id = 7000
        self.steps = 0

    def env(
        self,
        event_name: str,
        event_path: Path,
        *,
        sha: str,
        ref: str,
        token: str,
        with_: Mapping[str, str],
        files: Path,
    ) -> dict[str, str]:
        owner = self.repository.split("/")[0]
        env = {
            # what `docker run` passes through from the host, kept minimal
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.base / "home"),
            "LANG": "C.UTF-8",
            # the runner's variables (names as in a real Docker action step)
            "CI": "true",
            "GITHUB_ACTIONS": "true",
            "GITHUB_ACTION": "__plan-gatekeeper_plan-gatekeeper",
            "GITHUB_ACTION_REPOSITORY": "plan-gatekeeper/plan-gatekeeper",
            "GITHUB_ACTOR": "octocat",
            "GITHUB_API_URL": self.api_url,
            "GITHUB_BASE_REF": "",
            "GITHUB_ENV": str(files / "set_env"),
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_GRAPHQL_URL": self.api_url.rstrip("/") + "/graphql",
            "GITHUB_HEAD_REF": "",
            "GITHUB_JOB": "gate",
            "GITHUB_OUTPUT": str(files / "set_output"),
            "GITHUB_PATH": str(files / "add_path"),
            "GITHUB_REF": ref,
            "GITHUB_REPOSITORY": self.repository,
            "GITHUB_REPOSITORY_OWNER": owner,
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_RUN_ID": str(self.run_id),
            "GITHUB_RUN_NUMBER": str(self.steps),
            "GITHUB_SERVER_URL": self.server_url,
            "GITHUB_SHA": sha,
            "GITHUB_STATE": str(files / "save_state"),
            "GITHUB_STEP_SUMMARY": str(files / "step_summary"),
            "GITHUB_WORKFLOW": "gatekeeper",
            "GITHUB_WORKSPACE": str(self.workspace),
            "RUNNER_ARCH": "X64",
            "RUNNER_NAME": "GitHub Actions 2",
            "RUNNER_OS": "Linux",
            "RUNNER_TEMP": str(self.base / "runner_temp"),
            "RUNNER_WORKSPACE": str(self.base),
        }
        env.update(input_env(with_, token=token))
        return env

    def run(
        self,
        event_name: str,
        payload: Mapping[str, Any],
        *,
        token: str,
        with_: Mapping[str, str] | None = None,
        sha: str = "0" * 40,
        ref: str = "refs/heads/main",
        extra_env: Mapping[str, str] | None = None,
        argv: Sequence[str] | None = None,
        timeout: float = 180,
    ) -> StepResult:
        files, event_path = self.new_step(payload)
        (self.base / "home").mkdir(exist_ok=True)
        (self.base / "runner_temp").mkdir(exist_ok=True)
        env = self.env(
            event_name, event_path, sha=sha, ref=ref, token=token, with_=with_ or {}, files=files
        )
        env.update(extra_env or {})
        command = container_command()
        assert command[0] == "gatekeeper", command
        full = [self.executable, *command[1:], *(argv or ())]
        proc = subprocess.run(
            full,
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return step_result(proc, files, full, env)

    def new_step(self, payload: Mapping[str, Any]) -> tuple[Path, Path]:
        """A step's fresh file-command files and its event file: (file_commands dir, event
        path). The event sits alone in its directory (a Docker step mounts that directory)."""
        self.steps += 1
        self.run_id += 1
        step_dir = self.base / f"step{self.steps:02d}"
        files = step_dir / "file_commands"
        files.mkdir(parents=True)
        for name in ("set_output", "step_summary", "set_env", "add_path", "save_state"):
            (files / name).write_text("", encoding="utf-8")
        event_path = step_dir / "workflow" / "event.json"
        event_path.parent.mkdir()
        event_path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
        return files, event_path


def step_result(
    proc: subprocess.CompletedProcess[str], files: Path, argv: list[str], env: dict[str, str]
) -> StepResult:
    """What a step left: its exit code, output, GITHUB_OUTPUT and job summary."""
    return StepResult(
        returncode=proc.returncode,
        stdout=proc.stdout,
        stderr=proc.stderr,
        outputs=parse_output_file((files / "set_output").read_text(encoding="utf-8")),
        summary=(files / "step_summary").read_text(encoding="utf-8"),
        argv=argv,
        env=env,
    )


# ----------------------------------------------------------------------- payloads


def _load(name: str) -> dict[str, Any]:
    doc = json.loads((WEBHOOKS / name).read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _user(doc: dict[str, Any], login: str, uid: int, kind: str, server: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    out.update(login=login, id=uid, type=kind, html_url=f"{server}/{login}")
    return out


class Events:
    """Event payloads of the real webhook shapes, pointed at one repository and PR."""

    def __init__(self, repository: str, *, api_url: str, server_url: str = "https://github.com"):
        self.repository = repository
        self.api_url = api_url.rstrip("/")
        self.server_url = server_url

    def _repo(self, doc: dict[str, Any]) -> dict[str, Any]:
        owner, name = self.repository.split("/")
        out = copy.deepcopy(doc)
        out.update(
            name=name,
            full_name=self.repository,
            html_url=f"{self.server_url}/{self.repository}",
            url=f"{self.api_url}/repos/{self.repository}",
        )
        if isinstance(out.get("owner"), dict):
            out["owner"] = _user(
                out["owner"], owner, out["owner"].get("id", 1), "Organization", self.server_url
            )
        return out

    def _pull(self, doc: dict[str, Any], pr: Any) -> dict[str, Any]:
        out = copy.deepcopy(doc)
        out.update(
            number=pr.number,
            id=pr.id,
            state=pr.state,
            title=pr.title,
            body=pr.body,
            draft=pr.draft,
            user=_user(out["user"], pr.user.login, pr.user.id, pr.user.type, self.server_url),
            url=f"{self.api_url}/repos/{self.repository}/pulls/{pr.number}",
            html_url=f"{self.server_url}/{self.repository}/pull/{pr.number}",
        )
        for side, ref, sha in (
            ("head", pr.head_ref, pr.head_sha),
            ("base", pr.base_ref, pr.base_sha),
        ):
            part = out[side]
            part.update(ref=ref, sha=sha, label=f"{self.repository.split('/')[0]}:{ref}")
            part["repo"] = self._repo(part["repo"])
        return out

    def pull_request(self, pr: Any, action: str = "synchronize") -> dict[str, Any]:
        doc = _load("pull_request.synchronize.22.json")
        doc["action"] = action
        doc["number"] = pr.number
        doc["pull_request"] = self._pull(doc["pull_request"], pr)
        doc["repository"] = self._repo(doc["repository"])
        doc["sender"] = _user(
            doc["sender"], pr.user.login, pr.user.id, pr.user.type, self.server_url
        )
        return doc

    def review(self, pr: Any, review: Any, action: str = "submitted") -> dict[str, Any]:
        doc = _load("pull_request_review.submitted.0.json")
        doc["action"] = action
        doc["pull_request"] = self._pull(doc["pull_request"], pr)
        doc["repository"] = self._repo(doc["repository"])
        u = review.user
        rv = doc["review"]
        rv.update(
            id=review.id,
            body=review.body or None,
            commit_id=review.commit_id,
            state=review.state.lower(),
            submitted_at=review.submitted_at,
            user=_user(rv["user"], u.login, u.id, u.type, self.server_url),
        )
        doc["sender"] = _user(doc["sender"], u.login, u.id, u.type, self.server_url)
        return doc

    def issue_comment(self, pr: Any, comment: Any, action: str = "created") -> dict[str, Any]:
        doc = _load("issue_comment.created.0.json")
        doc["action"] = action
        issue = doc["issue"]
        issue.update(
            number=pr.number,
            title=pr.title,
            state=pr.state,
            user=_user(issue["user"], pr.user.login, pr.user.id, pr.user.type, self.server_url),
            url=f"{self.api_url}/repos/{self.repository}/issues/{pr.number}",
            html_url=f"{self.server_url}/{self.repository}/pull/{pr.number}",
        )
        # What GitHub adds when the issue is a pull request.
        issue["pull_request"] = {
            "url": f"{self.api_url}/repos/{self.repository}/pulls/{pr.number}",
            "html_url": f"{self.server_url}/{self.repository}/pull/{pr.number}",
            "diff_url": f"{self.server_url}/{self.repository}/pull/{pr.number}.diff",
            "patch_url": f"{self.server_url}/{self.repository}/pull/{pr.number}.patch",
            "merged_at": None,
        }
        u = comment.user
        doc["comment"].update(
            id=comment.id,
            body=comment.body,
            user=_user(doc["comment"]["user"], u.login, u.id, u.type, self.server_url),
        )
        doc["repository"] = self._repo(doc["repository"])
        doc["sender"] = _user(doc["sender"], u.login, u.id, u.type, self.server_url)
        return doc

    def workflow_run(self, pr: Any, run: Any) -> dict[str, Any]:
        doc = _load("workflow_run.completed.0.json")
        doc["action"] = "completed"
        wr = doc["workflow_run"]
        repo_url = f"{self.api_url}/repos/{self.repository}"
        wr.update(
            id=run.id,
            name=run.name,
            event=run.event,
            status=run.status,
            conclusion=run.conclusion,
            head_sha=run.head_sha,
            head_branch=run.head_branch,
            path=run.path,
            run_number=run.run_number,
            run_attempt=run.run_attempt,
            url=f"{repo_url}/actions/runs/{run.id}",
            html_url=f"{self.server_url}/{self.repository}/actions/runs/{run.id}",
            pull_requests=[
                {
                    "url": f"{repo_url}/pulls/{pr.number}",
                    "id": pr.id,
                    "number": pr.number,
                    "head": {
                        "ref": pr.head_ref,
                        "sha": pr.head_sha,
                        "repo": {"id": 1, "url": repo_url, "name": pr.repo.name},
                    },
                    "base": {
                        "ref": pr.base_ref,
                        "sha": pr.base_sha,
                        "repo": {"id": 1, "url": repo_url, "name": pr.repo.name},
                    },
                }
            ],
        )
        wr["repository"] = self._repo(wr["repository"])
        wr["head_repository"] = self._repo(wr["head_repository"])
        doc["repository"] = self._repo(doc["repository"])
        return doc

    def merge_group(self, pr: Any, group_sha: str, base_sha: str) -> dict[str, Any]:
        doc = _load("merge_group.checks_requested.0.json")
        doc["action"] = "checks_requested"
        mg = doc["merge_group"]
        mg.update(
            head_sha=group_sha,
            head_ref=f"refs/heads/gh-readonly-queue/{pr.base_ref}/pr-{pr.number}-{pr.head_sha}",
            base_sha=base_sha,
            base_ref=f"refs/heads/{pr.base_ref}",
        )
        mg["head_commit"]["id"] = group_sha
        doc["repository"] = self._repo(doc["repository"])
        return doc
