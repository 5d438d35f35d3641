"""Signed override comments (protocol v1, design/SIGNED-OVERRIDES.md).

A human overrides the gate by posting a fenced block tagged `gatekeeper-override` that holds
a message binding the exact PR, head commit, plan digest and change list, plus an SSHSIG
made with a key from the default branch's allowed_signers. This module is pure: the caller
passes the comments, the parsed allowed_signers, what the gate computed, policy and `now`.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from gatekeeper.allowed_signers import AllowedSigners
from gatekeeper.classify import Analysis
from gatekeeper.policy.model import NAMESPACE_PREFIX, OverridePolicy
from gatekeeper.sshsig import (
    ARMOR_BEGIN,
    RejectCode,
    SignatureRejected,
    SshSignature,
    parse_signature,
    verify_signature,
)

INFO_STRING = "gatekeeper-override"
HEADER = "gatekeeper-override v1"
MAX_COMMENT_CHARS = 65536  # GitHub's own limit for a comment body
CLOCK_SKEW = timedelta(minutes=5)
MAX_REASON_CHARS = 500
MAX_ADDRESS_CHARS = 4096

Change = tuple[str, str]  # (action, address)

_REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
_PULL = re.compile(r"[1-9][0-9]{0,17}")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ACTION = re.compile(r"[a-z][a-z0-9_-]{0,31}")
# A principal as allowed_signers can name it: printable ASCII, no pattern characters.
_APPROVER = re.compile(r"[!-~]{1,256}")
_APPROVER_FORBIDDEN = frozenset(',"\\*?')
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
_FENCE_OPEN = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")


class MalformedOverride(Exception):
    """An override block or message that is not exactly protocol v1."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- message model -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverrideMessage:
    repository: str
    pull_request: int
    head_sha: str
    plan_sha256: str
    changes: tuple[Change, ...]  # sorted by (address, action)
    approver: str
    issued_at: datetime
    expires_at: datetime
    reason: str


def override_namespace(domain: str) -> str:
    return NAMESPACE_PREFIX + domain


def sort_changes(changes: Iterable[Change]) -> tuple[Change, ...]:
    """Canonical order (address, then action), duplicates dropped."""
    return tuple(sorted(set(changes), key=lambda c: (c[1], c[0])))


