"""`gatekeeper doctor` end to end against the local GitHub server (real HTTP, responses
checked against the OpenAPI description), and its pure rules (gatekeeper.setupcheck)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from gatekeeper import setupcheck as sc
from gatekeeper.cli import main
from tests.gate.test_gate_command import _fast, gate
from tests.ghserver import GHServer
from tests.ghserver.state import USER_TOKEN, State

__all__ = ["_fast", "gate"]  # the gate runner fixtures, for the action's advisory doctor

ROOT = Path(__file__).resolve().parents[2]
RULESET = json.loads((ROOT / "examples" / "ruleset.json").read_text(encoding="utf-8"))
REPO = "acme/infra"


def good_setup(st: State) -> Any:
    """Everything as the README's hardened setup says: doctor passes."""
    app = st.add_app("acme-gatekeeper")
    st.add_repo(REPO, files={".github/gatekeeper.yml": f"identity:\n  app_id: {app.id}\n"})
    st.set_permission(st.default_user, "admin")
    rules = copy.deepcopy(RULESET["rules"])
    rules[0]["parameters"]["required_status_checks"][0]["integration_id"] = app.id
    st.add_ruleset("gatekeeper", rules)
    st.add_environment(
        "gatekeeper",
        deployment_branch_policy={"protected_branches": False, "custom_branch_policies": True},
        branches=["main"],
    )
    return app


def doctor(
    srv: GHServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *argv: str,
    token: str = USER_TOKEN,
) -> tuple[int, str]:
    monkeypatch.setenv("GITHUB_TOKEN", token)
    code = main(["doctor", "--repo", REPO, "--api-url", srv.url, *argv])
    out = capsys.readouterr()
    return code, out.out + out.err


def fails(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("FAIL")]


