"""Signed override comments end to end: real ssh-keygen keys and signatures, every rejection."""

from __future__ import annotations

import base64
import hashlib
import shutil
import struct
import subprocess
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from gatekeeper.errors import ConfigError
from gatekeeper.overrides import sshsig
from gatekeeper.overrides.allowed_signers import AllowedSigners, parse_allowed_signers
from gatekeeper.overrides.blocks import extract_override_blocks, split_block
from gatekeeper.overrides.evaluate import (
    OverrideComment,
    OverrideContext,
    OverrideEvaluation,
    Rejection,
    evaluate_overrides,
)
from gatekeeper.overrides.message import (
    OverrideMessage,
    render_message,
)
from gatekeeper.overrides.signer import format_comment
from gatekeeper.policy.model import OverridePolicy
from tests.support.override_messages import (
    CHANGES,
    CONTEXT,
    DOMAIN,
    HEAD,
    ISSUED,
    NOW,
    NS,
    PLAN,
    POLICY,
    message,
)

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


# --- keys and signing -------------------------------------------------------------------


@dataclass(frozen=True)
class Signers:
    keys: dict[str, Path]
    allowed: AllowedSigners
    fido: ed25519.Ed25519PrivateKey


def _s(data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + data


def _fido_pub(priv: ed25519.Ed25519PrivateKey) -> bytes:
    raw = priv.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return _s(b"sk-ssh-ed25519@openssh.com") + _s(raw) + _s(b"ssh:")


@pytest.fixture(scope="module")
def signers(tmp_path_factory: pytest.TempPathFactory) -> Signers:
    d = tmp_path_factory.mktemp("override-keys")
    specs = {
        "alice": ["-t", "ed25519"],
        "bob": ["-t", "ecdsa", "-b", "256"],
        "carol": ["-t", "rsa", "-b", "3072"],
        "dual": ["-t", "ed25519"],
        "gitonly": ["-t", "ed25519"],
        "old": ["-t", "ed25519"],
        "mallory": ["-t", "ed25519"],
    }
    keys, pubs = {}, {}
    for name, args in specs.items():
        subprocess.run(
            ["ssh-keygen", "-q", *args, "-N", "", "-C", name, "-f", str(d / name)], check=True
        )
        keys[name] = d / name
        pubs[name] = (d / f"{name}.pub").read_text().strip()
    fido = ed25519.Ed25519PrivateKey.generate()
    fido_line = "sk-ssh-ed25519@openssh.com " + base64.b64encode(_fido_pub(fido)).decode()
    text = (
        "# trust root\n"
        f'alice@acme.example namespaces="{NS}" {pubs["alice"]}\n'
        f"bob@acme.example {pubs['bob']}\n"
        f"carol@acme.example {pubs['carol']}\n"
        f"dave@acme.example,erin@acme.example {pubs['dual']}\n"
        f'gitonly@acme.example namespaces="git" {pubs["gitonly"]}\n'
        f'old@acme.example valid-before="20260101Z" {pubs["old"]}\n'
        f"fido@acme.example {fido_line}\n"
    )
    return Signers(keys, parse_allowed_signers(text, source="allowed_signers"), fido)


def ssh_sign(key: Path, data: bytes, namespace: str = NS) -> str:
    return subprocess.run(
        ["ssh-keygen", "-q", "-Y", "sign", "-n", namespace, "-f", str(key)],
        input=data,
        capture_output=True,
        check=True,
    ).stdout.decode()


def fido_sign(priv: ed25519.Ed25519PrivateKey, data: bytes, flags: int) -> str:
    """What an ed25519-sk authenticator returns, built by hand (no hardware in CI)."""
    digest = hashlib.sha512(data).digest()
    tbs = b"SSHSIG" + _s(NS.encode()) + _s(b"") + _s(b"sha512") + _s(digest)
    counter = struct.pack(">I", 42)
    signed = hashlib.sha256(b"ssh:").digest() + bytes([flags]) + counter
    signed += hashlib.sha256(tbs).digest()
    kt = b"sk-ssh-ed25519@openssh.com"
    sig = _s(kt) + _s(priv.sign(signed)) + bytes([flags]) + counter
    blob = b"SSHSIG" + struct.pack(">I", 1) + _s(_fido_pub(priv)) + _s(NS.encode()) + _s(b"")
    blob += _s(b"sha512") + _s(sig)
    b64 = base64.b64encode(blob).decode()
    lines = "\n".join(b64[i : i + 70] for i in range(0, len(b64), 70))
    return f"{sshsig.ARMOR_BEGIN}\n{lines}\n{sshsig.ARMOR_END}\n"


def comment(body: str, cid: int = 1, login: str = "alice-gh", minute: int = 0) -> OverrideComment:
    return OverrideComment(
        id=cid,
        author_login=login,
        body=body,
        created_at=ISSUED + timedelta(minutes=minute),
        url=f"https://github.com/acme/infra/pull/1234#issuecomment-{cid}",
    )


def signed(signers: Signers, who: str, m: OverrideMessage | None = None, ns: str = NS) -> str:
    m = m or message()
    return format_comment(m, ssh_sign(signers.keys[who], render_message(m), ns))


def evaluate(
    signers: Signers,
    *bodies: str,
    context: OverrideContext = CONTEXT,
    policy: OverridePolicy = POLICY,
    now: datetime = NOW,
    trust_root_changed: bool = False,
) -> OverrideEvaluation:
    comments = [comment(b, cid=i + 1, minute=i) for i, b in enumerate(bodies)]
    return evaluate_overrides(
        comments, signers.allowed, context, policy, now, trust_root_changed=trust_root_changed
    )


def only_rejection(result: OverrideEvaluation) -> Rejection | None:
    (verdict,) = result.blocks
    assert verdict.counted is (verdict.rejection is None)
    return verdict.rejection


# --- evaluation: accepted ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "principal", "key_type"),
    [
        ("alice", "alice@acme.example", "ssh-ed25519"),
        ("bob", "bob@acme.example", "ecdsa-sha2-nistp256"),
        ("carol", "carol@acme.example", "ssh-rsa"),
    ],
)
def test_valid_override_counts(signers: Signers, who: str, principal: str, key_type: str) -> None:
    body = signed(signers, who, message(approver=principal))
    result = evaluate(signers, body)
    assert result.available and result.satisfied
    assert result.principals == (principal,)
    (audit,) = result.accepted
    assert audit.principal == principal
    assert audit.key_type == key_type
    listed = subprocess.run(
        ["ssh-keygen", "-l", "-E", "sha256", "-f", f"{signers.keys[who]}.pub"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    assert audit.key_fingerprint == listed
    assert audit.reason == "INC-4711 rotate master credentials"
    assert (audit.issued_at, audit.expires_at) == (ISSUED, ISSUED + timedelta(hours=2))
    assert audit.comment_url.endswith("#issuecomment-1")
    (verdict,) = result.blocks
    assert verdict.counted and verdict.principal == principal


def test_crlf_saved_comment_is_accepted(signers: Signers) -> None:
    body = signed(signers, "alice").replace("\n", "\r\n")
    assert "\r\n" in body
    assert evaluate(signers, body).satisfied


def test_repository_case_and_change_order_do_not_matter(signers: Signers) -> None:
    body = signed(signers, "alice")
    context = replace(CONTEXT, repository="Acme/Infra", changes=tuple(reversed(CHANGES)))
    assert evaluate(signers, body, context=context).satisfied


def test_clock_skew_tolerated(signers: Signers) -> None:
    body = signed(signers, "alice")
    assert evaluate(signers, body, now=ISSUED - timedelta(minutes=4)).satisfied
    assert evaluate(signers, body, now=ISSUED + timedelta(hours=2)).satisfied


def test_longer_lifetime_when_policy_allows(signers: Signers) -> None:
    body = signed(signers, "alice", message(expires_at=ISSUED + timedelta(hours=3)))
    policy = OverridePolicy(namespace_domain=DOMAIN, max_lifetime=timedelta(hours=4))
    assert evaluate(signers, body, policy=policy).satisfied


# --- evaluation: rejected ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "got"),
    [
        ("pull_request", 1235, "1234"),
        ("head_sha", "0" * 40, HEAD),
        ("plan_sha256", "1" * 64, PLAN),
        ("repository", "acme/other", "acme/infra"),
    ],
)
def test_replay_to_another_pr_sha_or_plan(
    signers: Signers, field: str, value: Any, got: str
) -> None:
    body = signed(signers, "alice")
    result = evaluate(signers, body, context=replace(CONTEXT, **{field: value}))
    assert only_rejection(result) is Rejection.FIELD_MISMATCH
    (verdict,) = result.blocks
    (mismatch,) = verdict.mismatches
    assert (mismatch.field, mismatch.expected, mismatch.got) == (field, str(value), got)
    assert field in verdict.detail
    assert verdict.principal == "alice@acme.example"  # authentic, just not for this PR
    assert not result.satisfied and result.principals == ()


def test_different_change_list_says_which(signers: Signers) -> None:
    body = signed(signers, "alice")
    context = replace(CONTEXT, changes=(*CHANGES, ("delete", "aws_kms_key.main")))
    result = evaluate(signers, body, context=context)
    assert only_rejection(result) is Rejection.FIELD_MISMATCH
    assert 'not signed: delete "aws_kms_key.main"' in result.blocks[0].detail
    context = replace(CONTEXT, changes=(("delete", "aws_db_instance.main"), CHANGES[1]))
    detail = evaluate(signers, body, context=context).blocks[0].detail
    assert 'not signed: delete "aws_db_instance.main"' in detail
    assert 'not in this plan: replace "aws_db_instance.main"' in detail


def test_expired_and_not_yet_valid(signers: Signers) -> None:
    body = signed(signers, "alice")
    late = evaluate(signers, body, now=ISSUED + timedelta(hours=2, seconds=1))
    assert only_rejection(late) is Rejection.EXPIRED
    assert "2026-06-01T14:00:00Z" in late.blocks[0].detail
    early = evaluate(signers, body, now=ISSUED - timedelta(minutes=5, seconds=1))
    assert only_rejection(early) is Rejection.NOT_YET_VALID


def test_lifetime_too_long(signers: Signers) -> None:
    body = signed(signers, "alice", message(expires_at=ISSUED + timedelta(hours=2, seconds=1)))
    result = evaluate(signers, body)
    assert only_rejection(result) is Rejection.LIFETIME_TOO_LONG
    assert "2:00:00" in result.blocks[0].detail


def test_edited_reason_breaks_the_signature(signers: Signers) -> None:
    body = signed(signers, "alice").replace("rotate master", "drop all")
    assert only_rejection(evaluate(signers, body)) is Rejection.BAD_SIGNATURE


def test_edited_bound_field_breaks_the_signature(signers: Signers) -> None:
    body = signed(signers, "alice", message(pull_request=99)).replace(
        "pull_request: 99", "pull_request: 1234"
    )
    assert only_rejection(evaluate(signers, body)) is Rejection.BAD_SIGNATURE


def test_unlisted_key(signers: Signers) -> None:
    result = evaluate(signers, signed(signers, "mallory"))
    assert only_rejection(result) is Rejection.UNKNOWN_KEY
    assert "not in allowed_signers" in result.blocks[0].detail
    assert result.blocks[0].key_fingerprint and result.blocks[0].principal is None


def test_wrong_approver(signers: Signers) -> None:
    # Alice's key, claiming to be Bob.
    body = signed(signers, "alice", message(approver="bob@acme.example"))
    result = evaluate(signers, body)
    assert only_rejection(result) is Rejection.APPROVER_NOT_PRINCIPAL
    assert "alice@acme.example" in result.blocks[0].detail


def test_wrong_namespace(signers: Signers) -> None:
    for ns in ("git", "gatekeeper-override-v1@evil.example", "file"):
        result = evaluate(signers, signed(signers, "bob", message(approver="bob@acme.example"), ns))
        assert only_rejection(result) is Rejection.WRONG_NAMESPACE
        assert repr(ns) in result.blocks[0].detail


def test_git_commit_signature_is_not_an_override(signers: Signers, tmp_path: Path) -> None:
    """A real SSH-signed git commit by a listed key cannot be reused as an override."""
    if shutil.which("git") is None:
        pytest.skip("needs git")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=Alice", "-c", "user.email=a@x"]
    git += ["-c", "gpg.format=ssh", "-c", f"user.signingkey={signers.keys['bob']}"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "commit", "-q", "-S", "--allow-empty", "-m", "x"], check=True)
    raw = subprocess.run(
        [*git, "cat-file", "commit", "HEAD"], capture_output=True, text=True, check=True
    ).stdout
    lines = raw.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("gpgsig "))
    sig_lines = [lines[start][len("gpgsig ") :]]
    for line in lines[start + 1 :]:
        if not line.startswith(" "):
            break
        sig_lines.append(line[1:])
    armored = "\n".join(sig_lines) + "\n"
    assert sshsig.parse_signature(armored).namespace == "git"
    body = format_comment(message(approver="bob@acme.example"), armored)
    assert only_rejection(evaluate(signers, body)) is Rejection.WRONG_NAMESPACE


