"""Builders for the gate's unit tests (pure: no server, no network): PR facts, people,
reviews and comments, the policy, and plan analyses of the real Terraform fixtures."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from gatekeeper.classify import Analysis, analyze
from gatekeeper.plan.parse import parse_plan
from gatekeeper.policy.load import parse_policy
from gatekeeper.policy.model import Policy
from gatekeeper.pr.facts import (
    Actor,
    ChangedFile,
    CommentFacts,
    CommitFacts,
    PullRequestFacts,
    ReviewFacts,
)

HEAD = "h" * 40
OLD = "0" * 40
BASE = "b" * 40

ALICE = Actor(1, "alice", "User")
BOB = Actor(2, "bob", "User")
CAROL = Actor(3, "carol", "User")
DAVE = Actor(4, "dave", "User")
OPERATOR = Actor(10, "op", "User", "op@acme.example", "Op Erator")
COPILOT = Actor(198982749, "Copilot", "Bot")
ACTIONS_BOT = Actor(41898282, "github-actions[bot]", "Bot")
WEB_FLOW = Actor(19864447, "web-flow", "User", "noreply@github.com", "GitHub")


def sha(n: int) -> str:
    return hashlib.sha1(str(n).encode()).hexdigest()


def commit(
    n: int,
    author: Actor = OPERATOR,
    committer: Actor | None = None,
    message: str = "change",
) -> CommitFacts:
    return CommitFacts(sha(n), author, committer or author, message)


_review_ids = iter(range(1000, 10**6))


def review(
    user: Actor | None,
    state: str = "APPROVED",
    commit_id: str = HEAD,
    at: str = "2026-01-01T10:00:00Z",
    id: int | None = None,
    association: str | None = "COLLABORATOR",
) -> ReviewFacts:
    """A review; `association` is GitHub's author_association (default: a collaborator, so
    that approvals.require_association, on by default, lets it count)."""
    return ReviewFacts(id or next(_review_ids), user, state, commit_id, at, association)


def comment(n: int, user: Actor, body: str) -> CommentFacts:
    return CommentFacts(n, user, body, "2026-01-01T10:00:00Z")


def facts(**kw: Any) -> PullRequestFacts:
    commits = kw.pop("commits", (commit(1),))
    base: dict[str, Any] = {
        "repository": "acme/infra",
        "number": 7,
        "author": kw.pop("author", OPERATOR),
        "head_sha": HEAD,
        "base_sha": BASE,
        "head_ref": "feature/x",
        "base_ref": "main",
        "commits": tuple(commits),
        "commits_count": len(commits),
    }
    base.update(kw)
    if "files" in base:
        base["files"] = tuple(
            f if isinstance(f, ChangedFile) else ChangedFile(f) for f in base["files"]
        )
        base.setdefault("changed_files_count", len(base["files"]))
    base["reviews"] = tuple(base.get("reviews", ()))
    return PullRequestFacts(**base)


# ------------------------------------------------------------- policy and plan analysis

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "terraform"
POLICY_YML = "production:\n  tag_attributes: [triggers]\n"


def policy(extra: str = "") -> Policy:
    """The tests' policy (production marked by the `triggers` tag) plus `extra` YAML."""
    return parse_policy((POLICY_YML + extra).encode(), source="test")


def analysis(scenario: str, pol: Policy | None = None) -> Analysis:
    """The analysis of a real Terraform plan from fixtures/terraform/<scenario>/plan.json."""
    data = (FIXTURES / scenario / "plan.json").read_bytes()
    plan = parse_plan(data, label="prod", path=f"{scenario}/plan.json")
    return analyze([plan], pol or policy())
