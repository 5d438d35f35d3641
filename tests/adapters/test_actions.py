from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.adapters.actions import (
    append_summary,
    format_outputs,
    get_input,
    input_flag,
    load_event,
    parse_event,
    read_env,
    write_outputs,
)
from gatekeeper.errors import EventError

WEBHOOKS = Path(__file__).resolve().parents[1] / "data" / "webhooks"


def hook(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((WEBHOOKS / name).read_text())
    return doc


BASE_ENV = {
    "GITHUB_EVENT_NAME": "pull_request",
    "GITHUB_EVENT_PATH": "/tmp/event.json",
    "GITHUB_REPOSITORY": "Codertocat/Hello-World",
    "GITHUB_TOKEN": "t0ken",
}


# ------------------------------------------------------------------------ environment


def test_inputs_in_hyphen_and_underscore_forms() -> None:
    assert get_input({"INPUT_GITHUB-TOKEN": "a"}, "github-token") == "a"
    assert get_input({"INPUT_GITHUB_TOKEN": "b"}, "github-token") == "b"
    assert get_input({"INPUT_PLAN-WORKFLOW": "c"}, "plan_workflow") == "c"
    assert get_input({"INPUT_GITHUB-TOKEN": "  "}, "github-token") is None
    assert get_input({}, "github-token") is None
    assert input_flag({"INPUT_COMMIT-STATUS": "True"}, "commit-status") is True
    assert input_flag({}, "commit-status") is False
    with pytest.raises(EventError):
        input_flag({"INPUT_COMMIT-STATUS": "maybe"}, "commit-status")


def test_read_env_token_from_input_wins() -> None:
    env = read_env({**BASE_ENV, "INPUT_GITHUB-TOKEN": "from-input"})
    assert env.token == "from-input"
    assert env.api_url == "https://api.github.com"
    ghes = read_env({**BASE_ENV, "GITHUB_API_URL": "https://ghe.acme.example/api/v3/"})
    assert ghes.api_url == "https://ghe.acme.example/api/v3"


@pytest.mark.parametrize(
    ("drop", "set_", "msg"),
    [
        ("GITHUB_TOKEN", {}, "no GitHub token"),
        ("GITHUB_EVENT_NAME", {}, "GITHUB_EVENT_NAME is not set"),
        ("GITHUB_EVENT_PATH", {}, "GITHUB_EVENT_PATH is not set"),
        (None, {"GITHUB_REPOSITORY": "nope"}, "is not owner/name"),
        (None, {"GITHUB_API_URL": "ftp://x"}, "not an http(s) URL"),
    ],
)
def test_read_env_errors(drop: str | None, set_: dict[str, str], msg: str) -> None:
    env = {**BASE_ENV, **set_}
    if drop:
        del env[drop]
    with pytest.raises(EventError, match=re.escape(msg)) as err:
        read_env(env)
    assert err.value.exit_code == 2


def test_load_event_errors(tmp_path: Path) -> None:
    with pytest.raises(EventError, match="not found"):
        load_event(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(EventError, match="not valid JSON"):
        load_event(str(bad))
    bad.write_text("[1, 2]")
    with pytest.raises(EventError, match="not a JSON object"):
        load_event(str(bad))


# ----------------------------------------------------------------------------- events

REPO = "Codertocat/Hello-World"
HEAD = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"


@pytest.mark.parametrize(
    "name",
    [
        "pull_request.opened.0.json",
        "pull_request.synchronize.22.json",
        "pull_request.labeled.8.json",
        "pull_request_review.submitted.0.json",
        "pull_request_review.dismissed.1.json",
    ],
)
def test_pull_request_events(name: str) -> None:
    event = name.split(".")[0]
    ev = parse_event(event, hook(name), REPO)
    assert ev.pr_numbers == (2,) and ev.event_sha == HEAD and ev.skip is None


def test_pull_request_target_uses_the_same_payload() -> None:
    ev = parse_event("pull_request_target", hook("pull_request.opened.0.json"), REPO)
    assert ev.pr_numbers == (2,)


def test_closed_pr_is_skipped() -> None:
    ev = parse_event("pull_request", hook("pull_request.closed.3.json"), REPO)
    assert ev.skip == "the pull request is closed" and ev.pr_numbers == ()


def test_issue_comment_on_an_issue_is_skipped_quickly() -> None:
    ev = parse_event("issue_comment", hook("issue_comment.created.0.json"), REPO)
    assert ev.skip is not None and "not a pull request" in ev.skip


def test_issue_comment_on_a_pr() -> None:
    doc = hook("issue_comment.edited.7.json")
    doc["issue"]["pull_request"] = {"url": "https://api.github.com/repos/x/y/pulls/1"}
    ev = parse_event("issue_comment", doc, REPO)
    assert ev.pr_numbers == (1,) and ev.skip is None


def test_workflow_run_links_only_prs_of_this_repository() -> None:
    doc = hook("workflow_run.completed.2.json")
    pr = doc["workflow_run"]["pull_requests"][0]
    pr["head"]["sha"] = doc["workflow_run"]["head_sha"]
    # the example's linked PR belongs to another repository: not trusted, look up by head
    ev = parse_event("workflow_run", doc, "octo-org/octo-repo")
    assert ev.pr_numbers == ()
    assert ev.lookup is not None and ev.lookup.branch == "master"
    assert ev.event_sha == "3484a3fb816e0859fd6e1cea078d76385ff50625"
    # rewritten to this repository: linked
    pr["base"]["repo"]["url"] = "https://api.github.com/repos/octo-org/octo-repo"
    ev = parse_event("workflow_run", doc, "octo-org/octo-repo")
    assert ev.pr_numbers == (2,) and ev.lookup is None
    # a linked PR whose head is another commit: not this run's PR
    pr["head"]["sha"] = "f" * 40
    assert parse_event("workflow_run", doc, "octo-org/octo-repo").pr_numbers == ()


def test_merge_group() -> None:
    ev = parse_event(
        "merge_group", hook("merge_group.checks_requested.0.json"), "octo-org/octo-repo"
    )
    assert ev.pr_numbers == (104,)
    assert ev.event_sha == "929f8209d40f77f4abc622a499c93a83babdbe64"
    assert ev.check_sha == "2ffea6db159f6b6c47a24e778fb9ef40cf6b1c7d"


def test_workflow_dispatch() -> None:
    doc = {"inputs": {"pr": "12"}, "repository": {"full_name": REPO}}
    assert parse_event("workflow_dispatch", doc, REPO).pr_numbers == (12,)
    assert parse_event("workflow_dispatch", {"inputs": {}}, REPO, pr_number=5).pr_numbers == (5,)
    with pytest.raises(EventError, match="needs a pull request number"):
        parse_event("workflow_dispatch", {"inputs": {}}, REPO)
    with pytest.raises(EventError, match="not a pull request number"):
        parse_event("workflow_dispatch", {"inputs": {"pr": "abc"}}, REPO)


def test_foreign_payload_is_refused() -> None:
    with pytest.raises(EventError, match="foreign event"):
        parse_event("pull_request", hook("pull_request.opened.0.json"), "acme/infra")


def test_unsupported_event() -> None:
    with pytest.raises(EventError, match="not supported"):
        parse_event("check_run", hook("check_run.created.0.json"), REPO)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("pull_request", "number"), "2"),
        (("pull_request", "number"), True),
        (("pull_request", "number"), -1),
        (("pull_request", "head", "sha"), "not-a-sha"),
        (("pull_request",), None),
        (("repository",), None),
    ],
)
def test_malformed_pull_request_payloads(path: tuple[str, ...], value: Any) -> None:
    doc = copy.deepcopy(hook("pull_request.opened.0.json"))
    node = doc
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    with pytest.raises(EventError) as err:
        parse_event("pull_request", doc, REPO)
    assert err.value.exit_code == 2 and "\n" not in err.value.message