def test_key_restricted_to_other_namespace_or_expired(signers: Signers) -> None:
    git_only = signed(signers, "gitonly", message(approver="gitonly@acme.example"))
    result = evaluate(signers, git_only)
    assert only_rejection(result) is Rejection.KEY_NOT_VALID
    assert "namespaces option" in result.blocks[0].detail
    old = signed(signers, "old", message(approver="old@acme.example"))
    result = evaluate(signers, old)
    assert only_rejection(result) is Rejection.KEY_NOT_VALID
    assert "valid-after/valid-before" in result.blocks[0].detail


def test_distinct_principals_not_comments_or_logins(signers: Signers) -> None:
    alice1 = signed(signers, "alice")
    alice2 = signed(signers, "alice", message(reason="second thoughts"))
    comments = [
        comment(alice1, cid=1, login="alice-gh", minute=1),
        comment(alice2, cid=2, login="someone-else", minute=2),
    ]
    policy = OverridePolicy(namespace_domain=DOMAIN, signatures_required=2)
    result = evaluate_overrides(comments, signers.allowed, CONTEXT, policy, NOW)
    assert result.principals == ("alice@acme.example",)
    assert not result.satisfied
    assert [v.rejection for v in result.blocks] == [None, Rejection.DUPLICATE_PRINCIPAL]
    assert result.blocks[1].key_fingerprint == result.accepted[0].key_fingerprint
    bob = signed(signers, "bob", message(approver="bob@acme.example"))
    result = evaluate_overrides(
        [*comments, comment(bob, cid=3, login="alice-gh", minute=3)],
        signers.allowed,
        CONTEXT,
        policy,
        NOW,
    )
    assert result.satisfied
    assert result.principals == ("alice@acme.example", "bob@acme.example")
    assert [a.comment_id for a in result.accepted] == [1, 3]


