"""Which signed override comments count (protocol v1, design/SIGNED-OVERRIDES.md).

A human overrides the gate by posting a fenced block tagged `gatekeeper-override` that holds
a message binding the exact PR, head commit, plan digest and change list, plus an SSHSIG
made with a key from the default branch's allowed_signers. This module is pure: the caller
passes the comments, the parsed allowed_signers, what the gate computed, policy and `now`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from gatekeeper.classify import Analysis
from gatekeeper.overrides.allowed_signers import AllowedSigners
from gatekeeper.overrides.blocks import OverrideBlock, extract_override_blocks, split_block
from gatekeeper.overrides.message import (
    INFO_STRING,
    Change,
    MalformedOverride,
    OverrideMessage,
    SignedFields,
    format_change,
    format_time,
    parse_message,
    sort_changes,
)
from gatekeeper.overrides.sshsig import (
    RejectCode,
    SignatureRejected,
    SshSignature,
    parse_signature,
    verify_signature,
)
from gatekeeper.policy.model import NAMESPACE_PREFIX, OverridePolicy

MAX_COMMENT_CHARS = 65536  # GitHub's own limit for a comment body
CLOCK_SKEW = timedelta(minutes=5)


class CommentLike(Protocol):
    """What evaluation needs from a PR comment (facts types may be passed directly)."""

    @property
    def id(self) -> int: ...
    @property
    def author_login(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def url(self) -> str: ...


@dataclass(frozen=True, slots=True)
class OverrideComment:
    id: int
    author_login: str
    body: str
    created_at: datetime
    url: str


@dataclass(frozen=True, slots=True)
class OverrideContext:
    """What the gate computed itself; a message counts only if it binds exactly these."""

    repository: str
    pull_request: int
    head_sha: str
    plan_sha256: str
    changes: tuple[Change, ...]  # (action, address), any order


def bound_context(
    repository: str, pull_request: int, head_sha: str, analysis: Analysis
) -> OverrideContext:
    """What an override must be bound to. The gate (expected values) and `sign` (the message
    it signs) both call this, so the two can never compute the change list differently."""
    return OverrideContext(
        repository=repository,
        pull_request=pull_request,
        head_sha=head_sha,
        plan_sha256=analysis.plan_digest,
        changes=tuple((c.change.action.value, c.change.address) for c in analysis.gated),
    )


class Rejection(enum.StrEnum):
    OVERRIDES_DISABLED = "overrides_disabled"
    NOT_CONFIGURED = "not_configured"
    TRUST_ROOT_CHANGED = "trust_root_changed"
    OVERSIZED_COMMENT = "oversized_comment"
    MALFORMED_BLOCK = "malformed_block"
    MALFORMED_SIGNATURE = "malformed_signature"
    UNSUPPORTED_SIGNATURE = "unsupported_signature"
    WRONG_NAMESPACE = "wrong_namespace"
    UNKNOWN_KEY = "unknown_key"
    KEY_NOT_VALID = "key_not_valid"
    BAD_SIGNATURE = "bad_signature"
    SECURITY_KEY_FLAGS = "security_key_flags"
    APPROVER_NOT_PRINCIPAL = "approver_not_principal"
    FIELD_MISMATCH = "field_mismatch"
    LIFETIME_TOO_LONG = "lifetime_too_long"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    DUPLICATE_PRINCIPAL = "duplicate_principal"
    DUPLICATE_KEY = "duplicate_key"
    INTERNAL_ERROR = "internal_error"


_SIG_REJECTIONS = {
    RejectCode.MALFORMED: Rejection.MALFORMED_SIGNATURE,
    RejectCode.UNSUPPORTED: Rejection.UNSUPPORTED_SIGNATURE,
    RejectCode.WEAK_KEY: Rejection.UNSUPPORTED_SIGNATURE,
    RejectCode.NAMESPACE: Rejection.WRONG_NAMESPACE,
    RejectCode.KEY_MISMATCH: Rejection.UNKNOWN_KEY,
    RejectCode.BAD_SIGNATURE: Rejection.BAD_SIGNATURE,
    RejectCode.SK_FLAGS: Rejection.SECURITY_KEY_FLAGS,
}


class BoundField(enum.StrEnum):
    """A field an override binds (both message types); the values are the message's keys."""

    REPOSITORY = "repository"
    PULL_REQUEST = "pull_request"
    HEAD_SHA = "head_sha"
    COMMIT_SHA = "commit_sha"
    RUN_ID = "run_id"
    PLAN_SHA256 = "plan_sha256"
    CHANGES = "changes"


@dataclass(frozen=True, slots=True)
class FieldMismatch:
    field: BoundField
    expected: str
    got: str


