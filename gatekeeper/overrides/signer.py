"""The signer's side of signed overrides: build the message, check the signature, format it.

`gatekeeper sign` (gatekeeper.commands.sign) wires these together with ssh-keygen
(gatekeeper.adapters.ssh_keygen) and GitHub. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gatekeeper.errors import OverrideError
from gatekeeper.overrides.allowed_signers import AllowedSigners
from gatekeeper.overrides.apply import ApplyContext, evaluate_apply_overrides
from gatekeeper.overrides.blocks import fenced_comment
from gatekeeper.overrides.evaluate import (
    OverrideComment,
    OverrideContext,
    OverrideEvaluation,
    evaluate_overrides,
)
from gatekeeper.overrides.message import (
    INFO_STRING,
    MAX_REASON_CHARS,
    Change,
    MalformedOverride,
    OverrideMessage,
    format_time,
    parse_message,
    render_message,
    sort_changes,
)
from gatekeeper.overrides.sshsig import (
    PublicKey,
    SignatureRejected,
    VerifiedSignature,
    parse_signature,
    verify_signature,
)
from gatekeeper.policy.model import (
    DEFAULT_MAX_LIFETIME,
    HARD_MAX_LIFETIME,
    OverridePolicy,
    parse_duration,
)


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


# --- the signer's choices, checked before anything is signed ------------------------------


def parse_ttl(text: str) -> timedelta:
    """`90m`, `2h` or `1h30m`; positive and at most 24h."""
    ttl = parse_duration(text)
    if ttl is None:
        raise OverrideError(f"--ttl {text!r} is not a duration", "use e.g. 90m, 2h or 1h30m")
    if ttl <= timedelta(0):
        raise OverrideError(f"--ttl {text!r} is zero", "use e.g. 90m or 2h")
    if ttl > HARD_MAX_LIFETIME:
        raise OverrideError(
            f"--ttl {text} is longer than the 24h hard maximum",
            "an override is for an emergency: ask for the shortest window that covers it",
        )
    return ttl


def _duration(td: timedelta) -> str:
    minutes = int(td.total_seconds()) // 60
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours}h{rest}m"
    return f"{hours}h" if hours else f"{rest}m"


def choose_lifetime(ttl: timedelta | None, limit: timedelta, source: str) -> timedelta:
    """--ttl, or the default capped by the policy's overrides.max_lifetime; never longer."""
    lifetime = ttl if ttl is not None else min(DEFAULT_MAX_LIFETIME, limit)
    if lifetime > limit:
        raise OverrideError(
            f"--ttl {_duration(lifetime)} is longer than the policy allows "
            f"(overrides.max_lifetime {_duration(limit)} in {source})",
            f"use --ttl {_duration(limit)} or less",
        )
    return lifetime


def clean_reason(text: str) -> str:
    """--reason as one line of printable ASCII (whitespace runs become one space)."""
    reason = " ".join(text.split())
    if not reason or len(reason) > MAX_REASON_CHARS or not all(" " <= c <= "~" for c in reason):
        raise OverrideError(
            f"--reason must be 1 to {MAX_REASON_CHARS} characters of printable ASCII",
            "e.g. --reason 'INC-4711 rotate the master credentials'",
        )
    return reason


def _lines(entries: Iterable[int]) -> str:
    return ", ".join(str(n) for n in entries)


def choose_approver(
    option: str | None,
    key: PublicKey | None,
    pub_path: Path,
    allowed: AllowedSigners,
    namespace: str,
    now: datetime,
) -> str:
    """The principal to sign as, checked against allowed_signers before anything is signed."""
    if key is None:
        if option is None:
            raise OverrideError(
                f"{pub_path} not found: cannot look up your principal",
                "create it with `ssh-keygen -y -f KEY > KEY.pub`, or pass --approver",
            )
        if not any(option in e.principals for e in allowed.entries):
            raise OverrideError(
                f"approver {option!r} is not a principal in {allowed.source}",
                "use your principal exactly as the allowed_signers file on the base branch "
                "lists it",
            )
        return option
    listed = allowed.entries_for_key(key)
    add_line = f'PRINCIPAL namespaces="{namespace}" {key.openssh()}'
    if not listed:
        raise OverrideError(
            f"your key {key.fingerprint} ({pub_path}) is not in {allowed.source}",
            f"ask an owner of the default branch to add the line `{add_line}` (merged first: "
            "the gate reads allowed_signers on the default branch's head)",
        )
    principals = sorted(allowed.principals_for(key, namespace=namespace, at=now))
    if not principals:
        raise OverrideError(
            f"your key {key.fingerprint} is in {allowed.source} (line "
            f"{_lines(e.line for e in listed)}) but not for namespace {namespace} now",
            "its namespaces=, valid-after= or valid-before= options exclude this use",
        )
    if option is not None:
        if option not in principals:
            raise OverrideError(
                f"approver {option!r} is not a principal of key {key.fingerprint} in "
                f"{allowed.source} (it is listed for: {', '.join(principals)})",
                "drop --approver, or sign with the key listed for that principal",
            )
        return option
    if len(principals) > 1:
        raise OverrideError(
            f"key {key.fingerprint} is listed for several principals: {', '.join(principals)}",
            "pick one with --approver",
        )
    return principals[0]


# --- the verifier's own evaluation over the finished comment -------------------------------


def _local_comment(body: str, now: datetime) -> OverrideComment:
    return OverrideComment(0, "(not posted)", body, now, "(local check)")


def _why_not(result: OverrideEvaluation) -> str:
    return "; ".join(v.detail for v in result.blocks) or "no override block found"


def self_check(
    body: str,
    approver: str,
    allowed: AllowedSigners,
    context: OverrideContext,
    policy: OverridePolicy,
    now: datetime,
) -> None:
    """Run the gate's own evaluation over the comment body before it is shown or posted."""
    result = evaluate_overrides([_local_comment(body, now)], allowed, context, policy, now)
    verdicts = [v for v in result.blocks if v.counted]
    if len(verdicts) != 1 or approver not in result.principals:
        raise OverrideError(
            f"the gate would not count this override: {_why_not(result)}",
            "nothing was posted; this is a bug if the message above looked right",
        )


def apply_self_check(
    body: str,
    approver: str,
    allowed: AllowedSigners,
    context: ApplyContext,
    policy: OverridePolicy,
    now: datetime,
) -> None:
    """verify's own evaluation over the apply-override comment, before it is shown or posted."""
    comments = [_local_comment(body, now)]
    result = evaluate_apply_overrides(comments, allowed, context, policy, now)
    if approver not in result.principals:
        raise OverrideError(f"verify would not count this apply override: {_why_not(result)}")
