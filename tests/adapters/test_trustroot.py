"""The trust root's allowed_signers file (gatekeeper.adapters.trustroot), read by the gate and
by `gatekeeper sign` through the one reader: the same bytes give the same answer in both.

A file that is not UTF-8 is never guessed at. Decoded with "replace", the stray byte below
would have turned the owners' comment line into harmless text and the gate would have
counted the override; with the one strict rule the gate blocks with overrides unavailable
(naming the file and the byte), and `sign` refuses with exit 2 before anything is signed.
"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import cli
from gatekeeper.adapters.github import GitHubClient
from gatekeeper.adapters.ssh_keygen import sign_with_ssh_keygen
from gatekeeper.adapters.trustroot import read_allowed_signers_text, read_trust_root
from gatekeeper.classify import analyze
from gatekeeper.commands import sign, sign_support
from gatekeeper.errors import ConfigError
from gatekeeper.overrides.evaluate import bound_context
from gatekeeper.overrides.message import render_message
from gatekeeper.overrides.signer import build_message, format_comment
from gatekeeper.plan.parse import parse_plan
from gatekeeper.policy.load import parse_policy
from tests.ghserver import GHServer
from tests.support.gaterun import run_gate
from tests.support.scenes import REPO, agent_pr, base_repo
from tests.support.signing_keys import keygen, pub

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "terraform"
GATED_PLAN = str(FIXTURES / "replace_prod_db" / "plan.json")
DOMAIN = "acme.example"
POLICY = f"production:\n  tag_attributes: [triggers]\noverrides:\n  namespace_domain: {DOMAIN}\n"
SIGNERS_PATH = ".github/gatekeeper/allowed_signers"
ALICE = "alice@acme.example"
ALICE_TOKEN = "ghp_alice_trustroot_token"


def _seed(srv: GHServer, key: Path, signers: bytes) -> Any:
    st = srv.state
    base_repo(st, POLICY)
    st.put_content("main", SIGNERS_PATH, signers)
    st.add_token(ALICE_TOKEN, "alice")
    return agent_pr(st)


def _signed_comment(pr: Any, key: Path) -> str:
    """An override a listed key signed for exactly what the gate computes."""
    plan = parse_plan(Path(GATED_PLAN).read_bytes(), label=GATED_PLAN, path=GATED_PLAN)
    analysis = analyze([plan], parse_policy(POLICY, source="test"))
    context = bound_context(REPO, pr.number, pr.head_sha, analysis)
    message = build_message(
        repository=REPO,
        pull_request=pr.number,
        head_sha=pr.head_sha,
        plan_sha256=context.plan_sha256,
        changes=context.changes,
        approver=ALICE,
        reason="INC-4711 recreate the primary",
        issued_at=datetime.now(UTC) - timedelta(minutes=1),
    )
    namespace = f"gatekeeper-override-v1@{DOMAIN}"
    return format_comment(message, sign_with_ssh_keygen(render_message(message), key, namespace))


def test_gate_and_sign_refuse_a_non_utf8_allowed_signers_alike(
    gh_server: GHServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = keygen(tmp_path, "alice")
    line = f'{ALICE} namespaces="gatekeeper-override-v1@{DOMAIN}" {pub(key)}\n'
    signers = b"# owners: caf\xe9 team (Latin-1, not UTF-8)\n" + line.encode()
    pr = _seed(gh_server, key, signers)
    st = gh_server.state
    sha = st.repo(REPO).branches["main"]
    cause = f"{SIGNERS_PATH}@{sha[:12]}: not UTF-8 text (byte 13)"

    # The reader itself: one rule, the cause names the file at the trust root's commit.
    client = GitHubClient(gh_server.bot_token, gh_server.url)
    root = read_trust_root(client, REPO)
    with pytest.raises(ConfigError) as refused:
        read_allowed_signers_text(client, root)
    assert refused.value.message == cause

    # The gate: the override a listed key signed does not count; blocked, with the cause.
    st.add_comment(pr, "alice", _signed_comment(pr, key))
    res = run_gate(gh_server, tmp_path / "gate", pr, ["--plan", GATED_PLAN])
    assert res.code == 1, res.log
    overrides = res.report["overrides"]
    assert overrides["available"] is False
    assert overrides["principals"] == []
    assert cause in overrides["unavailable_reason"]

    # sign: the same file, the same cause, exit 2, nothing signed or posted.
    monkeypatch.setenv("GITHUB_API_URL", gh_server.url)
    monkeypatch.setenv("GITHUB_TOKEN", ALICE_TOKEN)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.setattr(sign_support, "_open_tty", lambda: None)

    def never_sign(*_: Any, **__: Any) -> str:
        raise AssertionError("ssh-keygen must not run")

    monkeypatch.setattr(sign, "sign_with_ssh_keygen", never_sign)
    before = len(st.comments(pr))
    code = cli.main(
        [
            "sign",
            "--repo",
            REPO,
            "--pr",
            str(pr.number),
            "--key",
            str(key),
            "--plan",
            GATED_PLAN,
            "--reason",
            "INC-4711 recreate the primary",
            "--yes-i-confirm",
            str(pr.number),
            "--post",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert cause in err
    assert len(st.comments(pr)) == before


def test_a_utf8_allowed_signers_is_read_as_text(gh_server: GHServer, tmp_path: Path) -> None:
    key = keygen(tmp_path, "alice")
    text = f"# owners: café team\n{ALICE} {pub(key)}\n"
    _seed(gh_server, key, text.encode())
    client = GitHubClient(gh_server.bot_token, gh_server.url)
    root = read_trust_root(client, REPO)
    assert read_allowed_signers_text(client, root) == text
    gh_server.state.put_content("main", SIGNERS_PATH, None)
    assert read_allowed_signers_text(client, read_trust_root(client, REPO)) is None
