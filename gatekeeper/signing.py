"""The human side of signed overrides: build the message, sign it with ssh-keygen, format it.

`gatekeeper sign` (cli) wires these together; this module never talks to GitHub.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gatekeeper.allowed_signers import AllowedSigners
from gatekeeper.errors import OverrideError
from gatekeeper.overrides import (
    INFO_STRING,
    Change,
    MalformedOverride,
    OverrideMessage,
    fenced_comment,
    format_time,
    parse_message,
    render_message,
    sort_changes,
)
from gatekeeper.policy.model import DEFAULT_MAX_LIFETIME, HARD_MAX_LIFETIME
from gatekeeper.sshsig import (
    SignatureRejected,
    VerifiedSignature,
    parse_signature,
    verify_signature,
)

SSH_KEYGEN_TIMEOUT_S = 300.0  # long enough to find and touch a security key


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


def sign_with_ssh_keygen(
    message_bytes: bytes,
    key_path: str | Path,
    namespace: str,
    *,
    ssh_keygen: str = "ssh-keygen",
    show_prompts: bool = False,
    timeout: float = SSH_KEYGEN_TIMEOUT_S,
) -> str:
    """Run `ssh-keygen -Y sign -n NAMESPACE -f KEY` over the message; return the armor.

    `key_path` may be a private key, or a public key whose private half is in ssh-agent.
    `show_prompts` lets ssh-keygen use the terminal (passphrase and "touch your security
    key" prompts); otherwise it runs detached, and its stderr is reported on failure.
    """
    key = Path(key_path)
    if not key.is_file():
        raise OverrideError(f"signing key {key} does not exist", "pass the path with --key")
    exe = shutil.which(ssh_keygen)
    if exe is None:
        raise OverrideError(
            f"{ssh_keygen} not found", "install OpenSSH 8.2 or later (ssh-keygen -Y sign)"
        )
    with tempfile.TemporaryDirectory(prefix="gatekeeper-sign-") as tmp:
        # A file, not stdin: ssh-keygen may need stdin for a passphrase when there is no tty.
        data = Path(tmp) / "override.txt"
        data.write_bytes(message_bytes)
        command = [exe, "-Y", "sign", "-n", namespace, "-f", str(key), str(data)]
        try:
            proc = subprocess.run(
                command,
                stdin=None if show_prompts else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=None if show_prompts else subprocess.PIPE,
                # Without prompts, no controlling terminal either: a passphrase-protected key
                # then fails at once instead of waiting on /dev/tty.
                start_new_session=not show_prompts,
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise OverrideError(
                f"ssh-keygen did not finish within {timeout:.0f}s",
                "was a security key waiting for a touch?",
            ) from None
        except OSError as exc:
            raise OverrideError(f"cannot run {exe}: {exc}") from None
        if proc.returncode != 0:
            stderr = (proc.stderr or b"").decode("utf-8", "replace").strip()
            detail = stderr.splitlines()[-1] if stderr else "see its output above"
            raise OverrideError(
                f"ssh-keygen -Y sign failed (exit {proc.returncode}): {detail}",
                "check the key path and passphrase; a public key needs its private key "
                "loaded in ssh-agent",
            )
        try:
            armored = (Path(tmp) / "override.txt.sig").read_text("ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise OverrideError(f"ssh-keygen wrote no usable signature: {exc}") from None
    return armored


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
