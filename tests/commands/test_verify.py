"""`gatekeeper verify` end to end: the real gate posts its decision record on the local GitHub
server as its own App, the PR is merged (merge, squash, rebase), and the apply job's verify
reads it back; plans are real Terraform fixtures; signatures are made by the real ssh-keygen."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.adapters.ssh_keygen import sign_with_ssh_keygen
from gatekeeper.cli import main
from gatekeeper.commands import gate as gate_cmd
from gatekeeper.gate.record import find_records, parse
from gatekeeper.overrides.apply import (
    ApplyOverrideMessage,
    apply_context,
    format_apply_comment,
    render_apply_message,
)
from gatekeeper.overrides.message import sort_changes
from gatekeeper.overrides.signer import validity
from tests.gate.test_gate_command import Runner, check_runs, pr_event, run_gate
from tests.ghserver import GHServer
from tests.ghserver.state import Pull, State
from tests.support.signing_keys import keygen, pub

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "terraform"
DESTROY_ALL = FIXTURES / "destroy_all" / "plan.json"  # six real deletes
COUNT_SHRINK = FIXTURES / "count_shrink" / "plan.json"  # deletes null_resource.node[1], [2]
NO_CHANGES = FIXTURES / "no_changes" / "plan.json"
REPO = "acme/infra"
DOMAIN = "acme.example"
SIGNERS_PATH = ".github/gatekeeper/allowed_signers"
GATE_TOKEN = "ghs_gatekeeper_app_installation_token"
HUMAN_TOKEN = "ghp_alice_token"
RUN_ID = 777001
ALICE = "alice@acme.example"

needs_keygen = pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="needs ssh-keygen")


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate_cmd, "WRITE_SPACING", 0.0)
    monkeypatch.setattr(gate_cmd, "BACKOFF", 0.01)


@pytest.fixture
def gate(
    gh_server: GHServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Runner:
    """The real `gatekeeper gate` against this test's server (tests.gate.test_gate_command)."""

    def run(event: str, payload: dict[str, Any], *argv: str, **kw: Any) -> Any:
        return run_gate(gh_server, tmp_path, monkeypatch, capsys, event, payload, *argv, **kw)

    return run


def policy(app_id: int | None, *, subset: bool = False) -> str:
    text = "production:\n  addresses: ['*']\n"
    text += f"overrides:\n  namespace_domain: {DOMAIN}\n"
    if app_id is not None:
        text += f"identity:\n  app_id: {app_id}\n"
    if subset:
        text += "apply:\n  subset: true\n"
    return text


def scene(st: State, *, app: bool = True, subset: bool = False, signers: str = "") -> Any:
    """acme/infra with the gate's own App, a policy gating every destroy, `op` and `bob`."""
    gate_app = st.add_app("plan-gatekeeper")
    st.add_token(GATE_TOKEN, "plan-gatekeeper[bot]", app=gate_app)
    files = {
        ".github/gatekeeper.yml": policy(gate_app.id if app else None, subset=subset),
        "main.tf": "# base\n",
    }
    if signers:
        files[SIGNERS_PATH] = signers
    st.add_repo(REPO, files=files)
    for login in ("op", "bob", "alice"):
        st.add_user(login, name=login.title())
        st.set_permission(login, "write")
    st.add_token(HUMAN_TOKEN, "alice")
    return gate_app


def approved_pr(st: State, gate: Runner, plans: list[Path]) -> Pull:
    """A human PR, approved by bob, gated by the real gate posting as its App."""
    pr = st.add_pull(
        author="op", commits=[{"message": "Tear down", "contents": {"main.tf": "# gone\n"}}]
    )
    st.add_review(pr, "bob")
    argv = [a for p in plans for a in ("--plan", str(p))]
    res = gate(
        "pull_request", pr_event(pr), *argv, "--no-comment", env={"GITHUB_TOKEN": GATE_TOKEN}
    )
    assert res.code == 0, res.err
    return pr


def gate_as_app(gate: Runner, pr: Pull, *plans: Path) -> Any:
    """The real gate on `pr`'s head, posting as the gate's own App."""
    argv = [a for p in plans for a in ("--plan", str(p))]
    return gate(
        "pull_request", pr_event(pr), *argv, "--no-comment", env={"GITHUB_TOKEN": GATE_TOKEN}
    )


