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

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from gatekeeper.adapters.github import COMMENT_RETRY_WAITS, GitHubClient
from gatekeeper.errors import ApiError


class Action(enum.StrEnum):
    """What upsert_sticky_comment did."""

    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


# The waits before re-listing after a create whose answer was lost (adapters.github).
RETRY_DELAYS = COMMENT_RETRY_WAITS
# How far before "now" a comment missing from the gate's snapshot can have been created: the
# snapshot is taken at the start of the same job, whose time budget is a few minutes.
SNAPSHOT_MARGIN = timedelta(minutes=15)
# Added to a measured snapshot age: GitHub's own timestamps and request latency.
CLOCK_SLACK = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class _Comment:
    id: int
    login: str
    body: str
    created_at: datetime


def _norm(body: str | None) -> str:
    return (body or "").replace("\r\n", "\n")


def _time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)


def _from_json(c: Any) -> _Comment | None:
    if not isinstance(c, dict) or not isinstance(c.get("id"), int):
        return None
    login = (c.get("user") or {}).get("login")
    return _Comment(c["id"], str(login or ""), str(c.get("body") or ""), _time(c.get("created_at")))


def _mine(comments: Sequence[_Comment], marker: str, self_login: str) -> list[_Comment]:
    me = self_login.casefold()
    mine = [c for c in comments if c.login.casefold() == me and marker in _norm(c.body)]
    return sorted(mine, key=lambda c: (c.created_at, c.id))


def list_own_marked(
    client: GitHubClient,
    repo: str,
    pr_number: int,
    marker: str,
    self_login: str,
    *,
    since: datetime | None = None,
) -> list[_Comment]:
    """Comments on the PR that carry `marker` and were written by `self_login`, oldest first.
    `since`: only comments updated after it (GitHub's `since` parameter: one page, not all)."""
    params: dict[str, Any] = {}
    if since is not None:
        params["since"] = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    listed = client.paginate(
        f"/repos/{repo}/issues/{pr_number}/comments",
        params,
        what=f"listing the comments of PR #{pr_number}",
    )
    return _mine([c for c in map(_from_json, listed) if c is not None], marker, self_login)


def own_marked_from_snapshot(known: Sequence[Any], marker: str, self_login: str) -> list[_Comment]:
    """Like list_own_marked, from comments the gate's PR snapshot already holds (objects with
    id, user.login, body, created_at): saves re-listing every page."""
    out = []
    for c in known:
        login = getattr(getattr(c, "user", None), "login", None)
        if login:
            out.append(_Comment(c.id, login, c.body or "", _time(c.created_at)))
    return _mine(out, marker, self_login)


def _keep_one(client: GitHubClient, repo: str, mine: list[_Comment], body: str) -> bool:
    """Delete every comment but the oldest; make the oldest say `body`. Edited?"""
    keep, extra = mine[0], mine[1:]
    for c in extra:
        client.delete_comment(repo, c.id)  # another run deleting it first is fine
    if _norm(keep.body) == _norm(body):
        return False
    client.edit_comment(repo, keep.id, body)
    return True


def upsert_sticky_comment(
    client: GitHubClient,
    repo: str,
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

    `client`, `repo` (owner/name): where; every request goes through the client (its
    retries, its one create path). `marker` must occur in `body`; `self_login`: the token's
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
        mine = own_marked_from_snapshot(known, marker, self_login)
    else:
        mine = list_own_marked(client, repo, pr_number, marker, self_login)
    if mine:
        return Action.UPDATED if _keep_one(client, repo, mine, body) else Action.UNCHANGED

    landed: list[_Comment] = []

    def find() -> dict[str, Any] | None:
        # The comment may exist although the answer was lost (or may still be landing).
        landed[:] = list_own_marked(client, repo, pr_number, marker, self_login)
        return {} if landed else None

    created = client.create_comment(
        f"/repos/{repo}/issues/{pr_number}/comments",
        body,
        what=f"commenting on PR #{pr_number}",
        find=find,
        waits=retry_delays,
    )
    created_id = created.get("id") if not landed else None

    # After a create, a racing run's duplicate was made around the same time as ours: with a
    # snapshot (which held no marked comment), only comments from shortly before ours need
    # listing. The time is GitHub's own timestamp of our comment, never this machine's clock.
    since = None
    if known is not None and created_id is not None and created.get("created_at"):
        stamp = _time(created["created_at"])
        window = known_age + CLOCK_SLACK if known_age is not None else SNAPSHOT_MARGIN
        since = stamp - window
    mine = list_own_marked(client, repo, pr_number, marker, self_login, since=since)
    if not mine:
        raise ApiError(
            f"the comment created on PR #{pr_number} is not listed",
            "GitHub may be lagging: retry the job",
        )
    edited = _keep_one(client, repo, mine, body)
    if created_id is not None and mine[0].id == created_id:
        return Action.CREATED
    if created_id is None and not edited:
        return Action.CREATED  # our create landed although its answer was lost
    # Another run's comment won the race: ours is gone, theirs now carries this body.
    return Action.UPDATED if edited else Action.UNCHANGED
