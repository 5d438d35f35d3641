"""The gate's seam to gatekeeper.overrides: the one place the gate imports it.

Parses the allowed_signers text read from the trust root, turns the PR's comments into
override comments and asks gatekeeper.overrides which signed overrides count. The result is
a closed union: the evaluation, or `OverridesUnavailable` (a malformed allowed_signers file:
overrides cannot count, the gate never fails on it). Readers match the two explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from gatekeeper.classify import Analysis
from gatekeeper.errors import ConfigError
from gatekeeper.overrides import evaluate as ov
from gatekeeper.overrides.allowed_signers import parse_allowed_signers
from gatekeeper.policy.model import Policy
from gatekeeper.pr.facts import PullRequestFacts

OverrideEvaluation = ov.OverrideEvaluation


@dataclass(frozen=True, slots=True)
class OverridesUnavailable:
    """No override can count: the allowed_signers file is invalid."""

    unavailable_reason: str
    required: int
    satisfied: bool = False
    available: bool = False
    principals: tuple[str, ...] = ()


OverrideResult = OverrideEvaluation | OverridesUnavailable

OVERRIDE_MARKER = "gatekeeper-override"  # a comment without it holds no override block


def evaluate_signed_overrides(
    facts: PullRequestFacts,
    policy: Policy,
    analysis: Analysis,
    allowed_signers_text: str | None,
    *,
    trust_root_changed: bool,
    now: datetime,
    trust_root_sha: str | None = None,
    unreadable: str | None = None,
) -> OverrideResult:
    """The signed override comments of this PR, evaluated.

    `allowed_signers_text` is the file on the default branch's head `trust_root_sha`
    (None: absent, so no override can count). A malformed file makes overrides
    unavailable, as does one the reader could not decode (`unreadable`, its cause); it
    never fails the gate."""
    settings = policy.overrides
    signers = None
    bad: str | None = unreadable
    if allowed_signers_text is not None:
        try:
            at = (trust_root_sha or facts.base_sha)[:12]
            where = f"{settings.allowed_signers_path}@{at}"
            signers = parse_allowed_signers(allowed_signers_text, source=where)
        except ConfigError as exc:
            bad = exc.message
    expected = ov.bound_context(facts.repository, facts.number, facts.head_sha, analysis)
    comments = [
        ov.OverrideComment(
            id=c.id,
            author_login=c.user.login if c.user and c.user.login else "ghost",
            body=c.body,
            created_at=_parse_time(c.created_at),
            url=c.url,
        )
        for c in facts.comments
    ]
    result = ov.evaluate_overrides(
        comments, signers, expected, settings, now, trust_root_changed=trust_root_changed
    )
    if bad is not None:
        return OverridesUnavailable(f"the allowed_signers file is invalid: {bad}", result.required)
    return result


def override_lines(o: OverrideResult | None) -> tuple[str, ...]:
    """One line per override comment considered, for the PR view."""
    if o is None:
        return ()
    if isinstance(o, OverridesUnavailable) or not o.available:
        return (f"unavailable: {o.unavailable_reason}",)
    lines = []
    for b in o.blocks:
        state = f"counted ({b.principal})" if b.counted else f"rejected: {b.detail}"
        lines.append(f"@{b.author_login} {b.comment_url}: {state}")
    return tuple(lines) or ("no override comments",)


def _parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