def test_the_hardened_setup_passes(
    gh_server: GHServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good_setup(gh_server.state)
    code, out = doctor(gh_server, monkeypatch, capsys)
    assert code == 0, out
    assert fails(out) == []
    assert "7 of 7 checks pass" in out
    # read-only: GETs only
    assert {c.method for c in gh_server.log} == {"GET"}


@pytest.mark.parametrize(
    "breakage, failing",
    [
        ("no_app", "the gate posts as a GitHub App of its own"),
        ("pinned_to_actions", "requires the 'gatekeeper' check from integration"),
        ("no_pull_request_rule", "main requires a pull request"),
        ("bypass", "nobody can bypass the rules on main"),
        ("env_any_branch", "environment 'gatekeeper' deploys only from main"),
        ("env_two_branches", "environment 'gatekeeper' deploys only from main"),
        ("no_env", "environment 'gatekeeper' deploys only from main"),
        ("write_token", "the default GITHUB_TOKEN is read-only"),
        ("actions_approve", "the default GITHUB_TOKEN is read-only"),
        ("bad_policy", "the policy and allowed_signers on main parse"),
        ("bad_signers", "the policy and allowed_signers on main parse"),
    ],
)
def test_each_weakness_fails_with_its_fix(
    gh_server: GHServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    breakage: str,
    failing: str,
) -> None:
    st = gh_server.state
    app = good_setup(st)
    r = st.repo(REPO)
    (ruleset,) = r.rulesets.values()
    env = r.environments["gatekeeper"]
    if breakage == "no_app":
        st.put_content("main", ".github/gatekeeper.yml", "mode: enforce\n")
    elif breakage == "pinned_to_actions":
        ruleset.rules[0]["parameters"]["required_status_checks"][0]["integration_id"] = 15368
    elif breakage == "no_pull_request_rule":
        ruleset.rules = [x for x in ruleset.rules if x["type"] != "pull_request"]
    elif breakage == "bypass":
        ruleset.bypass_actors = [
            {"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}
        ]
    elif breakage == "env_any_branch":
        env.deployment_branch_policy = None
    elif breakage == "env_two_branches":
        env.branch_policies.append((1, "copilot/*", "branch"))
    elif breakage == "no_env":
        r.environments.clear()
    elif breakage == "write_token":
        r.default_workflow_permissions = "write"
    elif breakage == "actions_approve":
        r.actions_can_approve = True
    elif breakage == "bad_policy":
        st.put_content("main", ".github/gatekeeper.yml", "identity: [\n")
    elif breakage == "bad_signers":
        st.put_content("main", ".github/gatekeeper/allowed_signers", "alice not-a-key\n")
    code, out = doctor(gh_server, monkeypatch, capsys)
    assert code == 1, out
    (line,) = [x for x in fails(out) if failing in x] or [""]
    assert line, out
    fix = out.splitlines()[out.splitlines().index(line) + 1]
    assert fix.strip().startswith("fix: "), out
    assert app.id > 0


def test_bypass_actors_hidden_from_a_non_admin_token_is_not_a_pass(
    gh_server: GHServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    st = gh_server.state
    good_setup(st)
    st.set_permission(st.default_user, "write")
    code, out = doctor(gh_server, monkeypatch, capsys)
    assert code == 1, out
    assert any("does not show the bypass actors" in x for x in fails(out)), out


def test_api_errors_exit_2(
    gh_server: GHServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good_setup(gh_server.state)
    gh_server.faults.respond(
        r"/actions/permissions/workflow$", 403, {"message": "Must have admin rights"}, times=5
    )
    code, out = doctor(gh_server, monkeypatch, capsys)
    assert code == 2, out
    assert "ERROR could not read: workflow permissions" in out


def test_bad_input_exits_2(
    gh_server: GHServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    good_setup(gh_server.state)
    monkeypatch.setenv("GITHUB_TOKEN", USER_TOKEN)
    assert main(["doctor", "--repo", "not a repo", "--api-url", gh_server.url]) == 2
    assert "is not OWNER/NAME" in capsys.readouterr().err
    monkeypatch.delenv("GITHUB_TOKEN")
    assert main(["doctor", "--repo", REPO, "--api-url", gh_server.url]) == 2
    code, out = doctor(gh_server, monkeypatch, capsys, token="ghp_nosuchtoken")
    assert code == 2 and "bad credentials" in out


# ----------------------------------------------------------------- pure rules


def test_required_check_pinned_elsewhere_fails() -> None:
    rules = [
        {
            "type": "required_status_checks",
            "parameters": {"required_status_checks": [{"context": "gatekeeper"}]},
        }
    ]
    item = sc.required_check_rule(rules, "main", "gatekeeper", 42)
    assert not item.ok and "any source" in item.detail
    rules[0]["parameters"]["required_status_checks"].append(  # type: ignore[index]
        {"context": "gatekeeper", "integration_id": 42}
    )
    assert sc.required_check_rule(rules, "main", "gatekeeper", 42).ok


def test_environment_rules() -> None:
    env = {"deployment_branch_policy": {"protected_branches": True}}
    assert not sc.environment_branches("g", env, None, "main").ok
    env = {"deployment_branch_policy": {"custom_branch_policies": True}}
    assert sc.environment_branches("g", env, [{"name": "main", "type": "branch"}], "main").ok
    assert not sc.environment_branches("g", env, [{"name": "main", "type": "tag"}], "main").ok
    assert not sc.environment_branches("g", env, [], "main").ok


def test_exit_codes() -> None:
    ok, bad = sc.Item("a", True, ""), sc.Item("b", False, "", "fix")
    assert sc.exit_code([ok], 0) == 0
    assert sc.exit_code([ok, bad], 0) == 1
    assert sc.exit_code([ok], 1) == 2
    assert sc.own_identity(None).ok is False and sc.own_identity(15368).ok is False
    assert sc.own_identity(7).ok is True


def test_the_action_runs_doctor_advisory(gh_server: GHServer, tmp_path: Path, gate: Any) -> None:
    """Input `doctor: true`: the items go to the log and the summary; the decision and the
    exit code are the gate's alone (here: the workflow token cannot read every item)."""
    from tests.gate.test_gate_command import GATED_PLAN
    from tests.support.scenes import agent_pr, pr_event

    st = gh_server.state
    st.add_repo(
        REPO, files={".github/gatekeeper.yml": "production:\n  tag_attributes: [triggers]\n"}
    )
    st.add_user("Copilot", type="Bot", id=198982749)
    for login in ("op", "alice", "carol"):
        st.set_permission(login, "write")
    pr = agent_pr(st)
    st.add_review(pr, "alice")
    st.add_review(pr, "carol")
    res = gate("pull_request", pr_event(pr), "--plan", GATED_PLAN, env={"INPUT_DOCTOR": "true"})
    assert res.code == 0, res.out
    assert "gatekeeper doctor (advisory):" in res.out
    assert "FAIL  the gate posts as a GitHub App of its own" in res.out
    assert "### gatekeeper doctor (advisory)" in res.summary
    assert gate("pull_request", pr_event(pr), "--plan", GATED_PLAN).code == 0


def test_ghserver_serves_the_setup_endpoints_by_the_spec(gh_server: GHServer) -> None:
    """The listing endpoints doctor does not call, answered and validated against the spec
    (the server fails the test on any response that does not match it)."""
    import requests

    st = gh_server.state
    good_setup(st)
    st.add_ruleset("release", [{"type": "deletion"}], include=["refs/heads/release/*"])
    st.add_activity(REPO, "main", "0" * 40, st.repo(REPO).branches["main"], "push", None)
    h = {"Authorization": f"token {USER_TOKEN}"}

    def get(path: str, **params: Any) -> Any:
        r = requests.get(
            f"{gh_server.url}/repos/{REPO}{path}", headers=h, params=params, timeout=10
        )
        assert r.status_code == 200, (path, r.text)
        return r.json()

    assert [x["name"] for x in get("/rulesets")] == ["gatekeeper", "release"]
    assert get("/environments")["environments"][0]["name"] == "gatekeeper"
    (push,) = get("/activity", ref="main", activity_type="push")
    assert push["actor"] is None  # a deleted account
    assert get("/rules/branches/release%2F1")[0]["type"] == "deletion"
    assert get("/branches/main")["commit"]["sha"] == st.repo(REPO).branches["main"]
    assert get(f"/commits/{st.repo(REPO).branches['main']}/statuses") == []
    gh_server.check()
