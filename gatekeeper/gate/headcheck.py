"""One check per head commit: which pull requests decide it, and whether anyone else has
posted a check or status under the gate's name (tampering). Pure: JSON in, findings out.

A check run belongs to a commit, not to a pull request: every open PR whose head is that
commit shows the same `gatekeeper` check. So the gate's conclusion for a head is the
strictest over the PRs into protected base branches (the default branch, and the policy's
`protected_branches` globs), and a `gatekeeper`-named check run or status that the gate's
own identity did not create is tampering: the check blocks and says who made it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from gatekeeper import globs
from gatekeeper.decision import ALLOW, BLOCK, ERROR, Decision
from gatekeeper.policy.model import IdentityPolicy
from gatekeeper.pr.facts import dig

# What the gate writes as a check run's external_id (commands/gate_report.py `external_id`).
_EXTERNAL_ID = re.compile(r"gatekeeper:(?:\d+|local):\d+:\d+:(?P<sha>[0-9a-f]{12})")
GITHUB_ACTIONS_BOT_LOGIN = "github-actions[bot]"


def is_protected(base_ref: str, default_branch: str, patterns: Sequence[str]) -> bool:
    """Is a PR into `base_ref` one that decides the check? The default branch always is;
    `patterns` (policy `protected_branches`) adds more, e.g. `release/*`."""
    if base_ref == default_branch:
        return True
    return any(globs.match(p, base_ref) for p in patterns)


class RivalKind(enum.StrEnum):
    """What the rival is; the value is how reports and notices name it."""

    CHECK_RUN = "check run"
    COMMIT_STATUS = "commit status"


@dataclass(frozen=True, slots=True)
class Tampering:
    """A `gatekeeper`-named check run or status the gate's identity did not create."""

    kind: RivalKind
    id: int | None
    creator: str  # who made it, e.g. "app 123 (rival-app)" or "@mallory"
    state: str  # its conclusion or state
    why: str  # why it is not the gate's
    url: str = ""

    def line(self) -> str:
        return f"{self.kind} {self.id} ({self.state}) by {self.creator}: {self.why}"

    def record(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "id": self.id,
            "creator": self.creator,
            "state": self.state,
            "why": self.why,
            "url": self.url,
        }


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check_run_tampering(
    run: Mapping[str, Any], head_sha: str, identity: IdentityPolicy
) -> Tampering | None:
    app_id = _int(dig(run, "app", "id"))
    slug = dig(run, "app", "slug")
    creator = f"app {app_id} ({slug})" if isinstance(slug, str) else f"app {app_id}"
    state = str(run.get("conclusion") or run.get("status") or "?")
    rid = _int(run.get("id"))
    url = str(run.get("html_url") or "")
    if app_id != identity.check_app_id:
        why = f"not created by the gate's identity (app {identity.check_app_id})"
        if identity.app_id is None:
            # The likeliest innocent cause: the gate already posts as its own App, but the
            # policy does not say so. Still tampering until the policy names the App.
            why += (
                f"; if app {app_id} is the gate's own App, set identity.app_id: {app_id} "
                "in the policy on the default branch"
            )
        return Tampering(RivalKind.CHECK_RUN, rid, creator, state, why, url)
    if identity.forgeable:
        # Every workflow's GITHUB_TOKEN posts as GitHub Actions: only the external_id the
        # gate writes tells its runs apart (a careful forger can copy it: see the README).
        ext = run.get("external_id")
        m = _EXTERNAL_ID.fullmatch(ext) if isinstance(ext, str) else None
        if m is None or m.group("sha") != head_sha[:12]:
            return Tampering(
                RivalKind.CHECK_RUN,
                rid,
                f"{creator}, another workflow",
                state,
                f"external_id {str(ext or '')[:60]!r} is not one the gate writes",
                url,
            )
    return None


def _status_tampering(
    status: Mapping[str, Any], identity: IdentityPolicy, *, gate_login: str, gate_posts: bool
) -> Tampering | None:
    login = dig(status, "creator", "login")
    typ = dig(status, "creator", "type")
    creator = f"@{login}" if isinstance(login, str) else "an unknown account"
    state = str(status.get("state") or "?")
    sid = _int(status.get("id"))
    if not gate_posts:
        why = "the gate posts no commit status (input commit-status is off)"
    elif typ != "Bot" or not isinstance(login, str) or login.casefold() != gate_login.casefold():
        why = f"not created by the gate's account @{gate_login}"
    elif identity.forgeable != (login.casefold() == GITHUB_ACTIONS_BOT_LOGIN):
        why = "the gate's account does not match its identity in the policy (identity.app_id)"
    else:
        return None
    return Tampering(
        RivalKind.COMMIT_STATUS, sid, creator, state, why, str(status.get("target_url") or "")
    )


def find_tampering(
    check_runs: Iterable[Mapping[str, Any]],
    statuses: Iterable[Mapping[str, Any]],
    *,
    name: str,
    head_sha: str,
    identity: IdentityPolicy,
    gate_login: str,
    gate_posts_status: bool,
) -> tuple[Tampering, ...]:
    """Every check run and status called `name` on `head_sha` that is not the gate's.

    Check runs: the gate's carry the app id of `identity` (policy identity.app_id, else
    GitHub Actions); with GitHub Actions, also an external_id the gate writes.
    Statuses: the gate's exist only when it posts statuses, and come from its own account
    (`gate_login`: github-actions[bot] with GITHUB_TOKEN, the App's `<slug>[bot]`)."""
    out: list[Tampering] = []
    for run in check_runs:
        if run.get("name") == name:
            t = _check_run_tampering(run, head_sha, identity)
            if t is not None:
                out.append(t)
    for st in statuses:
        if isinstance(st.get("context"), str) and st["context"].casefold() == name.casefold():
            t = _status_tampering(st, identity, gate_login=gate_login, gate_posts=gate_posts_status)
            if t is not None:
                out.append(t)
    return tuple(out)


def tampered(decision: Decision, findings: Sequence[Tampering], name: str) -> Decision:
    """The decision once tampering was found: blocked, tampering named first."""
    if not findings:
        return decision
    first = findings[0]
    more = f" and {len(findings) - 1} more" if len(findings) > 1 else ""
    headline = (
        f"blocked: tampering: a {name!r} {first.kind} on this commit was not posted by the "
        f"gate ({first.creator}){more}"
    )
    if decision.advisory:
        headline += " [advisory mode: not enforced]"
    details = tuple(f"tampering: {t.line()}" for t in findings) + decision.details
    outcome = ERROR if decision.outcome == ERROR else BLOCK
    return replace(decision, outcome=outcome, headline=headline, details=details)


_RANK = {ALLOW: 0, BLOCK: 1, ERROR: 2}


def strictest(decisions: Sequence[tuple[int, str, Decision]]) -> tuple[int, str, Decision]:
    """The strictest of (PR number, base ref, decision): error over block over allow; the
    first given wins a tie (the PR of the event)."""
    best = decisions[0]
    for item in decisions[1:]:
        if _RANK[item[2].outcome] > _RANK[best[2].outcome]:
            best = item
    return best
