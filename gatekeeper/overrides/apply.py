"""Signed apply overrides: break glass for an apply that no PR approval covers.

A workflow_dispatch (or any apply of a commit whose PR record does not cover the plan) is
unblocked by a human's SSHSIG over a message that binds the repository, the commit being
applied, the workflow run that applies it and the plan's gated digest and change list. It is
posted as a comment on that commit (fenced block `gatekeeper-apply-override`), and verified
against allowed_signers on the default branch exactly as PR overrides are
(gatekeeper.overrides.evaluate does the verification).

It can never be replayed as a PR override, nor a PR override as this: the fence, the header
line and the SSHSIG namespace (`gatekeeper-apply-override-v1@DOMAIN` against
`gatekeeper-override-v1@DOMAIN`) all differ, and each verifier accepts only its own.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gatekeeper.classify import Analysis
from gatekeeper.errors import EXIT_ALLOW, EXIT_BLOCK
from gatekeeper.overrides.allowed_signers import AllowedSigners
from gatekeeper.overrides.blocks import fenced_comment
from gatekeeper.overrides.evaluate import (
    BoundField,
    CommentLike,
    FieldMismatch,
    OverrideEvaluation,
    OverrideKind,
    describe_mismatch,
    digest_mismatches,
    evaluate_overrides,
)
from gatekeeper.overrides.message import (
    COMMIT_SHA,
    NUMBER,
    REPOSITORY,
    Change,
    MalformedOverride,
    MessageLines,
    check_signed_fields,
    format_time,
    signed_tail_lines,
)
from gatekeeper.policy.model import OverridePolicy
from gatekeeper.verify import Verdict

APPLY_INFO_STRING = "gatekeeper-apply-override"
APPLY_HEADER = "gatekeeper-apply-override v1"
APPLY_NAMESPACE_PREFIX = "gatekeeper-apply-override-v1@"


@dataclass(frozen=True, slots=True)
class ApplyOverrideMessage:
    repository: str
    commit_sha: str  # the commit the apply job applies
    run_id: int  # the workflow run that applies it (re-runs keep the id)
    plan_sha256: str
    changes: tuple[Change, ...]  # sorted by (address, action)
    approver: str
    issued_at: datetime
    expires_at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class ApplyContext:
    """What verify computed itself; an apply override counts only if it binds exactly this."""

    repository: str
    commit_sha: str
    run_id: int
    plan_sha256: str
    changes: tuple[Change, ...]


def apply_context(
    repository: str, commit_sha: str, run_id: int, analysis: Analysis
) -> ApplyContext:
    """What an apply override binds: verify (expected values) and `sign --apply` (the message
    it signs) both call this."""
    return ApplyContext(
        repository=repository,
        commit_sha=commit_sha.lower(),
        run_id=run_id,
        plan_sha256=analysis.plan_digest,
        changes=tuple((c.change.action.value, c.change.address) for c in analysis.gated),
    )


def apply_namespace(policy: OverridePolicy) -> str | None:
    """The SSHSIG namespace of apply overrides under this policy; None when not configured."""
    return APPLY_OVERRIDE.namespace(policy)


def check_apply_message(m: ApplyOverrideMessage) -> None:
    """Raise MalformedOverride unless every field is renderable and in range."""
    if not REPOSITORY.fullmatch(m.repository):
        raise MalformedOverride("repository: expected owner/name")
    if not COMMIT_SHA.fullmatch(m.commit_sha):
        raise MalformedOverride("commit_sha: expected a lowercase hex commit SHA")
    if type(m.run_id) is not int or not NUMBER.fullmatch(str(m.run_id)):
        raise MalformedOverride("run_id: expected a positive integer")
    check_signed_fields(m)


def render_apply_message(m: ApplyOverrideMessage) -> bytes:
    """The exact bytes that are signed. Raises MalformedOverride for unrenderable fields."""
    check_apply_message(m)
    lines = [
        APPLY_HEADER,
        f"repository: {m.repository}",
        f"commit_sha: {m.commit_sha}",
        f"run_id: {m.run_id}",
        *signed_tail_lines(m),
    ]
    return ("\n".join(lines) + "\n").encode("ascii")


def parse_apply_message(data: bytes) -> ApplyOverrideMessage:
    """Strictly parse the signed text; it must re-render to exactly the same bytes."""
    lines = MessageLines(data, APPLY_HEADER)
    repository = lines.take("repository")
    commit_sha = lines.take("commit_sha")
    run_id = lines.number("run_id")
    plan_sha256, changes, approver, issued_at, expires_at, reason = lines.signed_tail()
    message = ApplyOverrideMessage(
        repository,
        commit_sha,
        run_id,
        plan_sha256,
        changes,
        approver,
        issued_at,
        expires_at,
        reason,
    )
    if render_apply_message(message) != data:
        raise MalformedOverride("message is not in canonical form")
    return message


def _mismatches(m: ApplyOverrideMessage, expected: ApplyContext) -> tuple[FieldMismatch, ...]:
    out: list[FieldMismatch] = []
    if m.repository.casefold() != expected.repository.casefold():
        out.append(FieldMismatch(BoundField.REPOSITORY, expected.repository, m.repository))
    if m.commit_sha != expected.commit_sha.lower():
        out.append(FieldMismatch(BoundField.COMMIT_SHA, expected.commit_sha, m.commit_sha))
    if m.run_id != expected.run_id:
        out.append(FieldMismatch(BoundField.RUN_ID, str(expected.run_id), str(m.run_id)))
    return (*out, *digest_mismatches(m, expected.plan_sha256, expected.changes))


def _parse(data: bytes) -> Any:
    return parse_apply_message(data)


def _check(m: Any, expected: Any) -> tuple[FieldMismatch, ...]:
    return _mismatches(m, expected)


APPLY_OVERRIDE = OverrideKind(
    info_string=APPLY_INFO_STRING,
    namespace_prefix=APPLY_NAMESPACE_PREFIX,
    parse=_parse,
    mismatches=_check,
    describe=describe_mismatch,
)


def evaluate_apply_overrides(
    comments: Sequence[CommentLike],
    allowed_signers: AllowedSigners | None,
    expected: ApplyContext,
    policy: OverridePolicy,
    now: datetime,
) -> OverrideEvaluation:
    """Which apply-override blocks in the commit's comments count (never raises for their
    content); `policy.signatures_required` distinct principals are needed, as for a PR."""
    return evaluate_overrides(comments, allowed_signers, expected, policy, now, kind=APPLY_OVERRIDE)


def format_apply_comment(message: ApplyOverrideMessage, signature: str) -> str:
    """The commit comment: one human-readable line, then the fenced block verify reads."""
    count = len(message.changes)
    summary = (
        f"Signed apply override by `{message.approver}` for {message.commit_sha[:12]} in run "
        f"{message.run_id} ({count} change{'s' if count != 1 else ''}), valid until "
        f"{format_time(message.expires_at)}."
    )
    return fenced_comment(summary, APPLY_INFO_STRING, render_apply_message(message), signature)


def apply_override_verdict(result: OverrideEvaluation, gated: int, run_id: int) -> Verdict:
    """verify's verdict from the apply overrides on the commit (`gated`: how many changes)."""
    lines = tuple(
        f"apply override {b.comment_url or b.comment_id}: "
        + (f"counted ({b.principal})" if b.counted else f"rejected: {b.detail}")
        for b in result.blocks
    )
    if result.satisfied:
        who = ", ".join(result.principals)
        return Verdict(
            EXIT_ALLOW,
            f"may proceed: signed apply override ({who}) for {gated} gated "
            f"change{'s' if gated != 1 else ''} in run {run_id}",
            lines,
        )
    if not result.available:
        lines = (f"unavailable: {result.unavailable_reason}", *lines)
    return Verdict(
        EXIT_BLOCK,
        f"not approved: no signed apply override counts ({len(result.principals)} of "
        f"{result.required} required)",
        lines,
    )
