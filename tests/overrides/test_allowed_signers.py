"""allowed_signers parsing, refusals with line numbers, and lookup."""

from __future__ import annotations

import base64
import shutil
import struct
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from gatekeeper.errors import ConfigError
from gatekeeper.overrides.allowed_signers import match_pattern_list, parse_allowed_signers
from gatekeeper.overrides.sshsig import PublicKey

NS = "gatekeeper-override-v1@acme.example"
VERIFY = ["ssh-keygen", "-Y", "verify", "-I", "alice@acme.example", "-n", NS]


def _s(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def ed25519_line() -> tuple[str, PublicKey]:
    raw = (
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    blob = _s(b"ssh-ed25519") + _s(raw)
    return f"ssh-ed25519 {base64.b64encode(blob).decode()}", PublicKey("ssh-ed25519", blob)


def ecdsa_line() -> tuple[str, PublicKey]:
    pub = ec.generate_private_key(ec.SECP384R1()).public_key()
    text = pub.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH)
    kt, b64 = text.decode().split()
    return f"{kt} {b64}", PublicKey(kt, base64.b64decode(b64))


def error_for(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_allowed_signers(text, source="signers")
    return info.value


def test_basic_file() -> None:
    k1, pub1 = ed25519_line()
    k2, pub2 = ecdsa_line()
    text = (
        "# trust root for overrides\n"
        "\n"
        f"alice@acme.example {k1} alice's laptop key\r\n"
        f'   "bob@acme.example,robert@acme.example" namespaces="{NS},git" {k2}\n'
        f'"carol@acme.example" valid-after="20260101",valid-before="20261231235959Z" {k1}\n'
    )
    signers = parse_allowed_signers(text, source="signers")
    a, b, c = signers.entries
    assert (a.line, a.principals, a.key, a.namespaces) == (3, ("alice@acme.example",), pub1, None)
    assert b.line == 4
    assert b.principals == ("bob@acme.example", "robert@acme.example")
    assert b.key == pub2
    assert b.namespaces == (NS, "git")
    assert c.principals == ("carol@acme.example",)
    assert c.valid_after == datetime(2026, 1, 1, tzinfo=UTC)
    assert c.valid_before == datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert signers.entries_for_key(pub1) == (a, c)


def test_lookup_by_key_namespace_and_time() -> None:
    k1, pub1 = ed25519_line()
    k2, pub2 = ed25519_line()
    _, unlisted = ed25519_line()
    text = (
        f'alice@x namespaces="{NS}" {k1}\n'
        f'bob@x namespaces="git" {k1}\n'
        f'carol@x valid-after="202606011200",valid-before="20260601140000" {k2}\n'
    )
    signers = parse_allowed_signers(text)
    noon = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert signers.principals_for(pub1, namespace=NS, at=noon) == {"alice@x"}
    assert signers.principals_for(pub1, namespace="git", at=noon) == {"bob@x"}
    assert signers.principals_for(pub1, namespace="other", at=noon) == set()
    assert signers.lookup(unlisted, namespace=NS, at=noon) == ()
    # No namespaces option: any namespace; the window is inclusive at both ends.
    for when, ok in [
        (datetime(2026, 6, 1, 11, 59, 59, tzinfo=UTC), False),
        (noon, True),
        (datetime(2026, 6, 1, 14, 0, 0, tzinfo=UTC), True),
        (datetime(2026, 6, 1, 14, 0, 1, tzinfo=UTC), False),
    ]:
        assert bool(signers.lookup(pub2, namespace=NS, at=when)) is ok, when
    # Several times: valid at all of them.
    late = datetime(2026, 6, 1, 15, 0, tzinfo=UTC)
    assert signers.lookup(pub2, namespace=NS, at=(noon, late)) == ()


@pytest.mark.parametrize(
    ("line", "needle"),
    [
        ("alice@x cert-authority {k}", "cert-authority is refused"),
        ("cert-authority {k}", "looks like an option"),  # the first field is principals
        ('alice@x namespaces="git",cert-authority {k}', "cert-authority is refused"),
        ("*@acme.example {k}", "wildcard"),
        ("alice@acme.example,b?b@acme.example {k}", "wildcard"),
        ("!mallory@acme.example {k}", "negated"),
        ("alice@x,,bob@x {k}", "bad principal"),
        ("alice@x,alice@x {k}", "duplicate principal"),
        ("alice@x no-touch-required {k}", "unsupported key type or option"),
        ('alice@x namespaces="git",verify-required {k}', "unknown or incomplete option"),
        ("alice@x namespaces=git {k}", "must be in double quotes"),
        ("alice@x valid-after=20260101 {k}", "must be in double quotes"),
        ("alice@x namespaces {k}", "unknown or incomplete option"),
        ('alice@x valid-after="2026-01-01" {k}', "bad valid-after timestamp"),
        ('alice@x valid-before="20261301" {k}', "bad valid-before date"),
        ('alice@x valid-after="20270101",valid-before="20260101" {k}', "later than"),
        ('alice@x valid-after="20260101",valid-after="20260102" {k}', "given twice"),
        ('alice@x namespaces="git {k}', "unterminated"),
        ('alice@x namespaces="" {k}', "bad namespaces"),
        ("alice@x", "missing key"),
        ("alice@x ssh-ed25519", "missing base64"),
        ("alice@x ssh-dss AAAAB3NzaC1kc3M=", "unsupported key type"),
        ("alice@x ssh-ed25519-cert-v01@openssh.com AAAA", "certificate"),
        ("alice@x ssh-ed25519 !!notbase64", "bad ssh-ed25519 key"),
        ("alice@x ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", "bad ssh-ed25519 key"),
    ],
)
def test_refusals_name_the_line(line: str, needle: str) -> None:
    k, _ = ed25519_line()
    text = f"# header\nok@x {k}\n" + line.format(k=k) + "\n"
    err = error_for(text)
    assert err.message.startswith("signers:3: "), err.message
    assert needle in err.message
    assert err.hint


def test_key_type_must_match_blob() -> None:
    k, _ = ecdsa_line()
    err = error_for(f"alice@x ssh-ed25519 {k.split()[1]}\n")
    assert "does not match" in err.message


def test_weak_rsa_key_refused(tmp_path: Path) -> None:
    if shutil.which("ssh-keygen") is None:
        pytest.skip("needs ssh-keygen")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "rsa", "-b", "1024", "-N", "", "-f", str(tmp_path / "k")],
        check=True,
    )
    line = (tmp_path / "k.pub").read_text().strip()
    err = error_for(f"alice@x {line}\n")
    assert "signers:1" in err.message and "1024 bits" in err.message


