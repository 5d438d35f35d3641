"""The sticky PR comment: one per pull request (per plan-label set), edited in place.

Which comment is ours: its body contains the hidden marker (`<!-- gatekeeper:sticky:KEY -->`)
*and* its author is the token's own user. Anyone can paste the marker into a comment; only
the token's user can author one, so a planted marker is never edited, deleted or trusted.

Who the token's user is must come from the caller (`self_login`): `GET /user` answers 403
"Resource not accessible by integration" for the `GITHUB_TOKEN` and for GitHub App
installation tokens. For the `GITHUB_TOKEN` it is `github-actions[bot]`; for an App, the
App's bot (`<app-slug>[bot]`); for a personal token, that user's login.

Never duplicated:
- all comments are listed (100 per page, every page) before anything is written;
- an existing comment is edited in place, and left alone when its body is already right;
- a create whose answer was lost (timeout, reset, 5xx) is followed by a fresh listing, and
  is retried only when the comment is really not there;
- after a create the comments are listed again: if two runs raced and both created one,
  every run keeps the oldest (by creation time, then id: the same choice everywhere) and
  deletes the others, then puts its body into the one kept.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import requests
from github.GithubException import GithubException
from github.IssueComment import IssueComment
from github.PaginatedList import PaginatedList

from gatekeeper.errors import ApiError

Action = Literal["created", "updated", "unchanged"]
PER_PAGE = 100
# Seconds to wait, after a create whose answer was lost, before listing to see whether it
# landed anyway; one entry per retry (so 1 + len attempts in all).
RETRY_DELAYS = (2.0, 5.0)
# How far before "now" a comment missing from the gate's snapshot can have been created: the
# snapshot is taken at the start of the same job, whose time budget is a few minutes.
SNAPSHOT_MARGIN = timedelta(minutes=15)
# Added to a measured snapshot age: GitHub's own timestamps and request latency.
CLOCK_SLACK = timedelta(seconds=60)

_HINT = "check the token's permissions (`pull-requests: write` or `issues: write`) and retry"


def _norm(body: str | None) -> str:
    return (body or "").replace("\r\n", "\n")


def _api_error(what: str, exc: Exception) -> ApiError:
    if isinstance(exc, GithubException):
        msg = exc.data.get("message") if isinstance(exc.data, dict) else None
        return ApiError(f"{what}: GitHub answered {exc.status}: {msg or exc}", _HINT)
    return ApiError(f"{what}: {type(exc).__name__}: {exc}", "a network problem: retry the job")


def _ambiguous(exc: Exception) -> bool:
    """Could the request have been carried out although no answer came back?"""
    if isinstance(exc, GithubException):
        return exc.status >= 500
    return isinstance(exc, requests.RequestException | OSError)


def list_own_marked(
    repo: Any, pr_number: int, marker: str, self_login: str, *, since: datetime | None = None
) -> list[Any]:
    """Comments on the PR that carry `marker` and were written by `self_login`, oldest first.
    `since`: only comments updated after it (GitHub's `since` parameter: one page, not all)."""
    params: dict[str, Any] = {"per_page": PER_PAGE}
    if since is not None:
        params["since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    comments: PaginatedList[IssueComment] = PaginatedList(
        IssueComment,
        repo.requester,
        f"{repo.url}/issues/{pr_number}/comments",
        params,
    )
    me = self_login.casefold()
    try:
        mine = [
            c
            for c in comments
            if c.user is not None and c.user.login.casefold() == me and marker in _norm(c.body)
        ]
    except (GithubException, requests.RequestException, OSError) as exc:
        raise _api_error(f"listing the comments of PR #{pr_number}", exc) from None
    return sorted(mine, key=lambda c: (c.created_at, c.id))


def own_marked_from_snapshot(
    repo: Any, known: Sequence[Any], marker: str, self_login: str
) -> list[Any]:
    """Like list_own_marked, from comments the gate's PR snapshot already holds (objects with
    id, user.login, body, created_at): saves re-listing every page. The comments become
    PyGithub objects that can be edited or deleted without fetching them first."""
    me = self_login.casefold()
    out = []
    for c in known:
        login = getattr(getattr(c, "user", None), "login", None)
        if not login or login.casefold() != me or marker not in _norm(c.body):
            continue
        attrs = {
            "id": c.id,
            "url": f"{repo.url}/issues/comments/{c.id}",
            "body": c.body,
            "created_at": c.created_at,
            "user": {"login": login},
        }
        out.append(IssueComment(repo.requester, {}, attrs, completed=True))
    return sorted(out, key=lambda c: (c.created_at, c.id))


def _delete(comment: Any) -> None:
    try:
        comment.delete()
    except GithubException as exc:
        if exc.status != 404:  # another run deleted it first: fine
            raise _api_error(f"deleting duplicate comment {comment.id}", exc) from None
    except (requests.RequestException, OSError) as exc:
        raise _api_error(f"deleting duplicate comment {comment.id}", exc) from None


def _keep_one(mine: list[Any], body: str) -> tuple[Any, bool]:
    """Delete every comment but the oldest; make the oldest say `body`. (kept, edited?)"""
    keep, extra = mine[0], mine[1:]
    for c in extra:
        _delete(c)
    if _norm(keep.body) == _norm(body):
        return keep, False
    try:
        keep.edit(body)
    except (GithubException, requests.RequestException, OSError) as exc:
        raise _api_error(f"editing comment {keep.id}", exc) from None
    return keep, True


def upsert_sticky_comment(
    repo: Any,
    pr_number: int,
    body: str,
    marker: str,
    *,
    self_login: str,
    retry_delays: Sequence[float] = RETRY_DELAYS,
    known: Sequence[Any] | None = None,
    known_age: timedelta | None = None,
) -> Action:
    """Create, edit or leave alone the sticky comment. Returns what was done.

    `repo`: a PyGithub `Repository`; `marker` must occur in `body`; `self_login`: the token's
    own login (see the module docstring). `retry_delays`: the waits before re-listing after
    a create whose answer was lost, one per retry. `known`: the PR's comments as a snapshot
    taken moments ago already holds them; then only a create lists again (to settle a race).
    `known_age`: how long ago that snapshot was taken (bounds the race window).
    Raises ApiError when GitHub fails."""
    if marker not in body:
        raise ValueError("the comment body must contain its marker")
    if not self_login:
        raise ValueError("self_login is required (GET /user does not work for GITHUB_TOKEN)")
    if known is not None:
        mine = own_marked_from_snapshot(repo, known, marker, self_login)
    else:
        mine = list_own_marked(repo, pr_number, marker, self_login)
    if mine:
        _, edited = _keep_one(mine, body)
        return "updated" if edited else "unchanged"

    created: Any = None
    attempts = 1 + len(retry_delays)
    for attempt in range(attempts):
        try:
            created = repo.get_issue(pr_number).create_comment(body)
            break
        except (GithubException, requests.RequestException, OSError) as exc:
            if not _ambiguous(exc):
                raise _api_error(f"commenting on PR #{pr_number}", exc) from None
            if attempt == attempts - 1:
                raise _api_error(
                    f"commenting on PR #{pr_number} ({attempts} attempts)", exc
                ) from None
            # The comment may exist although the answer was lost (or may still be landing):
            # wait, then look before creating again.
            time.sleep(retry_delays[attempt])
            if list_own_marked(repo, pr_number, marker, self_login):
                break

    # After a create, a racing run's duplicate was made around the same time as ours: with a
    # snapshot (which held no marked comment), only comments from shortly before ours need
    # listing. The time is GitHub's own timestamp of our comment, never this machine's clock.
    since = None
    stamp = getattr(created, "created_at", None) if created is not None else None
    if known is not None and isinstance(stamp, datetime):
        window = known_age + CLOCK_SLACK if known_age is not None else SNAPSHOT_MARGIN
        since = stamp.replace(tzinfo=stamp.tzinfo or UTC) - window
    mine = list_own_marked(repo, pr_number, marker, self_login, since=since)
    if not mine:
        raise ApiError(
            f"the comment created on PR #{pr_number} is not listed",
            "GitHub may be lagging: retry the job",
        )
    kept, edited = _keep_one(mine, body)
    if created is not None and kept.id == created.id:
        return "created"
    if created is None and not edited:
        return "created"  # our create landed although its answer was lost
    # Another run's comment won the race: ours is gone, theirs now carries this body.
    return "updated" if edited else "unchanged"
