"""SSH keys made by the real ssh-keygen, for the tests that sign and verify overrides."""

from __future__ import annotations

import subprocess
from pathlib import Path


def keygen(directory: Path, name: str, kind: str = "ed25519", passphrase: str = "") -> Path:
    path = directory / name
    extra = ["-b", "256"] if kind == "ecdsa" else []
    subprocess.run(
        ["ssh-keygen", "-q", "-t", kind, *extra, "-N", passphrase, "-C", name, "-f", str(path)],
        check=True,
    )
    return path


def pub(key: Path) -> str:
    return Path(f"{key}.pub").read_text().strip()
