"""Scenes on the local GitHub server (tests/ghserver): the repository, its people, and the
agent's and the human's pull requests the gate tests start from; the real webhook payloads
rewritten to point at them."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from tests.ghserver.state import Pull, State

WEBHOOKS = Path(__file__).resolve().parents[1] / "data" / "webhooks"
REPO = "acme/infra"
POLICY_YML = "production:\n  tag_attributes: [triggers]\n"


def base_repo(st: State, policy: str = POLICY_YML) -> None:
    """acme/infra with `policy` on main; op, alice, bob and carol can write; Copilot is a bot."""
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
    """op's own PR, one commit."""
    commit = {"message": "Change", "author": "op", "contents": {"main.tf": "# x\n"}}
    kw.setdefault("commits", [commit])
    return st.add_pull(author="op", **kw)


def hook(name: str) -> dict[str, Any]:
    """A real webhook payload from tests/data/webhooks."""
    doc: dict[str, Any] = json.loads((WEBHOOKS / name).read_text())
    return doc


def pr_event(pr: Pull, name: str = "pull_request.synchronize.22.json") -> dict[str, Any]:
    """A real webhook payload, rewritten to point at the server's repository, PR and commits."""
    doc = copy.deepcopy(hook(name))
    doc["repository"]["full_name"] = REPO
    doc["repository"]["name"] = REPO.split("/")[1]
    p = doc["pull_request"]
    p["number"] = pr.number
    p["head"]["sha"] = pr.head_sha
    p["head"]["ref"] = pr.head_ref
    p["base"]["sha"] = pr.base_sha
    p["base"]["ref"] = pr.base_ref
    return doc