def trimmed(tmp_path: Path, drop: str) -> Path:
    """destroy_all's real plan with one resource change left out (already applied)."""
    doc = json.loads(DESTROY_ALL.read_text())
    doc["resource_changes"] = [rc for rc in doc["resource_changes"] if rc["address"] != drop]
    path = tmp_path / "trimmed.json"
    path.write_text(json.dumps(doc))
    return path


def verify(
    srv: GHServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sha: str,
    *plans: Path,
    extra: tuple[str, ...] = (),
) -> tuple[int, str]:
    monkeypatch.setenv("GITHUB_API_URL", srv.url)
    monkeypatch.setenv("GITHUB_TOKEN", srv.bot_token)  # the apply job's own token
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_RUN_ID", str(RUN_ID))
    argv = ["verify", "--commit", sha, *(a for p in plans for a in ("--plan", str(p))), *extra]
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out + err


def push_to_main(st: State, message: str = "hotfix") -> str:
    repo = st.repo(REPO)
    c = st.add_commit(repo, message=message, author="op", parents=[repo.branches["main"]])
    repo.branches["main"] = c.sha
    return c.sha


# ------------------------------------------------------------------ approved PRs


@pytest.mark.parametrize("method", ["merge", "squash", "rebase"])
def test_approved_pr_merged_applying_the_same_plan_may_proceed(
    method: str,
    gh_server: GHServer,
    gate: Runner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    st = gh_server.state
    app = scene(st)
    pr = approved_pr(st, gate, [DESTROY_ALL])
    (run,) = check_runs(st, pr.head_sha)
    assert run.app is app and run.conclusion == "success"
    record = parse(find_records(run.output["text"])[-1])
    assert record.outcome == "allow" and record.gated_count == 6
    assert [a.login for a in record.approvers] == ["bob"]
    assert record.approvers[0].review_id == pr.reviews[0].id
    assert record.approvers[0].account_id == st.user("bob").id
    assert record.trust_root_sha == pr.base_sha
    main_sha = st.merge_pull(pr, method)
    assert main_sha != pr.head_sha
    gh_server.reset_log()
    code, out = verify(gh_server, monkeypatch, capsys, main_sha, DESTROY_ALL)
    assert code == 0, out
    assert f"are the ones approved for PR #{pr.number}" in out and "@bob" in out
    # One verify of an approved apply: repository, compare, policy, the commit's PRs, the
    # head's check runs.
    requests = len(gh_server.log)
    print(f"verify ({method} merge, allowed): {requests} requests")
    assert requests == 5, [str(r) for r in gh_server.log]


def test_a_destroy_that_appeared_after_merge_is_blocked_and_named(
    gh_server: GHServer,
    gate: Runner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    st = gh_server.state
    scene(st)
    pr = approved_pr(st, gate, [DESTROY_ALL])
    sha = st.merge_pull(pr, "squash")
    code, out = verify(gh_server, monkeypatch, capsys, sha, DESTROY_ALL, COUNT_SHRINK)
    assert code == 1
    assert "2 gated changes in the plan were not approved" in out
    assert "not approved: delete null_resource.node[1]" in out
    assert "not approved: delete null_resource.node[2]" in out


@pytest.mark.parametrize("subset", [False, True])
def test_an_approved_destroy_that_disappeared_blocks_unless_subset(
    subset: bool,
    gh_server: GHServer,
    gate: Runner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    st = gh_server.state
    scene(st, subset=subset)
    pr = approved_pr(st, gate, [DESTROY_ALL])
    sha = st.merge_pull(pr, "merge")
    plan = trimmed(tmp_path, "null_resource.web")
    code, out = verify(gh_server, monkeypatch, capsys, sha, plan)
    assert "approved, not in the plan: delete null_resource.web" in out
    if not subset:
        assert code == 1
        assert "1 approved gated change is no longer in the plan" in out
        assert "set apply.subset: true in the policy" in out
        return
    assert code == 0, out
    assert "are a strict subset of the ones approved" in out and "(apply.subset: true)" in out
    # a subset never admits a change that was not approved
    code, out = verify(gh_server, monkeypatch, capsys, sha, plan, COUNT_SHRINK)
    assert code == 1 and "not approved: delete null_resource.node[1]" in out


def test_nothing_gated_may_proceed_without_any_approval(
    gh_server: GHServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    st = gh_server.state
    scene(st)
    sha = push_to_main(st)
    code, out = verify(gh_server, monkeypatch, capsys, sha, NO_CHANGES)
    assert code == 0 and "no gated changes" in out
    assert len(gh_server.log) == 3  # repository, compare, policy


def test_a_blocked_pr_merged_anyway_is_not_approved(
    gh_server: GHServer,
    gate: Runner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    st = gh_server.state
    scene(st)
    pr = st.add_pull(author="op", commits=[{"message": "x", "contents": {"main.tf": "# y\n"}}])
    res = gate_as_app(gate, pr, DESTROY_ALL)
    assert res.code == 1
    sha = st.merge_pull(pr, "merge")  # an admin bypassed the required check
    code, out = verify(gh_server, monkeypatch, capsys, sha, DESTROY_ALL)
    assert code == 1 and "was not an allow (block)" in out


# ------------------------------------------------------------------ forged records


@pytest.mark.parametrize("forger", ["another app", "another workflow"])
def test_a_record_from_another_app_or_workflow_is_ignored(
    forger: str,
    gh_server: GHServer,
    gate: Runner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The gate blocked; a newer same-named check run carries an allow record that is right
    in every field (all of it is public), posted by another App or by another workflow's
    GITHUB_TOKEN (GitHub Actions)."""
    from gatekeeper.adapters.files import parse_plan_arg, read_plans
    from gatekeeper.classify import analyze
    from gatekeeper.gate.record import Approver, build_record, serialise
    from gatekeeper.policy.load import parse_policy

    st = gh_server.state
    gate_app = scene(st)
    pr = st.add_pull(author="op", commits=[{"message": "x", "contents": {"main.tf": "# y\n"}}])
    res = gate_as_app(gate, pr, DESTROY_ALL)
    assert res.code == 1
    analysis = analyze(
        read_plans([parse_plan_arg(str(DESTROY_ALL))]),
        parse_policy(policy(gate_app.id), source="t"),
    )
    forged = build_record(
        repository=REPO,
        pull_request=pr.number,
        head_sha=pr.head_sha,
        trust_root_sha=pr.base_sha,
        outcome="allow",
        advisory=False,
        analysis=analysis,
        approvers=[Approver(st.user("bob").id, "bob", 1, pr.head_sha)],
    )
    other = st.add_app("evil-ci") if forger == "another app" else st.github_actions
    st.add_check_run(
        pr.head_sha,
        "gatekeeper",
        app=other,
        output={"title": "allowed", "summary": "ok", "text": serialise(forged)},
        repo=REPO,
    )
    sha = st.merge_pull(pr, "squash")
    code, out = verify(gh_server, monkeypatch, capsys, sha, DESTROY_ALL)
    assert code == 1, out
    assert "was not an allow (block)" in out  # the gate App's own record counts, only it


def test_only_a_forged_record_and_no_genuine_one_is_not_approved(
    gh_server: GHServer,
    gate: Runner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    st = gh_server.state
    scene(st)
    pr = approved_pr(st, gate, [DESTROY_ALL])
    (genuine,) = check_runs(st, pr.head_sha)
    output = dict(genuine.output)
    st.repo(REPO).check_runs.pop(genuine.id)
    st.add_check_run(pr.head_sha, "gatekeeper", app=st.github_actions, output=output, repo=REPO)
    sha = st.merge_pull(pr, "rebase")
    code, out = verify(gh_server, monkeypatch, capsys, sha, DESTROY_ALL)
    assert code == 1
    assert "no decision record of the gate's App" in out
    assert f"is by app {st.github_actions.id}, not the gate's" in out


def test_an_older_allow_never_speaks_for_the_gates_newer_run(
    gh_server: GHServer,
    gate: Runner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The gate allowed; then its App started a newer run on the same head (the PR is being
    re-evaluated) or finished one that did not succeed. Only the newest run decides."""
    st = gh_server.state
    gate_app = scene(st)
    pr = approved_pr(st, gate, [DESTROY_ALL])
    (allowed,) = check_runs(st, pr.head_sha)
    sha = st.merge_pull(pr, "merge")
    st.add_check_run(pr.head_sha, "gatekeeper", status="in_progress", app=gate_app, repo=REPO)
    code, out = verify(gh_server, monkeypatch, capsys, sha, DESTROY_ALL)
    assert code == 1 and "is not completed" in out
    st.repo(REPO).check_runs.clear()
    output = dict(allowed.output)  # the same allow record, on a run that did not succeed
    st.add_check_run(pr.head_sha, "gatekeeper", app=gate_app, output=allowed.output, repo=REPO)
    st.add_check_run(
        pr.head_sha, "gatekeeper", conclusion="failure", app=gate_app, output=output, repo=REPO
    )
    code, out = verify(gh_server, monkeypatch, capsys, sha, DESTROY_ALL)
    assert code == 1 and "conclusion is not success" in out


def test_without_app_id_verify_refuses_with_the_hardened_setup_hint(
    gh_server: GHServer,
    gate: Runner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    st = gh_server.state
    scene(st, app=False)
    pr = approved_pr(st, gate, [DESTROY_ALL])
    sha = st.merge_pull(pr, "merge")
    code, out = verify(gh_server, monkeypatch, capsys, sha, DESTROY_ALL)
    assert code == 2
    assert "identity.app_id is not set" in out and "hardened setup is required" in out


# ------------------------------------------------------------ no PR: break glass


def test_workflow_dispatch_without_a_pr_is_blocked(
    gh_server: GHServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    st = gh_server.state
    scene(st)
    sha = push_to_main(st)
    code, out = verify(gh_server, monkeypatch, capsys, sha, COUNT_SHRINK)
    assert code == 1
    assert "no merged pull request into main brought" in out
    assert "gated: delete null_resource.node[1]" in out
    assert f"gatekeeper sign --apply --repo {REPO} --commit {sha} --run-id {RUN_ID}" in out


def test_a_commit_off_the_default_branch_is_refused(
    gh_server: GHServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A workflow_dispatch on an agent's branch: its policy is not the default branch's."""
    st = gh_server.state
    scene(st)
    repo = st.repo(REPO)
    c = st.add_commit(
        repo,
        message="permissive",
        author="op",
        parents=[repo.branches["main"]],
        contents={
            ".github/gatekeeper.yml": "production:\n  addresses: []\n  protected_types: []\n"
        },
    )
    repo.branches["agent/x"] = c.sha
    code, out = verify(gh_server, monkeypatch, capsys, c.sha, COUNT_SHRINK)
    assert code == 1 and "is not on the default branch main (ahead)" in out


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("apply-keys")
    return {"alice": keygen(d, "alice"), "mallory": keygen(d, "mallory")}


def signers(key: Path, principal: str = ALICE) -> str:
    ns = f"gatekeeper-apply-override-v1@{DOMAIN}"
    return f'{principal} namespaces="{ns}" {pub(key)}\n'


@needs_keygen
def test_break_glass_signed_apply_override_end_to_end(
    gh_server: GHServer,
    keys: dict[str, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Blocked run -> bundle -> `sign --apply --post` (a commit comment) -> re-run allowed."""
    st = gh_server.state
    scene(st, signers=signers(keys["alice"]))
    sha = push_to_main(st)
    out_dir = tmp_path / "bundle"
    code, out = verify(
        gh_server, monkeypatch, capsys, sha, COUNT_SHRINK, extra=("--bundle-out", str(out_dir))
    )
    assert code == 1
    bundle = out_dir / "gatekeeper-bundle.json"
    assert bundle.is_file()
    monkeypatch.setenv("GITHUB_TOKEN", HUMAN_TOKEN)
    code = main(
        [
            "sign",
            "--apply",
            "--repo",
            REPO,
            "--commit",
            sha,
            "--run-id",
            str(RUN_ID),
            "--bundle",
            str(bundle),
            "--key",
            str(keys["alice"]),
            "--reason",
            "INC-9 drop the extra nodes",
            "--yes-i-confirm",
            str(RUN_ID),
            "--post",
        ]
    )
    signed = capsys.readouterr()
    assert code == 0, signed.err
    (comment,) = st.repo(REPO).commit_comments.values()
    assert comment.commit_id == sha and comment.user.login == "alice"
    assert "```gatekeeper-apply-override\ngatekeeper-apply-override v1\n" in comment.body
    assert f"run_id: {RUN_ID}\n" in comment.body
    gh_server.reset_log()
    code, out = verify(gh_server, monkeypatch, capsys, sha, COUNT_SHRINK)
    assert code == 0, out
    assert f"signed apply override ({ALICE}) for 2 gated changes in run {RUN_ID}" in out
    # repository, compare, policy, the commit's PRs (none), its comments, allowed_signers
    print(f"verify (no PR, apply override): {len(gh_server.log)} requests")
    assert len(gh_server.log) == 6, [str(r) for r in gh_server.log]
    # bound to the run: another run of the same commit and plan is not covered
    monkeypatch.setenv("GITHUB_RUN_ID", str(RUN_ID + 1))
    code = main(["verify", "--commit", sha, "--plan", str(COUNT_SHRINK)])
    out = "".join(capsys.readouterr())
    assert code == 1 and "run_id (expected 777002, got 777001)" in out
    # bound to the plan: another destroy in the plan is not covered
    code, out = verify(gh_server, monkeypatch, capsys, sha, COUNT_SHRINK, DESTROY_ALL)
    assert code == 1 and "plan_sha256" in out


def _signed_comment(key: Path, sha: str, plans: list[Path], namespace: str) -> str:
    from datetime import UTC, datetime

    from gatekeeper.adapters.files import parse_plan_arg, read_plans
    from gatekeeper.classify import analyze
    from gatekeeper.policy.load import parse_policy

    pol = parse_policy(policy(1), source="t")
    analysis = analyze(read_plans([parse_plan_arg(str(p)) for p in plans]), pol)
    ctx = apply_context(REPO, sha, RUN_ID, analysis)
    issued, expires = validity(datetime.now(UTC), pol.overrides.max_lifetime)
    m = ApplyOverrideMessage(
        REPO,
        sha,
        RUN_ID,
        ctx.plan_sha256,
        sort_changes(ctx.changes),
        ALICE,
        issued,
        expires,
        "INC-1 test",
    )
    armored = sign_with_ssh_keygen(render_apply_message(m), key, namespace)
    return format_apply_comment(m, armored)


@needs_keygen
def test_an_override_signed_with_a_key_not_on_the_default_branch_is_blocked(
    gh_server: GHServer,
    keys: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    st = gh_server.state
    scene(st, signers=signers(keys["alice"]))
    # mallory's key is listed on an agent's branch, never on main
    repo = st.repo(REPO)
    c = st.add_commit(
        repo,
        message="add me",
        author="op",
        parents=[repo.branches["main"]],
        contents={SIGNERS_PATH: signers(keys["mallory"])},
    )
    repo.branches["agent/keys"] = c.sha
    sha = push_to_main(st)
    body = _signed_comment(
        keys["mallory"], sha, [COUNT_SHRINK], f"gatekeeper-apply-override-v1@{DOMAIN}"
    )
    st.add_commit_comment(sha, "op", body, repo=REPO)
    code, out = verify(gh_server, monkeypatch, capsys, sha, COUNT_SHRINK)
    assert code == 1
    assert "no signed apply override counts (0 of 1 required)" in out
    assert "is not in .github/gatekeeper/allowed_signers@" in out


@needs_keygen
def test_a_key_removed_from_the_default_branch_signs_no_apply_override_for_an_older_commit(
    gh_server: GHServer,
    keys: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """alice's key was listed when the commit was merged and has been removed since: her
    override for that (older) commit counts nothing. Who may sign is the default branch's
    head, as for PR overrides."""
    st = gh_server.state
    scene(st, signers=signers(keys["alice"]))
    sha = push_to_main(st)
    body = _signed_comment(
        keys["alice"], sha, [COUNT_SHRINK], f"gatekeeper-apply-override-v1@{DOMAIN}"
    )
    st.add_commit_comment(sha, "op", body, repo=REPO)
    code, out = verify(gh_server, monkeypatch, capsys, sha, COUNT_SHRINK)
    assert code == 0, out  # while the key is listed on the head, it counts
    repo = st.repo(REPO)
    revoke = st.add_commit(
        repo,
        message="revoke alice",
        author="op",
        parents=[repo.branches["main"]],
        contents={SIGNERS_PATH: signers(keys["mallory"], "mallory@acme.example")},
    )
    repo.branches["main"] = revoke.sha
    code, out = verify(gh_server, monkeypatch, capsys, sha, COUNT_SHRINK)
    assert code == 1, out
    assert "no signed apply override counts (0 of 1 required)" in out


@needs_keygen
def test_a_pr_override_is_never_an_apply_override(
    gh_server: GHServer,
    keys: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The apply message signed in the PR namespace (what a PR override carries) is refused."""
    st = gh_server.state
    scene(
        st,
        signers=signers(keys["alice"])
        + signers(keys["alice"]).replace("gatekeeper-apply-override-v1", "gatekeeper-override-v1"),
    )
    sha = push_to_main(st)
    body = _signed_comment(keys["alice"], sha, [COUNT_SHRINK], f"gatekeeper-override-v1@{DOMAIN}")
    st.add_commit_comment(sha, "op", body, repo=REPO)
    code, out = verify(gh_server, monkeypatch, capsys, sha, COUNT_SHRINK)
    assert code == 1
    assert "signed for namespace 'gatekeeper-override-v1@acme.example'" in out


# ------------------------------------------------------------------ the API down


def test_api_down_is_never_may_proceed(
    gh_server: GHServer,
    gate: Runner,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    st = gh_server.state
    scene(st)
    pr = approved_pr(st, gate, [DESTROY_ALL])
    sha = st.merge_pull(pr, "merge")
    for path in (r"/compare/", r"/contents/", r"/pulls$", r"/check-runs$"):
        gh_server.faults.clear()
        gh_server.faults.error(path, 503, times=100)
        code, out = verify(
            gh_server, monkeypatch, capsys, sha, DESTROY_ALL, extra=("--time-budget", "1")
        )
        assert code == 1, (path, out)
        assert "not verified: GitHub API unavailable" in out
    gh_server.faults.clear()
    gh_server.faults.error(r"/check-runs$", 404, times=1)
    code, out = verify(gh_server, monkeypatch, capsys, sha, DESTROY_ALL)
    assert code == 2 and "not found (404)" in out


def test_error_check_runs_carry_a_record_too(gh_server: GHServer, gate: Runner) -> None:
    """A bad policy: the gate's red error check run still ends with its (error) record."""
    st = gh_server.state
    scene(st)
    st.put_content("main", ".github/gatekeeper.yml", "production: [not, a, mapping]\n")
    pr = st.add_pull(author="op", commits=[{"message": "x", "contents": {"main.tf": "# y\n"}}])
    res = gate_as_app(gate, pr, DESTROY_ALL)
    assert res.code == 2
    (run,) = check_runs(st, pr.head_sha)
    rec = parse(find_records(run.output["text"])[-1])
    assert run.conclusion == "failure" and rec.outcome == "error" and rec.head_sha == pr.head_sha


@pytest.mark.parametrize(
    "argv",
    [
        ["--apply", "--run-id", "5"],  # no commit
        ["--apply", "--commit", "c" * 40],  # no run id
        ["--apply", "--commit", "c" * 40, "--run-id", "5", "--pr", "3"],
        ["--commit", "c" * 40, "--run-id", "5"],  # a PR override with apply arguments
    ],
)
def test_sign_arguments_of_the_two_kinds_do_not_mix(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = tmp_path / "k"
    key.write_text("x")
    code = main(["sign", "--repo", REPO, "--key", str(key), "--reason", "r", *argv])
    assert code == 2
    assert "error:" in capsys.readouterr().err


def test_a_bad_plan_is_bad_input_before_any_request(
    gh_server: GHServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    st = gh_server.state
    scene(st)
    bad = tmp_path / "tfplan.json"
    bad.write_text("{not json")
    code, out = verify(gh_server, monkeypatch, capsys, push_to_main(st), bad)
    assert code == 2 and "error:" in out
    assert gh_server.log == []