def test_one_key_under_two_principals_counts_once(signers: Signers) -> None:
    dave = signed(signers, "dual", message(approver="dave@acme.example"))
    erin = signed(signers, "dual", message(approver="erin@acme.example"))
    policy = OverridePolicy(namespace_domain=DOMAIN, signatures_required=2)
    result = evaluate(signers, dave, erin, policy=policy)
    assert result.principals == ("dave@acme.example",)
    assert result.blocks[1].rejection is Rejection.DUPLICATE_KEY
    assert not result.satisfied


def test_trust_root_change_disables_every_block(signers: Signers) -> None:
    good = signed(signers, "alice")
    result = evaluate(signers, good, good + "\n" + good, trust_root_changed=True)
    assert not result.available and not result.satisfied
    assert result.unavailable_reason and "allowed_signers" in result.unavailable_reason
    assert len(result.blocks) == 3
    assert {v.rejection for v in result.blocks} == {Rejection.TRUST_ROOT_CHANGED}
    assert result.accepted == ()


def test_unavailable_when_disabled_or_unconfigured(signers: Signers) -> None:
    good = signed(signers, "alice")
    off = evaluate(signers, good, policy=OverridePolicy(enabled=False, namespace_domain=DOMAIN))
    assert only_rejection(off) is Rejection.OVERRIDES_DISABLED
    no_domain = evaluate(signers, good, policy=OverridePolicy())
    assert only_rejection(no_domain) is Rejection.NOT_CONFIGURED
    assert no_domain.unavailable_reason == "overrides.namespace_domain is not set"
    no_file = evaluate_overrides([comment(good)], None, CONTEXT, POLICY, NOW)
    assert only_rejection(no_file) is Rejection.NOT_CONFIGURED
    assert ".github/gatekeeper/allowed_signers" in (no_file.unavailable_reason or "")
    assert not (off.satisfied or no_domain.satisfied or no_file.satisfied)


