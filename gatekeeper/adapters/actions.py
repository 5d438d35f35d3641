"""The GitHub Actions runtime: environment, inputs, the event payload, outputs, job summary.

Everything read here is checked: a malformed or foreign event payload is an EventError
(exit 2 with a one-line cause), never a guess.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatekeeper.errors import EventError
from gatekeeper.pr.facts import dig

SUPPORTED_EVENTS = (
    "pull_request",
    "pull_request_target",
    "pull_request_review",
    "issue_comment",
    "workflow_run",
    "merge_group",
    "workflow_dispatch",
)
REVIEW_ACTIONS = ("submitted", "edited", "dismissed")
_SHA = re.compile(r"^[0-9a-f]{40}$")
_REPO = re.compile(r"^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$")
_MERGE_QUEUE_REF = re.compile(r"^refs/heads/gh-readonly-queue/.+/pr-(\d+)-([0-9a-f]{40})$")
_OUTPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
MAX_EVENT_BYTES = 25 * 1024 * 1024


def get_input(env: Mapping[str, str], name: str) -> str | None:
    """An action input: `INPUT_<NAME>` as the runner sets it (upper case, spaces to `_`,
    hyphens kept), also accepted with hyphens and underscores swapped. Blank is None."""
    key = name.replace(" ", "_").upper()
    for k in (f"INPUT_{key}", f"INPUT_{key.replace('-', '_')}", f"INPUT_{key.replace('_', '-')}"):
        value = env.get(k)
        if value is not None and value.strip():
            return value.strip()
    return None


def input_flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    """An action input as a boolean (true/yes/1/on, false/no/0/off); `default` when unset."""
    value = get_input(env, name)
    if value is None:
        return default
    low = value.lower()
    if low in ("true", "yes", "1", "on"):
        return True
    if low in ("false", "no", "0", "off"):
        return False
    raise EventError(f"input {name}: {value!r} is not a boolean", "use true or false")


@dataclass(frozen=True, slots=True)
class ActionsEnv:
    event_name: str
    event_path: str
    repository: str
    api_url: str
    server_url: str
    token: str
    output_path: str | None
    summary_path: str | None
    run_id: str | None
    run_attempt: str | None

    @property
    def run_url(self) -> str | None:
        """The URL of this workflow run; None outside Actions."""
        if not self.run_id:
            return None
        return f"{self.server_url.rstrip('/')}/{self.repository}/actions/runs/{self.run_id}"


def read_env(env: Mapping[str, str]) -> ActionsEnv:
    """The runner's environment. Missing pieces are one-line EventErrors."""
    name = env.get("GITHUB_EVENT_NAME", "").strip()
    if not name:
        raise EventError(
            "GITHUB_EVENT_NAME is not set: not running in GitHub Actions",
            "run `gatekeeper gate` from a workflow, or set GITHUB_EVENT_NAME and GITHUB_EVENT_PATH",
        )
    path = env.get("GITHUB_EVENT_PATH", "").strip()
    if not path:
        raise EventError(
            "GITHUB_EVENT_PATH is not set", "the runner sets it; set it by hand to test"
        )
    repo = env.get("GITHUB_REPOSITORY", "").strip()
    if not _REPO.match(repo):
        raise EventError(
            f"GITHUB_REPOSITORY {repo!r} is not owner/name", "the runner sets it, e.g. acme/infra"
        )
    token = get_input(env, "github-token") or env.get("GITHUB_TOKEN", "").strip()
    if not token:
        raise EventError(
            "no GitHub token: neither the github-token input nor GITHUB_TOKEN is set",
            "pass `github-token: ${{ github.token }}` to the action",
        )
    api = env.get("GITHUB_API_URL", "").strip() or "https://api.github.com"
    if not re.match(r"^https?://[^/\s]+", api):
        raise EventError(f"GITHUB_API_URL {api!r} is not an http(s) URL")
    return ActionsEnv(
        event_name=name,
        event_path=path,
        repository=repo,
        api_url=api.rstrip("/"),
        server_url=(env.get("GITHUB_SERVER_URL", "").strip() or "https://github.com").rstrip("/"),
        token=token,
        output_path=env.get("GITHUB_OUTPUT") or None,
        summary_path=env.get("GITHUB_STEP_SUMMARY") or None,
        run_id=env.get("GITHUB_RUN_ID") or None,
        run_attempt=env.get("GITHUB_RUN_ATTEMPT") or None,
    )