def format_time(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_change(change: Change) -> str:
    action, address = change
    return f"{action} {json.dumps(address, ensure_ascii=True)}"


def check_message(m: OverrideMessage) -> None:
    """Raise MalformedOverride unless every field is renderable and in range."""

    def bad(field: str, why: str) -> MalformedOverride:
        return MalformedOverride(f"{field}: {why}")

    if not _REPOSITORY.fullmatch(m.repository):
        raise bad("repository", "expected owner/name")
    pull = m.pull_request
    if type(pull) is not int or not _PULL.fullmatch(str(pull)):
        raise bad("pull_request", "expected a positive integer")
    if not _SHA.fullmatch(m.head_sha):
        raise bad("head_sha", "expected a lowercase hex commit SHA")
    check_signed_fields(m)


class SignedFields(Protocol):
    """The fields every signed message (PR override, apply override) shares."""

    @property
    def plan_sha256(self) -> str: ...
    @property
    def changes(self) -> tuple[Change, ...]: ...
    @property
    def approver(self) -> str: ...
    @property
    def issued_at(self) -> datetime: ...
    @property
    def expires_at(self) -> datetime: ...
    @property
    def reason(self) -> str: ...


def check_signed_fields(m: SignedFields) -> None:
    """Raise MalformedOverride unless the shared fields are renderable and in range."""

    def bad(field: str, why: str) -> MalformedOverride:
        return MalformedOverride(f"{field}: {why}")

    if not _SHA256.fullmatch(m.plan_sha256):
        raise bad("plan_sha256", "expected 64 lowercase hex digits")
    if not m.changes:
        raise bad("change", "at least one change is required")
    for action, address in m.changes:
        if not _ACTION.fullmatch(action):
            raise bad("change", f"bad action {action[:40]!r}")
        if not address or len(address) > MAX_ADDRESS_CHARS:
            raise bad("change", "address is empty or too long")
    if m.changes != sort_changes(m.changes):
        raise bad("change", "changes are not sorted by address then action, or repeat")
    if not _APPROVER.fullmatch(m.approver) or _APPROVER_FORBIDDEN & set(m.approver):
        raise bad("approver", "expected an allowed_signers principal (no spaces or patterns)")
    if m.approver.startswith("!"):
        raise bad("approver", "a negated pattern is not a principal")
    for field, when in (("issued_at", m.issued_at), ("expires_at", m.expires_at)):
        if when.tzinfo is None or when.utcoffset() is None:
            raise bad(field, "time zone missing")
        if when.microsecond or not 2000 <= when.astimezone(UTC).year <= 9999:
            raise bad(field, "expected whole seconds between years 2000 and 9999")
    if m.expires_at <= m.issued_at:
        raise bad("expires_at", "not after issued_at")
    if not 0 < len(m.reason) <= MAX_REASON_CHARS:
        raise bad("reason", f"expected 1 to {MAX_REASON_CHARS} characters")
    if not all(" " <= c <= "~" for c in m.reason) or m.reason != m.reason.strip(" "):
        raise bad("reason", "printable ASCII only, no leading or trailing spaces")


def render_message(m: OverrideMessage) -> bytes:
    """The exact bytes that are signed. Raises MalformedOverride for unrenderable fields."""
    check_message(m)
    lines = [
        HEADER,
        f"repository: {m.repository}",
        f"pull_request: {m.pull_request}",
        f"head_sha: {m.head_sha}",
        *signed_tail_lines(m),
    ]
    return ("\n".join(lines) + "\n").encode("ascii")


def _clip(text: str) -> str:
    return repr(text[:60] + ("..." if len(text) > 60 else ""))


class MessageLines:
    """A signed message's lines, read in their fixed order (`key: value` each)."""

    def __init__(self, data: bytes, header: str) -> None:
        try:
            text = data.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedOverride("message is not ASCII") from None
        if "\r" in text or not text.endswith("\n") or text.endswith("\n\n"):
            raise MalformedOverride("message must use LF line endings and end with exactly one LF")
        self.lines = text[:-1].split("\n")
        if self.lines[0] != header:
            raise MalformedOverride(f"line 1: expected {header!r}, got {_clip(self.lines[0])}")
        self.pos = 1

    def take(self, key: str) -> str:
        prefix = f"{key}: "
        lines, pos = self.lines, self.pos
        if pos >= len(lines) or not lines[pos].startswith(prefix):
            got = _clip(lines[pos]) if pos < len(lines) else "end of message"
            raise MalformedOverride(f"line {pos + 1}: expected {key!r}, got {got}")
        self.pos += 1
        return lines[pos][len(prefix) :]

    def number(self, key: str) -> int:
        value = self.take(key)
        if not _PULL.fullmatch(value):
            raise MalformedOverride(f"{key}: not a positive integer: {_clip(value)}")
        return int(value)

    def signed_tail(self) -> tuple[str, tuple[Change, ...], str, datetime, datetime, str]:
        """plan_sha256, the change lines, approver, issued_at, expires_at, reason: the end."""
        plan_sha256 = self.take("plan_sha256")
        changes = []
        while self.pos < len(self.lines) and self.lines[self.pos].startswith("change: "):
            changes.append(_parse_change(self.take("change")))
        approver = self.take("approver")
        issued_at = _parse_time("issued_at", self.take("issued_at"))
        expires_at = _parse_time("expires_at", self.take("expires_at"))
        reason = self.take("reason")
        if self.pos != len(self.lines):
            raise MalformedOverride(f"line {self.pos + 1}: unexpected text after reason")
        return plan_sha256, tuple(changes), approver, issued_at, expires_at, reason


def signed_tail_lines(m: SignedFields) -> list[str]:
    """The rendered lines from plan_sha256 to reason (shared by both message types)."""
    return [
        f"plan_sha256: {m.plan_sha256}",
        *(f"change: {format_change(c)}" for c in m.changes),
        f"approver: {m.approver}",
        f"issued_at: {format_time(m.issued_at)}",
        f"expires_at: {format_time(m.expires_at)}",
        f"reason: {m.reason}",
    ]


def parse_message(data: bytes) -> OverrideMessage:
    """Strictly parse the signed text; it must re-render to exactly the same bytes."""
    lines = MessageLines(data, HEADER)
    repository = lines.take("repository")
    pull = lines.number("pull_request")
    head_sha = lines.take("head_sha")
    plan_sha256, changes, approver, issued_at, expires_at, reason = lines.signed_tail()
    message = OverrideMessage(
        repository=repository,
        pull_request=pull,
        head_sha=head_sha,
        plan_sha256=plan_sha256,
        changes=changes,
        approver=approver,
        issued_at=issued_at,
        expires_at=expires_at,
        reason=reason,
    )
    # One text per message: anything the renderer would write differently is refused.
    if render_message(message) != data:
        raise MalformedOverride("message is not in canonical form")
    return message


def _parse_change(value: str) -> Change:
    action, sep, literal = value.partition(" ")
    if not sep or not literal.startswith('"'):
        raise MalformedOverride(f"change: expected 'ACTION \"ADDRESS\"', got {_clip(value)}")
    try:
        address = json.loads(literal)
    except ValueError:
        raise MalformedOverride(f"change: bad JSON string {_clip(literal)}") from None
    if not isinstance(address, str):
        raise MalformedOverride("change: address is not a JSON string")
    return action, address


def _parse_time(field: str, value: str) -> datetime:
    if not _TIME.fullmatch(value):
        raise MalformedOverride(f"{field}: expected YYYY-MM-DDTHH:MM:SSZ, got {_clip(value)}")
    try:
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise MalformedOverride(f"{field}: not a valid date {_clip(value)}") from None


# --- comment blocks ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OverrideBlock:
    line: int  # 1-based line of the opening fence in the comment
    content: str  # the block's text, LF line endings, each line ending in LF


def extract_override_blocks(
    comment_body: str, info_string: str = INFO_STRING
) -> list[OverrideBlock]:
    """Top-level fenced code blocks whose info string is exactly `info_string`
    (`gatekeeper-override`, or `gatekeeper-apply-override` for an apply override).

    Follows CommonMark's fence rules: up to 3 spaces of indentation, 3+ backticks or tildes,
    a closing fence of the same character at least as long, content de-indented by the
    opening fence's indentation, an unclosed fence running to the end of the text.
    """
    text = comment_body.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    blocks: list[OverrideBlock] = []
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.fullmatch(lines[i])
        if m is None or (m.group(2)[0] == "`" and "`" in m.group(3)):
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3)
        closing = re.compile(r" {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*")
        j = i + 1
        while j < len(lines) and not closing.fullmatch(lines[j]):
            j += 1
        if info.strip(" \t") == info_string:
            body = [_dedent(line, indent) for line in lines[i + 1 : j]]
            blocks.append(OverrideBlock(i + 1, "".join(line + "\n" for line in body)))
        i = j + 1
    return blocks