def test_option_names_are_case_insensitive_and_quotes_protect_commas() -> None:
    k, pub = ed25519_line()
    signers = parse_allowed_signers(f'a@x NAMESPACES="one,two",Valid-Before="20300101Z" {k}\n')
    (entry,) = signers.entries
    assert entry.namespaces == ("one", "two")
    assert entry.valid_before == datetime(2030, 1, 1, tzinfo=UTC)
    assert entry.key == pub


def test_namespace_patterns_follow_openssh() -> None:
    assert match_pattern_list(NS, (NS,))
    assert match_pattern_list(NS, ("gatekeeper-override-v1@*",))
    assert match_pattern_list("git", ("gi?",))
    assert not match_pattern_list(NS, ("git",))
    assert not match_pattern_list(NS, ("*", f"!{NS}"))  # a negation vetoes
    assert not match_pattern_list("Git", ("git",))  # case-sensitive
    assert not match_pattern_list("a.b", ("a?c",))


def test_empty_file_has_no_entries() -> None:
    assert parse_allowed_signers("# nothing yet\n\n").entries == ()


def test_agrees_with_ssh_keygen_on_namespaces_and_validity(tmp_path: Path) -> None:
    """The options we honour restrict exactly as `ssh-keygen -Y verify` does."""
    if shutil.which("ssh-keygen") is None:
        pytest.skip("needs ssh-keygen")
    key = tmp_path / "k"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)],
        check=True,
    )
    line = (tmp_path / "k.pub").read_text().strip()
    (tmp_path / "m").write_bytes(b"hello\n")
    subprocess.run(
        ["ssh-keygen", "-q", "-Y", "sign", "-n", NS, "-f", str(key), str(tmp_path / "m")],
        check=True,
        capture_output=True,
    )
    now = datetime.now(UTC)
    options = [
        "",
        f'namespaces="{NS}"',
        'namespaces="git"',
        'namespaces="gatekeeper-override-v1@*,!git"',
        'valid-before="20200101Z"',
        'valid-after="20990101Z"',
        'valid-after="20200101Z",valid-before="20990101Z"',
        'valid-after="20200101",valid-before="20990101"',
    ]
    for option in options:
        entry_line = f"alice@acme.example {option} {line}".replace("  ", " ")
        (tmp_path / "allowed").write_text(entry_line + "\n")
        reference = (
            subprocess.run(
                [*VERIFY, "-f", str(tmp_path / "allowed"), "-s", str(tmp_path / "m.sig")],
                input=b"hello\n",
                capture_output=True,
                check=False,
            ).returncode
            == 0
        )
        signers = parse_allowed_signers(entry_line)
        mine = bool(signers.lookup(signers.entries[0].key, namespace=NS, at=now))
        assert mine == reference, option