@dataclass(frozen=True, slots=True)
class BlockVerdict:
    """One override block (or an oversized comment) and whether it counted, and why not."""

    comment_id: int
    comment_url: str
    author_login: str
    block_index: int | None  # 0-based within the comment; None for a comment-level verdict
    line: int | None
    counted: bool
    rejection: Rejection | None  # None exactly when counted
    detail: str
    principal: str | None = None  # set once the signature verified for this principal
    key_fingerprint: str | None = None  # the key the block claims (verified iff principal)
    mismatches: tuple[FieldMismatch, ...] = ()


@dataclass(frozen=True, slots=True)
class OverrideAudit:
    """A counted override, for the audit trail."""

    principal: str
    key_fingerprint: str
    key_type: str
    reason: str
    issued_at: datetime
    expires_at: datetime
    comment_url: str
    comment_id: int
    author_login: str
    sk_flags: int | None


@dataclass(frozen=True, slots=True)
class OverrideEvaluation:
    available: bool
    unavailable_reason: str | None
    namespace: str | None
    required: int
    principals: tuple[str, ...]  # distinct principals counted, in counting order
    accepted: tuple[OverrideAudit, ...]
    blocks: tuple[BlockVerdict, ...]  # every block considered, counted or not

    @property
    def satisfied(self) -> bool:
        """Overrides are available and enough distinct principals counted."""
        return self.available and len(self.principals) >= self.required


