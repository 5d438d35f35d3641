"""`ssh-keygen -Y sign`: the one place an override is signed (a subprocess, so an adapter).

The key never leaves ssh-keygen (or ssh-agent, or the security key): this only hands it the
message file and reads back the armored signature.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from gatekeeper.errors import OverrideError
from gatekeeper.overrides.sshsig import PublicKey, SignatureRejected, public_key_from_openssh

SSH_KEYGEN_TIMEOUT_S = 300.0  # long enough to find and touch a security key


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


def public_key_for(key: Path) -> tuple[Path, PublicKey | None]:
    """KEY.pub (or KEY itself when it is the .pub) and the key in it; None when absent."""
    pub_path = key if key.name.endswith(".pub") else key.with_name(key.name + ".pub")
    if not pub_path.is_file():
        return pub_path, None
    try:
        text = pub_path.read_text("ascii").strip()
        return pub_path, public_key_from_openssh(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise OverrideError(f"cannot read {pub_path}: {exc}") from None
    except SignatureRejected as exc:
        raise OverrideError(
            f"{pub_path} is not a usable public key: {exc.reason}",
            "regenerate it with `ssh-keygen -y -f KEY > KEY.pub`",
        ) from None
