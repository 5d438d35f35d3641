"""`gatekeeper sign` end to end: the local GitHub server, real ssh-keygen keys, real plans.

What the gate would do with the result is checked with the gate's own pieces: `analyze()`
(or `load_bundle()`) for the expected context, `evaluate_overrides()` over the posted comment,
and the gate command's override seam over a snapshot fetched from the server.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import cli
from gatekeeper.adapters.files import PlanArg, read_plans
from gatekeeper.classify import Analysis, analyze
from gatekeeper.commands import sign, sign_support
from gatekeeper.errors import OverrideError
from gatekeeper.overrides import signer
from gatekeeper.overrides.allowed_signers import parse_allowed_signers
from gatekeeper.overrides.blocks import extract_override_blocks, split_block
from gatekeeper.overrides.evaluate import OverrideComment, OverrideContext
from gatekeeper.overrides.evaluate import evaluate_overrides as gate_evaluate
from gatekeeper.overrides.message import format_change, parse_message
from gatekeeper.policy.load import parse_policy
from gatekeeper.policy.model import OverridePolicy
from tests.ghserver import GHServer
from tests.support.signing_keys import keygen, pub

pytestmark = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures" / "terraform"
PROD_DB = FIXTURES / "replace_prod_db" / "plan.json"
AWKWARD = FIXTURES / "for_each_awkward_keys" / "plan.json"
SENSITIVE = FIXTURES / "sensitive_values" / "plan.json"
REPO = "acme/infra"
DOMAIN = "acme.example"
NS = f"gatekeeper-override-v1@{DOMAIN}"
ALICE = "alice@acme.example"
TOKEN = "ghp_alice_sign_token"
POLICY = (
    "production: {tag_attributes: [triggers]}\n"
    f"overrides: {{namespace_domain: {DOMAIN}, max_lifetime: 3h}}\n"
)
SIGNERS_PATH = ".github/gatekeeper/allowed_signers"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("keys")
    return {
        "alice": keygen(d, "alice"),
        "alice_ecdsa": keygen(d, "alice_ecdsa", "ecdsa"),
        "mallory": keygen(d, "mallory"),
        "locked": keygen(d, "locked", passphrase="correct horse battery"),
    }


@dataclass
class Scene:
    srv: GHServer
    pr: Any
    policy_text: str
    signers_text: str


def seed(
    srv: GHServer,
    signers: str,
    *,
    policy: str | None = POLICY,
    pr_contents: dict[str, str] | None = None,
) -> Scene:
    st = srv.state
    files = {SIGNERS_PATH: signers}
    if policy is not None:
        files[".github/gatekeeper.yml"] = policy
    st.add_repo(REPO, files=files)
    st.add_user("alice", name="Alice Operator")
    st.set_permission("alice", "write")
    st.add_token(TOKEN, "alice")
    pr = st.add_pull(
        author="claude[bot]",
        title="Recreate the database",
        commits=[
            {
                "message": "Bump engine version",
                "author": "claude[bot]",
                "contents": pr_contents or {"main.tf": 'module "prod_db" {}\n'},
            }
        ],
    )
    return Scene(srv, pr, policy or "", signers)


def signer_line(key: Path, principal: str = ALICE, namespaces: str = NS) -> str:
    return f'{principal} namespaces="{namespaces}" {pub(key)}\n'


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, gh_server: GHServer) -> Iterator[GHServer]:
    monkeypatch.setenv("GITHUB_API_URL", gh_server.url)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GH_TOKEN", raising=False)
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.delenv("SSH_ASKPASS", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    # No test may reach the real terminal: a prompt reads the (patched) stdin instead.
    monkeypatch.setattr(sign_support, "_open_tty", lambda: None)
    yield gh_server


def run(
    capsys: pytest.CaptureFixture[str], scene: Scene | None, key: Path, *extra: str, pr: int = 0
) -> tuple[int, str, str]:
    number = pr or (scene.pr.number if scene else 1)
    argv = ["sign", "--repo", REPO, "--pr", str(number), "--key", str(key), *extra]
    if "--reason" not in extra:
        argv += ["--reason", "INC-4711 rotate the master credentials"]
    if "--plan" not in extra and "--bundle" not in extra:
        argv += ["--plan", f"prod={PROD_DB}"]
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def gate_analysis(policy_text: str, *plans: tuple[str, Path]) -> Analysis:
    policy = parse_policy(policy_text, source="test")
    return analyze(read_plans([PlanArg(label, str(path)) for label, path in plans]), policy)


def gate_context(scene: Scene, analysis: Analysis) -> OverrideContext:
    """What the gate computes itself (gate.evaluate_signed_overrides builds the same)."""
    return OverrideContext(
        repository=REPO,
        pull_request=scene.pr.number,
        head_sha=scene.pr.head_sha,
        plan_sha256=analysis.plan_digest,
        changes=tuple((c.change.action.value, c.change.address) for c in analysis.gated),
    )


def posted(scene: Scene) -> list[Any]:
    return scene.srv.state.comments(scene.pr)


def counts(scene: Scene, body: str, context: OverrideContext, **policy: Any) -> Any:
    allowed = parse_allowed_signers(scene.signers_text)
    result = gate_evaluate(
        [OverrideComment(1, "alice", body, datetime.now(UTC), "https://example/c/1")],
        allowed,
        context,
        OverridePolicy(namespace_domain=DOMAIN, max_lifetime=timedelta(hours=3), **policy),
        datetime.now(UTC) + timedelta(minutes=1),
    )
    return result


def never_sign(*_: Any, **__: Any) -> str:
    raise AssertionError("ssh-keygen must not run")


# --- the happy path ------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["alice", "alice_ecdsa"])
def test_posted_override_is_counted_by_the_gate(
    env: GHServer, keys: dict[str, Path], capsys: pytest.CaptureFixture[str], which: str
) -> None:
    key = keys[which]
    scene = seed(env, "# owners\n" + signer_line(keys["mallory"], "mallory@x") + signer_line(key))
    n = scene.pr.number
    code, out, err = run(capsys, scene, key, "--yes-i-confirm", str(n), "--post", "--ttl", "90m")
    assert code == 0, err

    (comment,) = posted(scene)
    assert comment.user.login == "alice"
    assert comment.body == out  # what was printed is what was posted
    assert "Posted: " in err

    (block,) = extract_override_blocks(comment.body)
    message_bytes, _armored = split_block(block.content)
    message = parse_message(message_bytes)
    analysis = gate_analysis(POLICY, ("prod", PROD_DB))
    assert message.repository == REPO
    assert message.pull_request == n
    assert message.head_sha == scene.pr.head_sha
    assert message.plan_sha256 == analysis.plan_digest
    assert message.approver == ALICE  # looked up from KEY.pub in the base allowed_signers
    assert message.expires_at - message.issued_at == timedelta(minutes=90)
    assert message.reason == "INC-4711 rotate the master credentials"

    result = counts(scene, comment.body, gate_context(scene, analysis))
    assert result.satisfied, [v.detail for v in result.blocks]
    assert result.principals == (ALICE,)

    # The exact message was shown before signing, on stderr.
    assert message_bytes.decode() in err.replace("\r\n", "\n")


def test_message_change_lines_equal_the_gated_changes(
    env: GHServer, keys: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """Two plans, one with hostile resource keys (newline, backticks, `::error::`, non-ASCII)."""
    scene = seed(env, signer_line(keys["alice"]))
    n = scene.pr.number
    code, out, err = run(
        capsys,
        scene,
        keys["alice"],
        "--plan",
        f"prod={PROD_DB}",
        "--plan",
        f"apps={AWKWARD}",
        "--yes-i-confirm",
        str(n),
    )
    assert code == 0, err
    assert posted(scene) == []  # no --post: printed only
    assert "Not posted" in err

    analysis = gate_analysis(POLICY, ("prod", PROD_DB), ("apps", AWKWARD))
    gated = sorted({(c.change.action.value, c.change.address) for c in analysis.gated})
    assert len(gated) == 11
    (block,) = extract_override_blocks(out)
    message_bytes, _ = split_block(block.content)
    text = message_bytes.decode("ascii")
    change_lines = [line for line in text.splitlines() if line.startswith("change: ")]
    expected = sorted(gated, key=lambda c: (c[1], c[0]))
    assert change_lines == [f"change: {format_change(c)}" for c in expected]
    assert set(parse_message(message_bytes).changes) == set(gated)
    assert counts(scene, out, gate_context(scene, analysis)).satisfied
    # Hostile keys reach the terminal only JSON-escaped.
    assert "\x1b" not in err
    assert 'change: replace "null_resource.member[\\"caf\\u00e9 \\u2615\\"]"' in err


def test_the_gate_seam_counts_the_posted_comment(
    env: GHServer, keys: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The gate command's own override evaluation, over a snapshot read from the server."""
    from gatekeeper.adapters.github import GitHubClient
    from gatekeeper.gate.signed_overrides import evaluate_signed_overrides

    scene = seed(env, signer_line(keys["alice"]))
    n = scene.pr.number
    code, _, err = run(capsys, scene, keys["alice"], "--yes-i-confirm", str(n), "--post")
    assert code == 0, err

    facts = GitHubClient(TOKEN, env.url).fetch_snapshot(REPO, n)
    policy = parse_policy(POLICY, source="test")
    result = evaluate_signed_overrides(
        facts,
        policy,
        gate_analysis(POLICY, ("prod", PROD_DB)),
        scene.signers_text,
        trust_root_changed=False,
        now=datetime.now(UTC),
    )
    assert result.satisfied and result.principals == (ALICE,)