class _Reject(Exception):
    def __init__(
        self,
        rejection: Rejection,
        detail: str,
        *,
        principal: str | None = None,
        mismatches: tuple[FieldMismatch, ...] = (),
        fingerprint: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.rejection = rejection
        self.detail = detail
        self.principal = principal
        self.mismatches = mismatches
        self.fingerprint = fingerprint


@dataclass(frozen=True, slots=True)
class OverrideKind:
    """One kind of signed override: its fence, namespace, message format and bound fields.
    The PR override and the apply override (gatekeeper.overrides.apply) differ in all of
    them, so neither can ever be replayed as the other."""

    info_string: str
    namespace_prefix: str
    parse: Callable[[bytes], Any]  # bytes -> a message with SignedFields
    mismatches: Callable[[Any, Any], tuple[FieldMismatch, ...]]  # (message, expected)
    describe: Callable[[FieldMismatch, Any, Any], str]

    def namespace(self, policy: OverridePolicy) -> str | None:
        """The SSHSIG namespace under this policy; None without overrides.namespace_domain."""
        domain = policy.namespace_domain
        return self.namespace_prefix + domain if domain else None


def evaluate_overrides(
    comments: Sequence[CommentLike],
    allowed_signers: AllowedSigners | None,
    expected: Any,
    policy: OverridePolicy,
    now: datetime,
    *,
    trust_root_changed: bool = False,
    kind: OverrideKind | None = None,
) -> OverrideEvaluation:
    """Decide which override blocks count. Never raises for anything found in comments.

    `allowed_signers` is None when the file is absent on the default branch.
    `trust_root_changed`: the PR touches the policy, allowed_signers or workflows.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    kind = kind or PR_OVERRIDE
    namespace = kind.namespace(policy)
    unavailable: tuple[Rejection, str] | None = None
    if not policy.enabled:
        unavailable = (Rejection.OVERRIDES_DISABLED, "signed overrides are disabled by policy")
    elif trust_root_changed:
        unavailable = (
            Rejection.TRUST_ROOT_CHANGED,
            "this PR changes the policy, allowed_signers or workflows: overrides are unavailable",
        )
    elif namespace is None:
        unavailable = (Rejection.NOT_CONFIGURED, "overrides.namespace_domain is not set")
    elif allowed_signers is None:
        unavailable = (
            Rejection.NOT_CONFIGURED,
            f"no allowed_signers file at {policy.allowed_signers_path} on the default branch",
        )

    verdicts: list[BlockVerdict] = []
    counted: dict[str, OverrideAudit] = {}  # by principal
    for comment in sorted(comments, key=lambda c: (c.created_at, c.id)):
        body = comment.body
        if len(body) > MAX_COMMENT_CHARS:
            if kind.info_string in body:
                verdicts.append(
                    _verdict(
                        comment,
                        None,
                        None,
                        _Reject(
                            Rejection.OVERSIZED_COMMENT,
                            f"comment has {len(body)} characters (limit {MAX_COMMENT_CHARS})",
                        ),
                    )
                )
            continue
        for index, block in enumerate(extract_override_blocks(body, kind.info_string)):
            if unavailable is not None:
                verdicts.append(_verdict(comment, index, block.line, _Reject(*unavailable)))
                continue
            assert namespace is not None and allowed_signers is not None
            try:
                audit = _check_block(
                    block, comment, allowed_signers, expected, policy, namespace, now, kind
                )
                _check_not_counted(audit, counted)
            except _Reject as rejected:
                verdicts.append(_verdict(comment, index, block.line, rejected))
                continue
            except Exception as exc:  # fail closed, and visibly, on a bug
                bug = _Reject(Rejection.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
                verdicts.append(_verdict(comment, index, block.line, bug))
                continue
            counted[audit.principal] = audit
            verdicts.append(
                BlockVerdict(
                    comment_id=comment.id,
                    comment_url=comment.url,
                    author_login=comment.author_login,
                    block_index=index,
                    line=block.line,
                    counted=True,
                    rejection=None,
                    detail=f"counted: signed by {audit.principal} ({audit.key_fingerprint})",
                    principal=audit.principal,
                    key_fingerprint=audit.key_fingerprint,
                )
            )
    return OverrideEvaluation(
        available=unavailable is None,
        unavailable_reason=None if unavailable is None else unavailable[1],
        namespace=namespace,
        required=policy.signatures_required,
        principals=tuple(counted),
        accepted=tuple(counted.values()),
        blocks=tuple(verdicts),
    )


def _verdict(
    comment: CommentLike,
    index: int | None,
    line: int | None,
    rejected: _Reject,
) -> BlockVerdict:
    return BlockVerdict(
        comment_id=comment.id,
        comment_url=comment.url,
        author_login=comment.author_login,
        block_index=index,
        line=line,
        counted=False,
        rejection=rejected.rejection,
        detail=rejected.detail,
        principal=rejected.principal,
        key_fingerprint=rejected.fingerprint,
        mismatches=rejected.mismatches,
    )


def _check_block(
    block: OverrideBlock,
    comment: CommentLike,
    allowed: AllowedSigners,
    expected: Any,
    policy: OverridePolicy,
    namespace: str,
    now: datetime,
    kind: OverrideKind,
) -> OverrideAudit:
    # Authenticity first, so that bound-field and time reasons are only ever reported for
    # messages a listed signer really signed.
    try:
        message_bytes, armored = split_block(block.content)
        message = kind.parse(message_bytes)
    except MalformedOverride as exc:
        raise _Reject(Rejection.MALFORMED_BLOCK, exc.reason) from None
    try:
        sig = parse_signature(armored)
    except SignatureRejected as exc:
        raise _Reject(_SIG_REJECTIONS[exc.code], exc.reason) from None
    try:
        return _check_signed(
            message, message_bytes, sig, comment, allowed, expected, policy, namespace, now, kind
        )
    except _Reject as rejected:
        rejected.fingerprint = sig.public_key.fingerprint
        raise


def _check_signed(
    message: SignedFields,
    message_bytes: bytes,
    sig: SshSignature,
    comment: CommentLike,
    allowed: AllowedSigners,
    expected: Any,
    policy: OverridePolicy,
    namespace: str,
    now: datetime,
    kind: OverrideKind,
) -> OverrideAudit:
    key = sig.public_key
    if sig.namespace != namespace:
        raise _Reject(
            Rejection.WRONG_NAMESPACE,
            f"signed for namespace {sig.namespace!r}, expected {namespace!r}",
        )
    listed = allowed.entries_for_key(key)
    if not listed:
        raise _Reject(
            Rejection.UNKNOWN_KEY,
            f"{key.key_type} key {key.fingerprint} is not in {allowed.source}",
        )
    valid = allowed.lookup(key, namespace=namespace, at=(now, message.issued_at))
    if not valid:
        where = f"key {key.fingerprint} ({allowed.source} line "
        where += ", ".join(str(e.line) for e in listed) + ")"
        if not any(e.allows_namespace(namespace) for e in listed):
            why = f"its namespaces option does not allow {namespace!r}"
        else:
            why = (
                f"it is outside its valid-after/valid-before window at {format_time(now)} "
                f"or at issued_at {format_time(message.issued_at)}"
            )
        raise _Reject(Rejection.KEY_NOT_VALID, f"{where}: {why}")
    try:
        verified = verify_signature(
            sig,
            message_bytes,
            namespace=namespace,
            public_key=valid[0].key,
            require_user_verification=policy.require_user_verification,
        )
    except SignatureRejected as exc:
        raise _Reject(_SIG_REJECTIONS[exc.code], exc.reason) from None
    principals = sorted({p for e in valid for p in e.principals})
    if message.approver not in principals:
        raise _Reject(
            Rejection.APPROVER_NOT_PRINCIPAL,
            f"approver {message.approver!r} is not a principal of key {key.fingerprint} "
            f"(principals: {', '.join(principals)})",
        )
    principal = message.approver
    mismatches = kind.mismatches(message, expected)
    if mismatches:
        raise _Reject(
            Rejection.FIELD_MISMATCH,
            "signed for a different "
            + "; ".join(kind.describe(m, message, expected) for m in mismatches),
            principal=principal,
            mismatches=mismatches,
        )
    lifetime = message.expires_at - message.issued_at
    if lifetime > policy.max_lifetime:
        raise _Reject(
            Rejection.LIFETIME_TOO_LONG,
            f"valid for {lifetime}, policy allows at most {policy.max_lifetime}",
            principal=principal,
        )
    if now < message.issued_at - CLOCK_SKEW:
        raise _Reject(
            Rejection.NOT_YET_VALID,
            f"issued_at {format_time(message.issued_at)} is in the future (now {format_time(now)})",
            principal=principal,
        )
    if now > message.expires_at:
        raise _Reject(
            Rejection.EXPIRED,
            f"expired at {format_time(message.expires_at)} (now {format_time(now)})",
            principal=principal,
        )
    audit = OverrideAudit(
        principal=principal,
        key_fingerprint=verified.fingerprint,
        key_type=verified.key_type,
        reason=message.reason,
        issued_at=message.issued_at,
        expires_at=message.expires_at,
        comment_url=comment.url,
        comment_id=comment.id,
        author_login=comment.author_login,
        sk_flags=verified.sk_flags,
    )
    return audit


def _check_not_counted(audit: OverrideAudit, counted: dict[str, OverrideAudit]) -> None:
    if audit.principal in counted:
        raise _Reject(
            Rejection.DUPLICATE_PRINCIPAL,
            f"{audit.principal} is already counted ({counted[audit.principal].comment_url})",
            principal=audit.principal,
            fingerprint=audit.key_fingerprint,
        )
    for other, accepted in counted.items():
        # One key listed under two principals is still one person.
        if accepted.key_fingerprint == audit.key_fingerprint:
            raise _Reject(
                Rejection.DUPLICATE_KEY,
                f"key {audit.key_fingerprint} is already counted for {other}",
                principal=audit.principal,
                fingerprint=audit.key_fingerprint,
            )


def describe_mismatch(mismatch: FieldMismatch, m: SignedFields, expected: Any) -> str:
    """One differing field, for the rejection text (`expected.changes`: the gate's list)."""
    if mismatch.field is not BoundField.CHANGES:
        return f"{mismatch.field} (expected {mismatch.expected}, got {mismatch.got})"
    want = sort_changes(expected.changes)
    missing = [format_change(c) for c in want if c not in m.changes]
    extra = [format_change(c) for c in m.changes if c not in want]
    parts = []
    if missing:
        parts.append("not signed: " + ", ".join(missing))
    if extra:
        parts.append("not in this plan: " + ", ".join(extra))
    return "change list (" + "; ".join(parts) + ")"


def _mismatches(m: OverrideMessage, expected: OverrideContext) -> tuple[FieldMismatch, ...]:
    out: list[FieldMismatch] = []
    if m.repository.casefold() != expected.repository.casefold():  # GitHub ignores case
        out.append(FieldMismatch(BoundField.REPOSITORY, expected.repository, m.repository))
    if m.pull_request != expected.pull_request:
        out.append(
            FieldMismatch(BoundField.PULL_REQUEST, str(expected.pull_request), str(m.pull_request))
        )
    if m.head_sha != expected.head_sha.lower():
        out.append(FieldMismatch(BoundField.HEAD_SHA, expected.head_sha, m.head_sha))
    return (*out, *digest_mismatches(m, expected.plan_sha256, expected.changes))


def digest_mismatches(
    m: SignedFields, plan_sha256: str, changes: Iterable[Change]
) -> tuple[FieldMismatch, ...]:
    """The plan digest and change list a message must bind (both message types)."""
    out = []
    if m.plan_sha256 != plan_sha256.lower():
        out.append(FieldMismatch(BoundField.PLAN_SHA256, plan_sha256, m.plan_sha256))
    want = sort_changes(changes)
    if m.changes != want:
        out.append(
            FieldMismatch(
                BoundField.CHANGES,
                "; ".join(format_change(c) for c in want),
                "; ".join(format_change(c) for c in m.changes),
            )
        )
    return tuple(out)


PR_OVERRIDE = OverrideKind(
    info_string=INFO_STRING,
    namespace_prefix=NAMESPACE_PREFIX,
    parse=parse_message,
    mismatches=_mismatches,
    describe=describe_mismatch,
)
