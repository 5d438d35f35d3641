"""The signed text of an override (protocol v1, design/SIGNED-OVERRIDES.md): its fields,
the exact bytes that are signed, and the strict parser that accepts only those bytes.

The PR override's message lives here; the apply override's (gatekeeper.overrides.apply)
shares the signed tail (`SignedFields`, `MessageLines.signed_tail`, `signed_tail_lines`).
Pure: no I/O.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from gatekeeper.policy.model import NAMESPACE_PREFIX

INFO_STRING = "gatekeeper-override"
HEADER = "gatekeeper-override v1"
MAX_REASON_CHARS = 500
MAX_ADDRESS_CHARS = 4096

Change = tuple[str, str]  # (action, address)

# Shared by both message types (gatekeeper.overrides.apply).
REPOSITORY = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
NUMBER = re.compile(r"[1-9][0-9]{0,17}")  # a PR number or a workflow run id
COMMIT_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
_ACTION = re.compile(r"[a-z][a-z0-9_-]{0,31}")
# A principal as allowed_signers can name it: printable ASCII, no pattern characters.
_APPROVER = re.compile(r"[!-~]{1,256}")
_APPROVER_FORBIDDEN = frozenset(',"\\*?')
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class MalformedOverride(Exception):
    """An override block or message that is not exactly protocol v1."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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
    """The PR override SSHSIG namespace for an organisation domain."""
    return NAMESPACE_PREFIX + domain


def sort_changes(changes: Iterable[Change]) -> tuple[Change, ...]:
    """Canonical order (address, then action), duplicates dropped."""
    return tuple(sorted(set(changes), key=lambda c: (c[1], c[0])))


def format_time(when: datetime) -> str:
    """UTC, whole seconds, `YYYY-MM-DDTHH:MM:SSZ` (as the message carries it)."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_change(change: Change) -> str:
    """`ACTION "ADDRESS"` with the address as ASCII-escaped JSON."""
    action, address = change
    return f"{action} {json.dumps(address, ensure_ascii=True)}"


def check_message(m: OverrideMessage) -> None:
    """Raise MalformedOverride unless every field is renderable and in range."""

    def bad(field: str, why: str) -> MalformedOverride:
        return MalformedOverride(f"{field}: {why}")

    if not REPOSITORY.fullmatch(m.repository):
        raise bad("repository", "expected owner/name")
    pull = m.pull_request
    if type(pull) is not int or not NUMBER.fullmatch(str(pull)):
        raise bad("pull_request", "expected a positive integer")
    if not COMMIT_SHA.fullmatch(m.head_sha):
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
        """The value of the next line, which must be `key: value`; else MalformedOverride."""
        prefix = f"{key}: "
        lines, pos = self.lines, self.pos
        if pos >= len(lines) or not lines[pos].startswith(prefix):
            got = _clip(lines[pos]) if pos < len(lines) else "end of message"
            raise MalformedOverride(f"line {pos + 1}: expected {key!r}, got {got}")
        self.pos += 1
        return lines[pos][len(prefix) :]

    def number(self, key: str) -> int:
        """The next line's value as a positive integer; else MalformedOverride."""
        value = self.take(key)
        if not NUMBER.fullmatch(value):
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
