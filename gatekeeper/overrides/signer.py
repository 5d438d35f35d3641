"""The signer's side of signed overrides: build the message, check the signature, format it.

`gatekeeper sign` (gatekeeper.commands.sign) wires these together with ssh-keygen
(gatekeeper.adapters.ssh_keygen) and GitHub. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from gatekeeper.errors import OverrideError
from gatekeeper.overrides.allowed_signers import AllowedSigners
from gatekeeper.overrides.blocks import fenced_comment
from gatekeeper.overrides.message import (
    INFO_STRING,
    Change,
    MalformedOverride,
    OverrideMessage,
    format_time,
    parse_message,
    render_message,
    sort_changes,
)
from gatekeeper.overrides.sshsig import (
    SignatureRejected,
    VerifiedSignature,
    parse_signature,
    verify_signature,
)
from gatekeeper.policy import DEFAULT_MAX_LIFETIME, HARD_MAX_LIFETIME


def build_message(
    *,
    repository: str,
    pull_request: int,
    head_sha: str,
    plan_sha256: str,
    changes: Iterable[Change],
    approver: str,
    reason: str,
    issued_at: datetime,
    lifetime: timedelta = DEFAULT_MAX_LIFETIME,
) -> OverrideMessage:
    """A validated message; changes are put in canonical order. Raises OverrideError."""
    issued, expires = validity(issued_at, lifetime)
    message = OverrideMessage(
        repository=repository,
        pull_request=pull_request,
        head_sha=head_sha.lower(),
        plan_sha256=plan_sha256.lower(),
        changes=sort_changes(changes),
        approver=approver,
        issued_at=issued,
        expires_at=expires,
        reason=" ".join(reason.split()),  # one line: the message format has no continuation
    )
    try:
        render_message(message)
    except MalformedOverride as exc:
        raise OverrideError(f"cannot build the override message: {exc.reason}") from None
    return message


def validity(issued_at: datetime, lifetime: timedelta) -> tuple[datetime, datetime]:
    """(issued_at, expires_at) of a signed message, whole seconds UTC. Raises OverrideError."""
    if issued_at.tzinfo is None:
        raise OverrideError("issued_at has no time zone", "pass an aware datetime (UTC)")
    if not timedelta(0) < lifetime <= HARD_MAX_LIFETIME:
        raise OverrideError(
            f"override lifetime {lifetime} is not within (0, 24h]",
            "ask for the shortest window that covers the change (default 2h)",
        )
    issued = issued_at.astimezone(UTC).replace(microsecond=0)
    return issued, issued + lifetime


def check_signature(
    message: OverrideMessage,
    armored: str,
    *,
    namespace: str,
    allowed_signers: AllowedSigners | None = None,
    now: datetime | None = None,
    require_user_verification: bool = False,
) -> VerifiedSignature:
    """Verify our own output with the gate's verifier before it is posted.

    With `allowed_signers` (and `now`), also check the key is listed for the approver, so
    a human learns before posting that the gate would not count it. Raises OverrideError.
    """
    data = render_message(message)
    try:
        if parse_message(data) != message:
            raise OverrideError("the override message does not round-trip; this is a bug")
        verified = verify_signature(
            armored,
            data,
            namespace=namespace,
            public_key=None,
            require_user_verification=require_user_verification,
        )
    except (SignatureRejected, MalformedOverride) as exc:
        raise OverrideError(
            f"the new signature does not verify: {exc}",
            "use an ed25519, ecdsa or RSA (>= 2048 bit) key, or a FIDO -sk key",
        ) from None
    if allowed_signers is not None:
        key = parse_signature(armored).public_key  # verified above, so it parses
        at = (now or datetime.now(UTC), message.issued_at)
        principals = allowed_signers.principals_for(key, namespace=namespace, at=at)
        if message.approver not in principals:
            raise OverrideError(
                f"key {verified.fingerprint} is not listed for {message.approver} in "
                f"{allowed_signers.source} (for namespace {namespace} now)",
                "ask an owner of the allowed_signers file on the default branch to add it",
            )
    return verified


def format_comment(message: OverrideMessage, signature: str) -> str:
    """The comment body: one human-readable line, then the fenced block the gate reads."""
    count = len(message.changes)
    summary = (
        f"Signed override by `{message.approver}` for PR #{message.pull_request} "
        f"({count} change{'s' if count != 1 else ''}), valid until "
        f"{format_time(message.expires_at)}."
    )
    return fenced_comment(summary, INFO_STRING, render_message(message), signature)