def load_event(path: str) -> dict[str, Any]:
    """The webhook payload at $GITHUB_EVENT_PATH as a dict; EventError when unreadable."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_EVENT_BYTES + 1)
    except FileNotFoundError:
        raise EventError(f"{path}: event file not found", "check GITHUB_EVENT_PATH") from None
    except OSError as exc:
        raise EventError(f"{path}: cannot read the event file: {exc.strerror}") from None
    if len(data) > MAX_EVENT_BYTES:
        raise EventError(f"{path}: the event file is larger than 25 MiB")
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise EventError(f"{path}: the event file is not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise EventError(f"{path}: the event payload is not a JSON object")
    return doc


@dataclass(frozen=True, slots=True)
class HeadLookup:
    """A workflow_run without a linked PR (fork PRs): find the open PR by its head."""

    owner: str
    branch: str
    sha: str


@dataclass(frozen=True, slots=True)
class GateEvent:
    name: str
    action: str | None
    repository: str
    pr_numbers: tuple[int, ...] = ()
    event_sha: str | None = None  # the commit the event is about (may be behind the PR head)
    check_sha: str | None = None  # report here instead of the PR head (merge_group)
    lookup: HeadLookup | None = None
    skip: str | None = None  # not about a PR: exit 0 with this note


def _need(doc: Any, what: str, *path: str, kind: type = str) -> Any:
    value = dig(doc, *path)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise EventError(
            f"malformed {what} event: {'.'.join(path)} is missing or not a {kind.__name__}",
            "the payload is not what GitHub sends for this event",
        )
    return value


def _pr_number(value: Any, what: str) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise EventError(f"{what}: {value!r} is not a pull request number")
    return value


def _sha(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _SHA.match(value):
        raise EventError(f"malformed event: {what} {value!r} is not a commit SHA")
    return value


def parse_event(
    name: str, payload: Mapping[str, Any], repository: str, *, pr_number: int | None = None
) -> GateEvent:
    """What the event is about. `pr_number` (from --pr) serves workflow_dispatch."""
    if name not in SUPPORTED_EVENTS:
        raise EventError(
            f"event {name!r} is not supported by `gatekeeper gate`",
            "trigger it on: " + ", ".join(SUPPORTED_EVENTS),
        )
    action = payload.get("action")
    action = action if isinstance(action, str) else None
    if name != "workflow_dispatch" or "repository" in payload:
        full = _need(payload, name, "repository", "full_name")
        if full.casefold() != repository.casefold():
            raise EventError(
                f"foreign event: the payload is for {full}, this run is for {repository}",
                "the event file does not belong to this repository",
            )
    ev = GateEvent(name, action, repository)

    if name in ("pull_request", "pull_request_target", "pull_request_review"):
        if name == "pull_request_review" and action not in REVIEW_ACTIONS:
            return _skip(ev, f"review action {action!r} does not change approvals")
        if action == "closed":
            return _skip(ev, "the pull request is closed")
        number = _pr_number(_need(payload, name, "pull_request", "number", kind=int), name)
        sha = _sha(_need(payload, name, "pull_request", "head", "sha"), "pull_request.head.sha")
        return GateEvent(name, action, repository, (number,), event_sha=sha)

    if name == "issue_comment":
        issue = _need(payload, name, "issue", kind=dict)
        if not isinstance(issue.get("pull_request"), dict):
            return _skip(ev, "the comment is on an issue, not a pull request")
        number = _pr_number(_need(payload, name, "issue", "number", kind=int), name)
        return GateEvent(name, action, repository, (number,))

    if name == "workflow_run":
        run = _need(payload, name, "workflow_run", kind=dict)
        sha = _sha(run.get("head_sha"), "workflow_run.head_sha")
        numbers: list[int] = []
        for pr in run.get("pull_requests") or []:
            if not isinstance(pr, dict):
                continue
            base_url = str(dig(pr, "base", "repo", "url") or "")
            if not base_url.casefold().endswith(f"/repos/{repository}".casefold()):
                continue  # a PR of another repository (GitHub lists those too)
            if dig(pr, "head", "sha") != sha:
                continue
            numbers.append(_pr_number(pr.get("number"), "workflow_run.pull_requests[].number"))
        lookup = None
        if not numbers:
            owner = dig(run, "head_repository", "owner", "login")
            branch = run.get("head_branch")
            if not isinstance(owner, str) or not isinstance(branch, str) or not branch:
                return _skip(ev, "the workflow run is not linked to a pull request")
            lookup = HeadLookup(owner, branch, sha)
        return GateEvent(name, action, repository, tuple(numbers), event_sha=sha, lookup=lookup)

    if name == "merge_group":
        group = _need(payload, name, "merge_group", kind=dict)
        head_sha = _sha(group.get("head_sha"), "merge_group.head_sha")
        ref = group.get("head_ref")
        m = _MERGE_QUEUE_REF.match(ref) if isinstance(ref, str) else None
        if not m:
            raise EventError(f"malformed merge_group event: head_ref {ref!r} names no PR")
        return GateEvent(
            name, action, repository, (int(m.group(1)),), event_sha=m.group(2), check_sha=head_sha
        )

    # workflow_dispatch
    inputs = payload.get("inputs")
    value: Any = pr_number
    if value is None and isinstance(inputs, dict):
        for key in ("pr", "pr-number", "pr_number", "pull_request", "pull-request", "number"):
            if inputs.get(key) not in (None, ""):
                value = inputs[key]
                break
    if value is None:
        raise EventError(
            "workflow_dispatch needs a pull request number",
            "add a `pr` input to the workflow, or pass --pr N",
        )
    return GateEvent(name, action, repository, (_pr_number(value, "workflow_dispatch input"),))


def _skip(ev: GateEvent, why: str) -> GateEvent:
    return GateEvent(ev.name, ev.action, ev.repository, skip=why)


# --------------------------------------------------------------------------- outputs


def format_outputs(values: Mapping[str, str]) -> str:
    """GITHUB_OUTPUT's file-command format; every value uses a random heredoc delimiter,
    so no value (multi-line or hostile) can end it early or inject another output."""
    out: list[str] = []
    for name, value in values.items():
        if not _OUTPUT_NAME.match(name):
            raise ValueError(f"bad output name {name!r}")
        while True:
            delim = f"ghadelimiter_{uuid.uuid4()}"
            if delim not in value and delim not in name:
                break
        out.append(f"{name}<<{delim}\n{value}\n{delim}\n")
    return "".join(out)


def write_outputs(path: str | None, values: Mapping[str, str]) -> None:
    if not path:
        return
    _append(path, format_outputs(values), "GITHUB_OUTPUT")


def append_summary(path: str | None, markdown: str) -> None:
    if not path:
        return
    _append(path, markdown if markdown.endswith("\n") else markdown + "\n", "GITHUB_STEP_SUMMARY")


def _append(path: str, text: str, what: str) -> None:
    try:
        with open(path, "a", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
    except OSError as exc:
        raise EventError(f"{what} ({path}): cannot write: {exc.strerror}") from None


def environ() -> Mapping[str, str]:
    """The process environment (the one place the gate reads it)."""
    return os.environ