def test_malformed_merge_group_ref() -> None:
    doc = hook("merge_group.checks_requested.0.json")
    doc["merge_group"]["head_ref"] = "refs/heads/main"
    with pytest.raises(EventError, match="names no PR"):
        parse_event("merge_group", doc, "octo-org/octo-repo")


# ---------------------------------------------------------------------------- outputs


def parse_outputs(text: str) -> dict[str, str]:
    """Parse GITHUB_OUTPUT the way the runner does (heredoc form)."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines) - 1:
        name, delim = lines[i].split("<<", 1)
        j = lines.index(delim, i + 1)
        out[name] = "\n".join(lines[i + 1 : j])
        i = j + 1
    return out


def test_outputs_survive_hostile_values(tmp_path: Path) -> None:
    path = tmp_path / "out"
    path.write_text("")
    values = {
        "decision": "block",
        "headline": "line1\nline2\ninjected<<EOF\nEOF",
        "plan_digest": "a" * 64,
    }
    write_outputs(str(path), values)
    write_outputs(str(path), {"second": "x"})
    assert parse_outputs(path.read_text()) == {**values, "second": "x"}
    with pytest.raises(ValueError):
        format_outputs({"bad\nname": "x"})
    write_outputs(None, values)  # outside Actions: a no-op


def test_summary_appends(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    append_summary(str(path), "# one")
    append_summary(str(path), "two\n")
    assert path.read_text() == "# one\ntwo\n"
    with pytest.raises(EventError, match="cannot write"):
        append_summary(str(tmp_path / "no" / "such" / "dir"), "x")