def test_oversized_comment(signers: Signers) -> None:
    good = signed(signers, "alice")
    big = good + "\n" + "x" * (65536 - len(good))
    result = evaluate(signers, big, "y" * 70000)
    (verdict,) = result.blocks  # the unrelated big comment is not an override attempt
    assert verdict.rejection is Rejection.OVERSIZED_COMMENT and verdict.block_index is None
    assert evaluate(signers, good + "x" * (65536 - len(good))).satisfied  # at the limit


def test_malformed_blocks(signers: Signers) -> None:
    good = signed(signers, "alice")
    no_sig = "```gatekeeper-override\n" + render_message(message()).decode() + "```\n"
    garbage = good.replace("-----END SSH SIGNATURE-----", "-----END SSH SIGNATURE-----\nx")
    template = "```gatekeeper-override\ngatekeeper-override v1\nrepository: <owner/repo>\n```"
    result = evaluate(signers, no_sig, garbage, template)
    assert [v.rejection for v in result.blocks] == [
        Rejection.MALFORMED_BLOCK,
        Rejection.MALFORMED_SIGNATURE,
        Rejection.MALFORMED_BLOCK,
    ]
    assert "no -----BEGIN SSH SIGNATURE----- line" in result.blocks[0].detail


def test_several_blocks_in_one_comment_are_each_listed(signers: Signers) -> None:
    body = signed(signers, "mallory") + "\nand\n" + signed(signers, "alice")
    result = evaluate(signers, body)
    assert [(v.block_index, v.rejection) for v in result.blocks] == [
        (0, Rejection.UNKNOWN_KEY),
        (1, None),
    ]
    assert result.satisfied