def test_bundle_from_the_split_setup(
    env: GHServer,
    keys: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """The plan artifact (masked values, before_sha256 over the real ones) signs the same
    digest the gate's `load_bundle` computes; a bundle for another commit is refused."""
    from gatekeeper.adapters.bundle_file import write_bundle
    from gatekeeper.bundle.format import load_bundle

    scene = seed(env, signer_line(keys["alice"]))
    n = scene.pr.number
    plans = read_plans([PlanArg("prod", str(SENSITIVE))])
    bundle = write_bundle(plans, str(tmp_path / "b"), repository=REPO, head_sha=scene.pr.head_sha)
    code, out, err = run(
        capsys, scene, keys["alice"], "--bundle", bundle, "--yes-i-confirm", str(n)
    )
    assert code == 0, err
    analysis = load_bundle(
        Path(bundle).read_bytes(),
        repository=REPO,
        head_sha=scene.pr.head_sha,
        policy=parse_policy(POLICY, source="test"),
        zipped=False,
    )
    (block,) = extract_override_blocks(out)
    assert parse_message(split_block(block.content)[0]).plan_sha256 == analysis.plan_digest
    assert counts(scene, out, gate_context(scene, analysis)).satisfied

    stale = write_bundle(plans, str(tmp_path / "s"), repository=REPO, head_sha="1" * 40)
    code, out, err = run(capsys, scene, keys["alice"], "--bundle", stale, "--yes-i-confirm", str(n))
    assert code == 2 and out == ""
    assert "not the head" in err


def test_bundles_of_a_matrix_sign_the_digest_of_all_legs(
    env: GHServer,
    keys: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """`--bundle DIR` (what `gh run download -p 'gatekeeper-plan-*' -D DIR` writes) takes every
    leg, combined as the gate combines them: the digest of all plans together. A set missing a
    leg, or two legs with one label, is refused before anything is signed."""
    from gatekeeper.adapters.bundle_file import write_bundle
    from gatekeeper.bundle.format import MatrixLeg

    scene = seed(env, signer_line(keys["alice"]))
    n, head = scene.pr.number, scene.pr.head_sha
    folder = tmp_path / "gatekeeper-plans"
    legs = MatrixLeg("plan", 3)
    for stack, plan in (("db", PROD_DB), ("keys", AWKWARD)):
        plans = read_plans([PlanArg(stack, str(plan))])
        write_bundle(
            plans,
            str(folder / f"gatekeeper-plan-{stack}"),
            repository=REPO,
            head_sha=head,
            matrix=legs,
        )
    code, out, err = run(
        capsys, scene, keys["alice"], "--bundle", str(folder), "--yes-i-confirm", str(n)
    )
    assert code == 2 and out == "" and "has 3 legs and 2 plan bundles" in err

    write_bundle(
        [], str(folder / "gatekeeper-plan-dns"), repository=REPO, head_sha=head, no_plan="dns",
        matrix=legs,
    )  # fmt: skip
    code, out, err = run(
        capsys, scene, keys["alice"], "--bundle", str(folder), "--yes-i-confirm", str(n)
    )
    assert code == 0, err
    together = gate_analysis(POLICY, ("db", PROD_DB), ("keys", AWKWARD))
    (block,) = extract_override_blocks(out)
    message = parse_message(split_block(block.content)[0])
    assert message.plan_sha256 == together.plan_digest
    assert len(message.changes) == len(together.gated) > 1
    assert counts(scene, out, gate_context(scene, together)).satisfied
    assert "gatekeeper-plan-dns" in err and ": db, keys" in err  # what the signer is shown

    dup = tmp_path / "dup"
    for name in ("gatekeeper-plan-a", "gatekeeper-plan-b"):
        write_bundle(
            read_plans([PlanArg("db", str(PROD_DB))]),
            str(dup / name),
            repository=REPO,
            head_sha=head,
        )
    code, out, err = run(
        capsys, scene, keys["alice"], "--bundle", str(dup), "--yes-i-confirm", str(n)
    )
    assert code == 2 and out == "" and "both hold the plan labelled 'db'" in err


def test_prompt_accepts_the_typed_pr_number(
    env: GHServer,
    keys: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scene = seed(env, signer_line(keys["alice"]))
    monkeypatch.setattr("sys.stdin", io.StringIO(f"#{scene.pr.number}\n"))
    code, _, err = run(capsys, scene, keys["alice"], "--post")
    assert code == 0, err
    assert f"Type the PR number ({scene.pr.number})" in err
    assert len(posted(scene)) == 1


# --- refusals: exit 2, nothing posted ------------------------------------------------------


@pytest.mark.parametrize("answer", ["999\n", "yes\n", ""])
def test_wrong_confirmation_aborts_before_signing(
    env: GHServer,
    keys: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    answer: str,
) -> None:
    scene = seed(env, signer_line(keys["alice"]))
    monkeypatch.setattr("sys.stdin", io.StringIO(answer))
    monkeypatch.setattr(sign, "sign_with_ssh_keygen", never_sign)
    code, out, err = run(capsys, scene, keys["alice"], "--post")
    assert code == 2
    assert out == "" and posted(scene) == []
    assert "does not match PR" in err and "nothing was signed or posted" in err
    assert env.count(r"/comments$", method="POST") == 0


def test_scripted_confirmation_must_equal_the_pr_number(
    env: GHServer, keys: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    scene = seed(env, signer_line(keys["alice"]))
    code, out, err = run(capsys, scene, keys["alice"], "--post", "--yes-i-confirm", "999")
    assert code == 2 and out == "" and posted(scene) == []
    assert "--yes-i-confirm 999 does not match" in err
    assert env.count() == 0  # refused before any request


def test_ttl_over_the_policy_maximum_is_refused(
    env: GHServer, keys: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    scene = seed(env, signer_line(keys["alice"]))  # policy: max_lifetime 3h
    n = str(scene.pr.number)
    code, out, err = run(
        capsys, scene, keys["alice"], "--ttl", "4h", "--yes-i-confirm", n, "--post"
    )
    assert code == 2 and out == "" and posted(scene) == []
    assert "longer than the policy allows (overrides.max_lifetime 3h" in err
    assert "hint: use --ttl 3h or less" in err

    code, _, err = run(capsys, scene, keys["alice"], "--ttl", "25h", "--yes-i-confirm", n)
    assert code == 2 and "24h hard maximum" in err
    code, _, err = run(capsys, scene, keys["alice"], "--ttl", "2 hours", "--yes-i-confirm", n)
    assert code == 2 and "is not a duration" in err


def test_default_ttl_is_capped_by_the_policy(
    env: GHServer, keys: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    policy = "production: {tag_attributes: [triggers]}\n"
    policy += f"overrides: {{namespace_domain: {DOMAIN}, max_lifetime: 45m}}\n"
    scene = seed(env, signer_line(keys["alice"]), policy=policy)
    code, out, err = run(capsys, scene, keys["alice"], "--yes-i-confirm", str(scene.pr.number))
    assert code == 0, err
    (block,) = extract_override_blocks(out)
    m = parse_message(split_block(block.content)[0])
    assert m.expires_at - m.issued_at == timedelta(minutes=45)


def test_key_not_in_allowed_signers_is_refused_before_signing(
    env: GHServer, keys: dict[str, Path], capsys: pytest.CaptureFixture[str], monkeypatch: Any
) -> None:
    scene = seed(env, signer_line(keys["alice"]))
    monkeypatch.setattr(sign, "sign_with_ssh_keygen", never_sign)
    n = str(scene.pr.number)
    code, out, err = run(capsys, scene, keys["mallory"], "--yes-i-confirm", n, "--post")
    assert code == 2 and out == "" and posted(scene) == []
    assert f"is not in {SIGNERS_PATH}@{scene.pr.base_sha[:12]}" in err
    assert f'namespaces="{NS}"' in err  # the hint shows the line to add

    # Listed, but as another principal than the one claimed.
    code, _, err = run(
        capsys, scene, keys["alice"], "--approver", "bob@acme.example", "--yes-i-confirm", n
    )
    assert code == 2 and "not a principal of key" in err

    # Listed only for the `git` namespace: not usable for overrides.
    env2 = seed_other_repo(env, signer_line(keys["mallory"], "mallory@acme.example", "git"))
    code, _, err = run(capsys, env2, keys["mallory"], "--yes-i-confirm", str(env2.pr.number))
    assert code == 2 and f"but not for namespace {NS}" in err
    assert posted(scene) == []


def seed_other_repo(srv: GHServer, signers: str) -> Scene:
    """A second PR in the same repository whose base has another allowed_signers file."""
    st = srv.state
    base = st.add_commit(
        REPO,
        message="Change signers",
        parents=[st.repo(REPO).branches["main"]],
        contents={SIGNERS_PATH: signers},
    )
    st.repo(REPO).branches["main"] = base.sha
    pr = st.add_pull(
        REPO, author="claude[bot]", commits=[{"message": "x", "contents": {"a.tf": ""}}]
    )
    return Scene(srv, pr, POLICY, signers)


def test_unlisted_key_without_pub_is_refused_after_signing_before_posting(
    env: GHServer,
    keys: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """No KEY.pub to check up front: the signature itself is checked against the base
    allowed_signers, and nothing is printed or posted."""
    scene = seed(env, signer_line(keys["alice"]))
    bare = tmp_path / "mallory_copy"
    shutil.copy(keys["mallory"], bare)
    bare.chmod(0o600)
    n = str(scene.pr.number)
    code, out, err = run(capsys, scene, bare, "--approver", ALICE, "--yes-i-confirm", n, "--post")
    assert code == 2 and out == "" and posted(scene) == []
    assert f"is not listed for {ALICE}" in err

    code, _, err = run(capsys, scene, bare, "--yes-i-confirm", n)
    assert code == 2 and "cannot look up your principal" in err


def test_errors_are_one_line_with_a_hint(
    env: GHServer,
    keys: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    scene = seed(env, signer_line(keys["alice"]) + signer_line(keys["locked"]))
    n = str(scene.pr.number)

    def check(code: int, err: str, needle: str) -> None:
        assert code == 2, err
        lines = err.strip().splitlines()
        assert lines[-2].startswith("error: ") and needle in lines[-2], err
        assert lines[-1].startswith("hint: "), err

    code, _, err = run(capsys, scene, keys["alice"], "--yes-i-confirm", "77", pr=77)
    check(code, err, f"PR #77 not found in {REPO}")

    code, _, err = run(capsys, scene, tmp_path / "nope", "--yes-i-confirm", n)
    check(code, err, "does not exist")

    # ssh-keygen fails: an encrypted key, no terminal and no agent to unlock it.
    code, out, err = run(capsys, scene, keys["locked"], "--yes-i-confirm", n, "--post")
    check(code, err, "ssh-keygen -Y sign failed")
    assert out == "" and posted(scene) == []

    monkeypatch.delenv("GITHUB_TOKEN")
    code, _, err = run(capsys, scene, keys["alice"], "--yes-i-confirm", n)
    check(code, err, "no GitHub token")
    monkeypatch.setenv("GH_TOKEN", "ghp_unknown")
    code, _, err = run(capsys, scene, keys["alice"], "--yes-i-confirm", n)
    check(code, err, "bad credentials")


def test_a_pr_that_changes_the_trust_root_is_refused(
    env: GHServer, keys: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    scene = seed(
        env,
        signer_line(keys["alice"]),
        pr_contents={"main.tf": "x\n", SIGNERS_PATH: signer_line(keys["mallory"])},
    )
    code, _, err = run(capsys, scene, keys["alice"], "--yes-i-confirm", str(scene.pr.number))
    assert code == 2 and "changes the gate's trust root" in err


def test_overrides_not_configured_at_base(
    env: GHServer, keys: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    scene = seed(env, signer_line(keys["alice"]), policy=None)  # built-in defaults
    code, _, err = run(capsys, scene, keys["alice"], "--yes-i-confirm", str(scene.pr.number))
    assert code == 2
    assert "overrides.namespace_domain is not set" in err and "built-in defaults" in err


def test_an_explicit_policy_path_missing_at_base_is_refused(
    env: GHServer, keys: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """As the gate: only the default path may be absent; a named one silently replaced by the
    built-in defaults would sign a different change list than the gate expects."""
    scene = seed(env, signer_line(keys["alice"]))
    code, out, err = run(
        capsys,
        scene,
        keys["alice"],
        "--config",
        ".github/other.yml",
        "--yes-i-confirm",
        str(scene.pr.number),
    )
    assert code == 2 and out == ""
    assert "the configured policy file does not exist on the default branch (main)" in err
    assert "error: .github/other.yml@" in err
    assert not posted(scene)


def test_nothing_gated_is_refused(
    env: GHServer, keys: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    scene = seed(env, signer_line(keys["alice"]))
    plan = FIXTURES / "update_in_place_and_create" / "plan.json"
    code, _, err = run(
        capsys, scene, keys["alice"], "--plan", str(plan), "--yes-i-confirm", str(scene.pr.number)
    )
    assert code == 2 and "no gated changes" in err


# --- pure helpers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "minutes"), [("90m", 90), ("2h", 120), ("1h30m", 90), (" 24h ", 1440), ("5M", 5)]
)
def test_parse_ttl(text: str, minutes: int) -> None:
    assert signer.parse_ttl(text) == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "0m", "0h0m", "2", "2d", "-1h", "24h1m", "1.5h", "99999h"])
def test_parse_ttl_refuses(text: str) -> None:
    with pytest.raises(OverrideError):
        signer.parse_ttl(text)


def test_prompt_on_the_terminal_repeats_the_message_when_stderr_is_redirected(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shown = io.StringIO()

    class Writer(io.StringIO):
        def close(self) -> None:
            shown.write(self.getvalue())
            super().close()

    monkeypatch.setattr(sign_support, "_open_tty", lambda: (io.StringIO("12\n"), Writer()))
    sign_support.confirm(12, preset=None, preface="THE MESSAGE\n", stdin_used=True)
    assert shown.getvalue().startswith("THE MESSAGE\nType the PR number (12)")
    monkeypatch.setattr(sign_support, "_open_tty", lambda: (io.StringIO("13\n"), Writer()))
    with pytest.raises(OverrideError, match="does not match PR #12"):
        sign_support.confirm(12, preset=None, preface="", stdin_used=True)


def test_no_terminal_and_a_plan_on_stdin_needs_the_scripted_confirmation(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sign_support, "_open_tty", lambda: None)
    with pytest.raises(OverrideError, match="no terminal, and stdin carried a plan"):
        sign_support.confirm(12, preset=None, preface="", stdin_used=True)
    sign_support.confirm(12, preset=12, preface="", stdin_used=True)


def test_plan_log_with_source_signs_the_digest_check_and_gate_compute() -> None:
    """For a `plan -json` log, tags come from the code: `sign --source` must reach the same
    gated set and digest as `check --source` (and the gate with source-dir), or an override
    made from the log would never match."""
    from gatekeeper.adapters.sign_github import PullHead
    from gatekeeper.commands.check import analyze_args

    fixture = Path(__file__).resolve().parents[2] / "fixtures" / "terraform" / "nested_modules"
    policy = parse_policy(b"production:\n  tag_attributes: [triggers]\n", source="p.yml")
    argv = [
        "--plan",
        f"stack={fixture / 'plan.jsonl'}",
        "--source",
        str(fixture / "head"),
        "--base-source",
        str(fixture / "base"),
    ]
    sign_args = cli.build_parser().parse_args(
        ["sign", "--repo", "o/r", "--pr", "1", "--key", "k", "--reason", "r", *argv]
    )
    check_args = cli.build_parser().parse_args(["check", *argv])
    head = PullHead("o/r", 1, "a" * 40, "b" * 40, "open", False, "", (), False)
    signed = sign_support.read_plan_input(sign_args).analyze(policy, head)
    checked = analyze_args(check_args, policy)
    assert signed.plan_digest == checked.plan_digest
    assert [c.change.address for c in signed.gated] == [c.change.address for c in checked.gated]
    # Without the code the same changes are only "possibly production" (and a change the code
    # shows to be non-production would be gated too): the verdicts differ.
    no_source = cli.build_parser().parse_args(
        ["sign", "--repo", "o/r", "--pr", "1", "--key", "k", "--reason", "r", *argv[:2]]
    )
    plain = sign_support.read_plan_input(no_source).analyze(policy, head)
    assert all(c.possibly_production for c in plain.gated)
    assert any(c.production for c in signed.gated)


def test_untrusted_strings_cannot_hide_what_the_signer_confirms(
    env: GHServer,
    keys: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    """Plan labels come from a bundle anyone can build: an ANSI conceal sequence, a line
    erase or a bidi override in one must be shown, never acted on by the terminal."""
    from gatekeeper.adapters.bundle_file import write_bundle

    scene = seed(env, signer_line(keys["alice"]))
    n = scene.pr.number
    hostile = "prod\x1b[8m hidden\x1b[0m\x1b[2K\x1b[1A\r\u202eevil\u202c\u2066x\u2069\u200b\x9b1m"
    plans = read_plans([PlanArg(hostile, str(PROD_DB))])
    bundle = write_bundle(plans, str(tmp_path / "b"), repository=REPO, head_sha=scene.pr.head_sha)
    code, out, err = run(
        capsys, scene, keys["alice"], "--bundle", bundle, "--yes-i-confirm", str(n)
    )
    assert code == 0, err
    for c in "\x1b\r\u202e\u202c\u2066\u2069\u200b\x9b":
        assert c not in err, repr(c)
    (plans_line,) = [line for line in err.splitlines() if line.startswith("  plans:")]
    assert plans_line == (
        f"  plans:        bundle {bundle}: prod\\x1b[8m hidden\\x1b[0m\\x1b[2K\\x1b[1A\\r"
        "\\u202eevil\\u202c\\u2066x\\u2069\\u200b\\x9b1m"
    )
    (block,) = extract_override_blocks(out)  # the signed message itself is unchanged
    assert parse_message(split_block(block.content)[0]).pull_request == n
