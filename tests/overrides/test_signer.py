"""The human side: building, signing with the real ssh-keygen, checking and formatting."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.adapters.ssh_keygen import sign_with_ssh_keygen
from gatekeeper.errors import OverrideError
from gatekeeper.overrides import sshsig
from gatekeeper.overrides.allowed_signers import parse_allowed_signers
from gatekeeper.overrides.blocks import extract_override_blocks, split_block
from gatekeeper.overrides.evaluate import OverrideComment, OverrideContext, evaluate_overrides
from gatekeeper.overrides.message import OverrideMessage, parse_message, render_message
from gatekeeper.overrides.signer import build_message, check_signature, format_comment
from gatekeeper.policy.model import OverridePolicy

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")

NS = "gatekeeper-override-v1@acme.example"
HEAD = "3f786850e387550fdab836ed7e6dc881de23001b"
PLAN = "a" * 64
ISSUED = datetime(2026, 6, 1, 12, 0, 7, 123456, tzinfo=UTC)


def build(**kw: Any) -> OverrideMessage:
    fields: dict[str, Any] = {
        "repository": "acme/infra",
        "pull_request": 1234,
        "head_sha": HEAD,
        "plan_sha256": PLAN,
        "changes": [("delete", "b.x"), ("replace", "a.y")],
        "approver": "alice@acme.example",
        "reason": "INC-4711 rotate",
        "issued_at": ISSUED,
    }
    fields.update(kw)
    return build_message(**fields)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sign") / "id_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "alice", "-f", str(path)],
        check=True,
    )
    return path


def test_build_message_normalizes() -> None:
    m = build(
        issued_at=datetime(2026, 6, 1, 14, 0, 7, 999, tzinfo=timezone(timedelta(hours=2))),
        head_sha=HEAD.upper(),
        reason="  INC-4711\n  rotate  ",
        lifetime=timedelta(minutes=30),
    )
    assert m.issued_at == datetime(2026, 6, 1, 12, 0, 7, tzinfo=UTC)
    assert m.expires_at == datetime(2026, 6, 1, 12, 30, 7, tzinfo=UTC)
    assert m.changes == (("replace", "a.y"), ("delete", "b.x"))
    assert m.head_sha == HEAD
    assert m.reason == "INC-4711 rotate"


@pytest.mark.parametrize(
    ("kw", "needle"),
    [
        ({"lifetime": timedelta(hours=25)}, "24h"),
        ({"lifetime": timedelta(0)}, "24h"),
        ({"issued_at": datetime(2026, 6, 1)}, "time zone"),
        ({"changes": []}, "at least one change"),
        ({"reason": "   "}, "reason"),
        ({"reason": "naïve"}, "reason"),
        ({"approver": "*@acme.example"}, "approver"),
        ({"plan_sha256": "abc"}, "plan_sha256"),
        ({"repository": "acme"}, "repository"),
    ],
)
def test_build_message_refuses(kw: dict[str, object], needle: str) -> None:
    with pytest.raises(OverrideError) as info:
        build(**kw)
    assert needle in info.value.message


def test_sign_check_format_and_the_gate_accepts_it(key: Path) -> None:
    m = build()
    data = render_message(m)
    armored = sign_with_ssh_keygen(data, key, NS)
    assert armored.startswith(sshsig.ARMOR_BEGIN)
    verified = check_signature(m, armored, namespace=NS)
    assert verified.key_type == "ssh-ed25519"

    body = format_comment(m, armored)
    first_line = body.split("\n", 1)[0]
    assert first_line == (
        "Signed override by `alice@acme.example` for PR #1234 (2 changes), "
        "valid until 2026-06-01T14:00:07Z."
    )
    (block,) = extract_override_blocks(body)
    message_bytes, sig_text = split_block(block.content)
    assert parse_message(message_bytes) == m
    assert sig_text == armored

    pub = (key.parent / "id_ed25519.pub").read_text().strip()
    allowed = parse_allowed_signers(f"alice@acme.example {pub}\n")
    context = OverrideContext(
        "acme/infra", 1234, HEAD, PLAN, (("replace", "a.y"), ("delete", "b.x"))
    )
    result = evaluate_overrides(
        [OverrideComment(1, "alice-gh", body, ISSUED, "https://example/1")],
        allowed,
        context,
        OverridePolicy(namespace_domain="acme.example"),
        ISSUED + timedelta(minutes=1),
    )
    assert result.satisfied and result.principals == ("alice@acme.example",)

    # Checking against allowed_signers before posting.
    now = ISSUED + timedelta(minutes=1)
    check_signature(m, armored, namespace=NS, allowed_signers=allowed, now=now)
    other = parse_allowed_signers(f"bob@acme.example {pub}\n")
    with pytest.raises(OverrideError, match=r"not listed for alice@acme\.example"):
        check_signature(m, armored, namespace=NS, allowed_signers=other, now=now)


def test_check_signature_refuses_a_mismatch(key: Path) -> None:
    m = build()
    armored = sign_with_ssh_keygen(render_message(m), key, "git")
    with pytest.raises(OverrideError, match="namespace"):
        check_signature(m, armored, namespace=NS)
    other = build(reason="something else")
    good = sign_with_ssh_keygen(render_message(m), key, NS)
    with pytest.raises(OverrideError, match="bad_signature"):
        check_signature(other, good, namespace=NS)


def test_singular_change_in_summary(key: Path) -> None:
    m = build(changes=[("delete", "a.b")])
    body = format_comment(m, "-----BEGIN SSH SIGNATURE-----\nAA\n-----END SSH SIGNATURE-----")
    assert "(1 change)" in body
    assert body.endswith("-----END SSH SIGNATURE-----\n```\n")


def test_sign_failures_are_override_errors(tmp_path: Path, key: Path) -> None:
    with pytest.raises(OverrideError, match="does not exist"):
        sign_with_ssh_keygen(b"x\n", tmp_path / "missing", NS)
    garbage = tmp_path / "garbage"
    garbage.write_text("not a key\n")
    with pytest.raises(OverrideError, match="ssh-keygen -Y sign failed") as info:
        sign_with_ssh_keygen(b"x\n", garbage, NS)
    assert info.value.hint
    with pytest.raises(OverrideError, match="not found"):
        sign_with_ssh_keygen(b"x\n", key, NS, ssh_keygen="no-such-ssh-keygen-binary")


def test_passphrase_key_fails_cleanly_without_prompts(tmp_path: Path) -> None:
    path = tmp_path / "locked"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret-pass", "-f", str(path)], check=True
    )
    with pytest.raises(OverrideError, match="ssh-keygen -Y sign failed"):
        sign_with_ssh_keygen(b"x\n", path, NS, timeout=30)