def test_user_verification_policy_needs_a_security_key(signers: Signers) -> None:
    policy = OverridePolicy(namespace_domain=DOMAIN, require_user_verification=True)
    result = evaluate(signers, signed(signers, "alice"), policy=policy)
    assert only_rejection(result) is Rejection.SECURITY_KEY_FLAGS


@pytest.mark.parametrize(
    ("flags", "require_uv", "outcome"),
    [
        (0x01, False, None),
        (0x05, True, None),
        (0x00, False, Rejection.SECURITY_KEY_FLAGS),
        (0x01, True, Rejection.SECURITY_KEY_FLAGS),
    ],
)
def test_security_key_flags(
    signers: Signers, flags: int, require_uv: bool, outcome: Rejection | None
) -> None:
    m = message(approver="fido@acme.example")
    body = format_comment(m, fido_sign(signers.fido, render_message(m), flags))
    policy = OverridePolicy(namespace_domain=DOMAIN, require_user_verification=require_uv)
    result = evaluate(signers, body, policy=policy)
    assert only_rejection(result) is outcome
    if outcome is None:
        assert result.accepted[0].sk_flags == flags
        assert result.accepted[0].key_type == "sk-ssh-ed25519@openssh.com"


def test_policy_validation() -> None:
    with pytest.raises(ConfigError, match="24h"):
        OverridePolicy(max_lifetime=timedelta(hours=25))
    with pytest.raises(ConfigError, match="signatures_required"):
        OverridePolicy(signatures_required=0)
    with pytest.raises(ConfigError, match="not a domain"):
        OverridePolicy(namespace_domain="acme example")
    assert OverridePolicy(namespace_domain=DOMAIN).namespace == NS


