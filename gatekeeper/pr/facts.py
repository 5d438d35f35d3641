"""The pull request snapshot: everything the gate knows about a PR, read once, up front.

Pure data. The GitHub adapter fills it from authenticated API responses; the core
(authorship, approvals, decision) reads only this and never calls back into the network.
Strings here are untrusted text (logins, branch names, commit messages, comment bodies).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# GitHub lists at most this many commits for a pull request (GET /pulls/{n}/commits).
COMMITS_LIST_CAP = 250
# ... and at most this many changed files (GET /pulls/{n}/files).
FILES_LIST_CAP = 3000

# GitHub's own committer for web-UI merges, edits and squashes: not a person, not an agent.
WEB_FLOW_LOGINS = frozenset({"web-flow"})
WEB_FLOW_EMAILS = frozenset({"noreply@github.com"})

# GitHub's author_association values of people with a standing in the repository: the owner,
# members of the owning organization and invited collaborators. Every other value
# (CONTRIBUTOR, FIRST_TIME_CONTRIBUTOR, FIRST_TIMER, MANNEQUIN, NONE) is anyone at all.
TRUSTED_ASSOCIATIONS = frozenset({"OWNER", "MEMBER", "COLLABORATOR"})

_NOREPLY = re.compile(
    r"^(?:(?P<id>\d+)\+)?(?P<login>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?)"
    r"@users\.noreply\.(?:github\.com|[A-Za-z0-9.-]+)$",
    re.IGNORECASE,
)


def dig(doc: Any, *path: str) -> Any:
    """`doc[path[0]][path[1]]...` through JSON objects; None where a step is missing or
    not an object (GitHub payloads and API answers are read with this, then type-checked)."""
    for p in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(p)
    return doc


@dataclass(frozen=True, slots=True)
class Actor:
    """A GitHub account and/or a git identity.

    `id`, `login`, `type` come from GitHub's authenticated account data (None when the git
    identity is not linked to an account); `email` and `name` are git text (self-reported).
    """

    id: int | None = None
    login: str | None = None
    type: str | None = None  # "User" | "Bot" | "Organization" | None
    email: str | None = None
    name: str | None = None

    @property
    def is_bot(self) -> bool:
        """A GitHub App or bot account: type Bot or the `[bot]` login suffix."""
        return self.type == "Bot" or (self.login or "").casefold().endswith("[bot]")

    @property
    def is_web_flow(self) -> bool:
        """GitHub's web committer (merges and edits made in the web UI)."""
        if self.login is not None:
            return self.login.casefold() in WEB_FLOW_LOGINS
        return (self.email or "").casefold() in WEB_FLOW_EMAILS

    @property
    def display(self) -> str:
        if self.login:
            return f"@{self.login}"
        if self.name and self.email:
            return f"{self.name} <{self.email}>"
        return self.email or self.name or "(unknown)"


def noreply_identity(email: str | None) -> tuple[int | None, str] | None:
    """`12345+alice@users.noreply.github.com` -> (12345, "alice"); not a noreply address: None.

    GitHub issues these addresses per account, so the login in them names that account."""
    if not email:
        return None
    m = _NOREPLY.match(email.strip())
    if not m:
        return None
    uid = m.group("id")
    return (int(uid) if uid else None, m.group("login"))


@dataclass(frozen=True, slots=True)
class CommitFacts:
    sha: str
    author: Actor  # linked account (if any) + git author name/email
    committer: Actor  # linked account (if any) + git committer name/email
    message: str = ""
    verified: bool = False  # GitHub's signature verification of the commit


@dataclass(frozen=True, slots=True)
class ReviewFacts:
    id: int
    user: Actor | None  # None: a deleted account ("ghost")
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED | PENDING
    commit_id: str | None
    submitted_at: str | None  # ISO 8601, as GitHub sent it
    # GitHub's author_association of the reviewer with the repository (OWNER, MEMBER,
    # COLLABORATOR, CONTRIBUTOR, NONE, ...): authenticated API data. None: not sent (unknown).
    author_association: str | None = None


@dataclass(frozen=True, slots=True)
class CommentFacts:
    id: int
    user: Actor | None
    body: str
    created_at: str
    updated_at: str | None = None
    url: str = ""


@dataclass(frozen=True, slots=True)
class ChangedFile:
    path: str
    status: str = "modified"  # added | removed | modified | renamed | copied | changed | unchanged
    previous_path: str | None = None


@dataclass(frozen=True, slots=True)
class PullRequestFacts:
    repository: str  # owner/name of the base repository
    number: int
    author: Actor
    head_sha: str
    base_sha: str
    head_ref: str
    base_ref: str
    head_repository: str | None = None  # owner/name; differs from repository for forks
    title: str = ""
    body: str = ""
    labels: tuple[str, ...] = ()
    draft: bool = False
    state: str = "open"
    merged: bool = False
    commits_count: int = 0  # what the PR says; the list may be shorter (COMMITS_LIST_CAP)
    changed_files_count: int = 0
    commits: tuple[CommitFacts, ...] = ()
    reviews: tuple[ReviewFacts, ...] = ()
    comments: tuple[CommentFacts, ...] = ()
    files: tuple[ChangedFile, ...] = ()
    # login (casefolded) -> permission ("admin", "maintain", "write", "triage", "read", "none");
    # only the reviewers the policy needed looked up. A reviewer missing here is unknown.
    permissions: Mapping[str, str] = field(default_factory=dict)
    # "org/team" -> casefolded logins of the looked-up reviewers who are active members.
    team_members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # The base repository's default branch as the PR object names it (None: not sent).
    default_branch: str | None = None
    # The owner of the head repository (a fork's owner), from the PR object.
    head_owner: str | None = None
    # Everyone GitHub's activity API shows pushing or force-pushing to the head branch (or,
    # for a fork, its owner): operators, never a second person. `pushers_unknown`: why they
    # could not be read (fail closed: the gate blocks); None when read.
    pushers: tuple[Actor, ...] = ()
    pushers_unknown: str | None = None

    @property
    def commits_truncated(self) -> bool:
        """GitHub lists at most 250 commits: beyond that, commit authors are unseen."""
        return self.commits_count > len(self.commits)

    @property
    def files_truncated(self) -> bool:
        return self.changed_files_count > len(self.files)

    @property
    def is_fork(self) -> bool:
        return self.head_repository is not None and (
            self.head_repository.casefold() != self.repository.casefold()
        )