def fenced_comment(summary: str, info_string: str, message: bytes, signature: str) -> str:
    """A comment body: one human-readable line, then the fenced block a verifier reads."""
    armored = signature if signature.endswith("\n") else signature + "\n"
    return f"{summary}\n\n```{info_string}\n{message.decode('ascii')}{armored}```\n"


def _dedent(line: str, n: int) -> str:
    strip = len(line) - len(line.lstrip(" "))
    return line[min(strip, n) :]


def split_block(content: str) -> tuple[bytes, str]:
    """Split a block into (message bytes, armored signature)."""
    marker = ARMOR_BEGIN + "\n"
    starts = [i for i in _line_starts(content) if content.startswith(marker, i)]
    if not starts:
        raise MalformedOverride(f"no {ARMOR_BEGIN} line in the block")
    if len(starts) > 1:
        raise MalformedOverride("more than one signature in the block")
    message, armored = content[: starts[0]], content[starts[0] :]
    if not message:
        raise MalformedOverride("no message before the signature")
    # Blank lines before the closing fence are layout, not signed data.
    armored = armored.rstrip("\n") + "\n"
    try:
        return message.encode("ascii"), armored
    except UnicodeEncodeError:
        raise MalformedOverride("message is not ASCII") from None


def _line_starts(text: str) -> Iterable[int]:
    yield 0
    i = text.find("\n")
    while i != -1:
        yield i + 1
        i = text.find("\n", i + 1)


# --- evaluation --------------------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class FieldMismatch:
    field: str
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
    The PR override and the apply override (gatekeeper.apply_override) differ in all of
    them, so neither can ever be replayed as the other."""

    info_string: str
    namespace_prefix: str
    parse: Callable[[bytes], Any]  # bytes -> a message with SignedFields
    mismatches: Callable[[Any, Any], tuple[FieldMismatch, ...]]  # (message, expected)
    describe: Callable[[FieldMismatch, Any, Any], str]

    def namespace(self, policy: OverridePolicy) -> str | None:
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
    if mismatch.field != "changes":
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
        out.append(FieldMismatch("repository", expected.repository, m.repository))
    if m.pull_request != expected.pull_request:
        out.append(FieldMismatch("pull_request", str(expected.pull_request), str(m.pull_request)))
    if m.head_sha != expected.head_sha.lower():
        out.append(FieldMismatch("head_sha", expected.head_sha, m.head_sha))
    return (*out, *digest_mismatches(m, expected.plan_sha256, expected.changes))


def digest_mismatches(
    m: SignedFields, plan_sha256: str, changes: Iterable[Change]
) -> tuple[FieldMismatch, ...]:
    """The plan digest and change list a message must bind (both message types)."""
    out = []
    if m.plan_sha256 != plan_sha256.lower():
        out.append(FieldMismatch("plan_sha256", plan_sha256, m.plan_sha256))
    want = sort_changes(changes)
    if m.changes != want:
        out.append(
            FieldMismatch(
                "changes",
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
