"""GitHub's JSON as the gate's facts (gatekeeper.pr.facts): pure, no requests.

A field the gate relies on that is missing or of the wrong type is an UnexpectedShape
(blocked like an unavailable GitHub), never a default.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gatekeeper.adapters.github_errors import UnexpectedShape
from gatekeeper.pr.facts import (
    Actor,
    ChangedFile,
    CommentFacts,
    CommitFacts,
    PullRequestFacts,
    ReviewFacts,
    dig,
)


def need(doc: Any, kind: type, *path: str) -> Any:
    """`doc[path...]` when it is a `kind`; else UnexpectedShape (never a guess)."""
    value = dig(doc, *path)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise UnexpectedShape(
            f"unexpected GitHub response: {'.'.join(path)} is not a {kind.__name__}",
            "a GitHub API change, or a proxy altering responses",
        )
    return value


def actor(user: Any, *, email: str | None = None, name: str | None = None) -> Actor | None:
    """A GitHub user object (simple-user) as an Actor; None for null (deleted account)."""
    if user is None:
        return None if email is None and name is None else Actor(None, None, None, email, name)
    uid = need(user, int, "id")
    login = need(user, str, "login")
    typ = user.get("type") if isinstance(user.get("type"), str) else None
    return Actor(uid, login, typ, email, name)


def _git_actor(user: Any, git: Any) -> Actor:
    email = dig(git, "email")
    name = dig(git, "name")
    email = email if isinstance(email, str) and email else None
    name = name if isinstance(name, str) and name else None
    a = actor(user, email=email, name=name) if isinstance(user, dict) else None
    return a or Actor(None, None, None, email, name)


def commit_facts(c: Any) -> CommitFacts:
    """One entry of `pulls/N/commits` as CommitFacts."""
    sha = need(c, str, "sha")
    message = dig(c, "commit", "message")
    return CommitFacts(
        sha=sha,
        author=_git_actor(dig(c, "author"), dig(c, "commit", "author")),
        committer=_git_actor(dig(c, "committer"), dig(c, "commit", "committer")),
        message=message if isinstance(message, str) else "",
        verified=dig(c, "commit", "verification", "verified") is True,
    )


def review_facts(r: Any) -> ReviewFacts:
    """One entry of `pulls/N/reviews` as ReviewFacts."""
    user = dig(r, "user")
    assoc = dig(r, "author_association")
    return ReviewFacts(
        id=need(r, int, "id"),
        user=actor(user) if isinstance(user, dict) else None,
        state=need(r, str, "state").upper(),
        commit_id=dig(r, "commit_id") if isinstance(dig(r, "commit_id"), str) else None,
        submitted_at=dig(r, "submitted_at") if isinstance(dig(r, "submitted_at"), str) else None,
        author_association=assoc.upper() if isinstance(assoc, str) else None,
    )


def comment_facts(c: Any) -> CommentFacts:
    """One issue comment as CommentFacts."""
    user = dig(c, "user")
    body = dig(c, "body")
    updated = dig(c, "updated_at")
    url = dig(c, "html_url")
    return CommentFacts(
        id=need(c, int, "id"),
        user=actor(user) if isinstance(user, dict) else None,
        body=body if isinstance(body, str) else "",
        created_at=need(c, str, "created_at"),
        updated_at=updated if isinstance(updated, str) else None,
        url=url if isinstance(url, str) else "",
    )


def file_facts(f: Any) -> ChangedFile:
    """One entry of `pulls/N/files` as a ChangedFile."""
    prev = dig(f, "previous_filename")
    return ChangedFile(
        path=need(f, str, "filename"),
        status=dig(f, "status") if isinstance(dig(f, "status"), str) else "modified",
        previous_path=prev if isinstance(prev, str) else None,
    )


def pr_facts(
    repo: str,
    pr: Any,
    commits: Iterable[Any],
    reviews: Iterable[Any],
    comments: Iterable[Any],
    files: Iterable[Any],
) -> PullRequestFacts:
    """The PR object and its lists as one PullRequestFacts snapshot."""
    author = actor(need(pr, dict, "user"))
    assert author is not None
    labels = tuple(
        str(lb["name"]) for lb in dig(pr, "labels") or [] if isinstance(lb, dict) and "name" in lb
    )
    head_repo = dig(pr, "head", "repo", "full_name")
    body = dig(pr, "body")
    clist = tuple(commit_facts(c) for c in commits)
    flist = tuple(file_facts(f) for f in files)
    # Fail closed: the counts are what tells a truncated list (250 commits, 3000 files) from
    # a complete one; without them the unseen commits and files could not be noticed.
    n_commits = need(pr, int, "commits")
    n_files = need(pr, int, "changed_files")
    if n_commits < 0 or n_files < 0:
        raise UnexpectedShape(
            "unexpected GitHub response: a negative commits or changed_files count",
            "a GitHub API change, or a proxy altering responses",
        )
    default_branch = dig(pr, "base", "repo", "default_branch")
    head_owner = dig(pr, "head", "repo", "owner", "login")
    return PullRequestFacts(
        repository=repo,
        number=need(pr, int, "number"),
        author=author,
        head_sha=need(pr, str, "head", "sha"),
        base_sha=need(pr, str, "base", "sha"),
        head_ref=need(pr, str, "head", "ref"),
        base_ref=need(pr, str, "base", "ref"),
        head_repository=head_repo if isinstance(head_repo, str) else None,
        title=str(dig(pr, "title") or ""),
        body=body if isinstance(body, str) else "",
        labels=labels,
        draft=dig(pr, "draft") is True,
        state=str(dig(pr, "state") or "open"),
        merged=dig(pr, "merged") is True,
        commits_count=n_commits,
        changed_files_count=n_files,
        default_branch=default_branch if isinstance(default_branch, str) else None,
        head_owner=head_owner if isinstance(head_owner, str) else None,
        commits=clist,
        reviews=tuple(review_facts(r) for r in reviews),
        comments=tuple(comment_facts(c) for c in comments),
        files=flist,
    )