def test_naive_now_is_a_programming_error(signers: Signers) -> None:
    with pytest.raises(ValueError, match="timezone"):
        evaluate(signers, "", now=datetime(2026, 6, 1, 12, 0))


# --- fuzz --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_case(signers: Signers) -> tuple[str, bytes, bytes, str]:
    m = message()
    armored = ssh_sign(signers.keys["alice"], render_message(m))
    body = format_comment(m, armored)
    return body, render_message(m), sshsig.dearmor(armored), armored


_INSERTABLE = st.one_of(
    st.sampled_from(list("\n\r \t`~-=/+Aa0\x00é")), st.characters(codec="utf-8")
)
_MUTATION = st.tuples(
    st.sampled_from(["flip", "truncate", "insert", "delete"]),
    st.integers(min_value=0, max_value=1 << 20),
    st.integers(min_value=1, max_value=255),
    _INSERTABLE,
)


def _mutate_text(text: str, mutation: tuple[str, int, int, str]) -> str:
    kind, pos, mask, char = mutation
    i = pos % (len(text) + 1)
    if kind == "insert" or not text:
        return text[:i] + char + text[i:]
    if i == len(text):
        i -= 1
    if kind == "flip":
        return text[:i] + chr(ord(text[i]) ^ mask) + text[i + 1 :]
    if kind == "truncate":
        return text[:i]
    return text[:i] + text[i + 1 :]


def _mutate_bytes(data: bytes, mutation: tuple[str, int, int, str]) -> bytes:
    kind, pos, mask, _ = mutation
    i = pos % (len(data) + 1)
    if kind == "insert" or not data:
        return data[:i] + bytes([mask]) + data[i:]
    if i == len(data):
        i -= 1
    if kind == "flip":
        return data[:i] + bytes([data[i] ^ mask]) + data[i + 1 :]
    if kind == "truncate":
        return data[:i]
    return data[:i] + data[i + 1 :]


def _armor(blob: bytes) -> str:
    b64 = base64.b64encode(blob).decode()
    lines = "\n".join(b64[i : i + 70] for i in range(0, len(b64), 70))
    return f"{sshsig.ARMOR_BEGIN}\n{lines}\n{sshsig.ARMOR_END}\n"


@settings(
    max_examples=10_000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    target=st.sampled_from(["comment", "message", "signature blob"]),
    mutations=st.lists(_MUTATION, min_size=1, max_size=3),
)
@pytest.mark.slow
def test_fuzz_mutations_are_rejected_without_crashing(
    signers: Signers,
    fuzz_case: tuple[str, bytes, bytes, str],
    target: str,
    mutations: list[tuple[str, int, int, str]],
) -> None:
    body, message_bytes, blob, armored = fuzz_case
    m = message()
    if target == "comment":
        for mutation in mutations:
            body = _mutate_text(body, mutation)
    elif target == "message":
        text = message_bytes.decode()
        for mutation in mutations:
            text = _mutate_text(text, mutation)
        body = "```gatekeeper-override\n" + text + armored + "```\n"
    else:
        for mutation in mutations:
            blob = _mutate_bytes(blob, mutation)
        body = "```gatekeeper-override\n" + render_message(m).decode() + _armor(blob) + "```\n"
    result = evaluate_overrides([comment(body)], signers.allowed, CONTEXT, POLICY, NOW)
    assert all(v.rejection is not Rejection.INTERNAL_ERROR for v in result.blocks), result
    for v in result.blocks:
        event(f"{target}: {v.rejection or 'counted'}")
    if not result.satisfied:
        return
    # Accepted only if the signed bytes survived untouched: mutations that cancel out, a CR
    # that normalizes away, an edit to the human-readable line outside the block.
    original = split_block(extract_override_blocks(fuzz_case[0])[0].content)
    counted = [
        b for b, v in zip(extract_override_blocks(body), result.blocks, strict=True) if v.counted
    ]
    assert [split_block(b.content) for b in counted] == [original]
