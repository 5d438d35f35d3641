"""Signed apply overrides: message format, binding, and that a PR override can never be
replayed as an apply override nor the other way round (keys by the real ssh-keygen)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gatekeeper.adapters.ssh_keygen import sign_with_ssh_keygen
from gatekeeper.overrides.allowed_signers import parse_allowed_signers
from gatekeeper.overrides.apply import (
    APPLY_NAMESPACE_PREFIX,
    ApplyContext,
    ApplyOverrideMessage,
    evaluate_apply_overrides,
    format_apply_comment,
    parse_apply_message,
    render_apply_message,
)
from gatekeeper.overrides.evaluate import (
    OverrideComment,
    OverrideContext,
    Rejection,
    evaluate_overrides,
)
from gatekeeper.overrides.message import MalformedOverride, OverrideMessage, render_message
from gatekeeper.overrides.signer import format_comment
from gatekeeper.policy.model import NAMESPACE_PREFIX, OverridePolicy
from tests.support.signing_keys import keygen, pub

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")

DOMAIN = "acme.example"
APPLY_NS = APPLY_NAMESPACE_PREFIX + DOMAIN
PR_NS = NAMESPACE_PREFIX + DOMAIN
ALICE = "alice@acme.example"
SHA = "c" * 40
DIGEST = "d" * 64
CHANGES = (("delete", "null_resource.node[1]"), ("delete", "null_resource.node[2]"))
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
POLICY = OverridePolicy(namespace_domain=DOMAIN)


def apply_message(**kw: object) -> ApplyOverrideMessage:
    args: dict[str, object] = {
        "repository": "acme/infra",
        "commit_sha": SHA,
        "run_id": 42,
        "plan_sha256": DIGEST,
        "changes": CHANGES,
        "approver": ALICE,
        "issued_at": NOW,
        "expires_at": NOW + timedelta(hours=1),
        "reason": "INC-1 break glass",
    }
    args.update(kw)
    return ApplyOverrideMessage(**args)  # type: ignore[arg-type]


EXPECTED = ApplyContext("acme/infra", SHA, 42, DIGEST, CHANGES)


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return keygen(tmp_path_factory.mktemp("k"), "alice")


def signers(key: Path) -> object:
    text = f'{ALICE} namespaces="{APPLY_NS},{PR_NS}" {pub(key)}\n'
    return parse_allowed_signers(text, source="allowed_signers@main")


def comment(body: str) -> OverrideComment:
    return OverrideComment(1, "op", body, NOW, "https://example/c/1")


def test_render_parse_round_trip_and_layout() -> None:
    m = apply_message()
    data = render_apply_message(m)
    assert data.decode().splitlines()[:4] == [
        "gatekeeper-apply-override v1",
        "repository: acme/infra",
        f"commit_sha: {SHA}",
        "run_id: 42",
    ]
    assert parse_apply_message(data) == m
    for bad in (
        data.replace(b"run_id: 42", b"run_id: 042"),
        data.replace(b"\n", b"\r\n"),
        data.replace(b"gatekeeper-apply-override v1", b"gatekeeper-override v1"),
        data + b"extra\n",
    ):
        with pytest.raises(MalformedOverride):
            parse_apply_message(bad)


def test_a_valid_apply_override_counts(key: Path) -> None:
    m = apply_message()
    body = format_apply_comment(m, sign_with_ssh_keygen(render_apply_message(m), key, APPLY_NS))
    got = evaluate_apply_overrides([comment(body)], signers(key), EXPECTED, POLICY, NOW)  # type: ignore[arg-type]
    assert got.satisfied and got.principals == (ALICE,)
    # bound: another run, commit or plan does not count
    for other in (
        ApplyContext("acme/infra", SHA, 43, DIGEST, CHANGES),
        ApplyContext("acme/infra", "e" * 40, 42, DIGEST, CHANGES),
        ApplyContext("acme/infra", SHA, 42, "f" * 64, CHANGES),
        ApplyContext("acme/other", SHA, 42, DIGEST, CHANGES),
    ):
        r = evaluate_apply_overrides([comment(body)], signers(key), other, POLICY, NOW)  # type: ignore[arg-type]
        assert not r.satisfied and r.blocks[0].rejection is Rejection.FIELD_MISMATCH


def test_an_apply_message_signed_in_the_pr_namespace_is_refused(key: Path) -> None:
    m = apply_message()
    body = format_apply_comment(m, sign_with_ssh_keygen(render_apply_message(m), key, PR_NS))
    got = evaluate_apply_overrides([comment(body)], signers(key), EXPECTED, POLICY, NOW)  # type: ignore[arg-type]
    assert not got.satisfied and got.blocks[0].rejection is Rejection.WRONG_NAMESPACE


def test_a_pr_override_is_never_an_apply_override(key: Path) -> None:
    pr = OverrideMessage(
        "acme/infra", 7, SHA, DIGEST, CHANGES, ALICE, NOW, NOW + timedelta(hours=1), "INC-1 x"
    )
    body = format_comment(pr, sign_with_ssh_keygen(render_message(pr), key, PR_NS))
    # its fence is not an apply override's: not even considered
    got = evaluate_apply_overrides([comment(body)], signers(key), EXPECTED, POLICY, NOW)  # type: ignore[arg-type]
    assert got.blocks == () and not got.satisfied
    # in an apply fence, its header is refused
    moved = body.replace("```gatekeeper-override\n", "```gatekeeper-apply-override\n")
    got = evaluate_apply_overrides([comment(moved)], signers(key), EXPECTED, POLICY, NOW)  # type: ignore[arg-type]
    assert got.blocks[0].rejection is Rejection.MALFORMED_BLOCK


def test_an_apply_override_is_never_a_pr_override(key: Path) -> None:
    m = apply_message()
    body = format_apply_comment(m, sign_with_ssh_keygen(render_apply_message(m), key, APPLY_NS))
    ctx = OverrideContext("acme/infra", 7, SHA, DIGEST, CHANGES)
    got = evaluate_overrides([comment(body)], signers(key), ctx, POLICY, NOW)  # type: ignore[arg-type]
    assert got.blocks == () and not got.satisfied
    moved = body.replace("```gatekeeper-apply-override\n", "```gatekeeper-override\n")
    got = evaluate_overrides([comment(moved)], signers(key), ctx, POLICY, NOW)  # type: ignore[arg-type]
    assert got.blocks[0].rejection is Rejection.MALFORMED_BLOCK
    # even a PR-format message signed in the apply namespace does not count as a PR override
    pr = OverrideMessage(
        "acme/infra", 7, SHA, DIGEST, CHANGES, ALICE, NOW, NOW + timedelta(hours=1), "INC-1 x"
    )
    wrong = format_comment(pr, sign_with_ssh_keygen(render_message(pr), key, APPLY_NS))
    got = evaluate_overrides([comment(wrong)], signers(key), ctx, POLICY, NOW)  # type: ignore[arg-type]
    assert got.blocks[0].rejection is Rejection.WRONG_NAMESPACE


def test_expired_apply_override_does_not_count(key: Path) -> None:
    m = apply_message()
    body = format_apply_comment(m, sign_with_ssh_keygen(render_apply_message(m), key, APPLY_NS))
    later = NOW + timedelta(hours=2)
    got = evaluate_apply_overrides([comment(body)], signers(key), EXPECTED, POLICY, later)  # type: ignore[arg-type]
    assert got.blocks[0].rejection is Rejection.EXPIRED
