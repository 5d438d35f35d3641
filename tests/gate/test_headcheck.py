"""gatekeeper.gate.headcheck: which PRs decide a head's check, and what is tampering (pure)."""

from __future__ import annotations

from typing import Any

from gatekeeper.decision import ALLOW, BLOCK, ERROR, Decision
from gatekeeper.gate.headcheck import find_tampering, is_protected, strictest, tampered
from gatekeeper.policy.model import IdentityPolicy

HEAD = "a" * 40
GATE_EXT = f"gatekeeper:4242:1:7:{HEAD[:12]}"


def run(app_id: int, external_id: str | None = GATE_EXT, name: str = "gatekeeper") -> Any:
    return {
        "id": 1,
        "name": name,
        "conclusion": "success",
        "app": {"id": app_id, "slug": f"app{app_id}"},
        "external_id": external_id,
    }


def status(login: str, typ: str = "Bot", context: str = "gatekeeper") -> Any:
    return {
        "id": 2,
        "context": context,
        "state": "success",
        "creator": {"login": login, "type": typ},
    }


def find(runs: list[Any], statuses: list[Any] = [], **kw: Any) -> Any:  # noqa: B006
    args: dict[str, Any] = {
        "name": "gatekeeper",
        "head_sha": HEAD,
        "identity": IdentityPolicy(),
        "gate_login": "github-actions[bot]",
        "gate_posts_status": False,
    }
    args.update(kw)
    return find_tampering(runs, statuses, **args)


def test_protected_branches() -> None:
    assert is_protected("main", "main", ())
    assert not is_protected("release/1", "main", ())
    assert is_protected("release/1", "main", ("release/*",))
    assert not is_protected("releases", "main", ("release/*",))


def test_github_actions_identity_needs_the_gates_external_id() -> None:
    assert find([run(15368)]) == ()
    assert find([run(15368, name="other")]) == ()  # another check's name: not ours to judge
    (t,) = find([run(15368, external_id="")])
    assert "another workflow" in t.creator
    (t,) = find([run(15368, external_id=f"gatekeeper:1:1:7:{'b' * 12}")])  # another head's
    assert "external_id" in t.why
    (t,) = find([run(999)])
    assert t.creator == "app 999 (app999)" and "app 15368" in t.why


def test_app_identity_trusts_its_app_alone() -> None:
    ident = IdentityPolicy(app_id=77)
    assert find([run(77, external_id=None)], identity=ident) == ()
    (t,) = find([run(15368)], identity=ident)  # a GITHUB_TOKEN run, even with our external_id
    assert t.creator.startswith("app 15368")
    assert "set identity.app_id" not in t.why  # the policy names the App: no hint


def test_an_app_run_without_identity_in_the_policy_is_tampering_with_the_fix_named() -> None:
    """The gate posting as its App while the policy names none: still blocked (fail closed),
    and the reason says how to name the App."""
    (t,) = find([run(77, external_id=None)])
    assert "not created by the gate's identity (app 15368)" in t.why
    assert "set identity.app_id: 77 in the policy on the default branch" in t.why


def test_statuses() -> None:
    (t,) = find([], [status("github-actions[bot]")])  # the gate posts none
    assert "posts no commit status" in t.why
    assert find([], [status("github-actions[bot]")], gate_posts_status=True) == ()
    (t,) = find([], [status("mallory", "User")], gate_posts_status=True)
    assert t.creator == "@mallory"
    assert find([], [status("x", context="ci")]) == ()
    ident = IdentityPolicy(app_id=77)
    assert (
        find([], [status("gk[bot]")], identity=ident, gate_login="gk[bot]", gate_posts_status=True)
        == ()
    )
    (t,) = find(
        [],
        [status("github-actions[bot]")],
        identity=ident,
        gate_login="github-actions[bot]",
        gate_posts_status=True,
    )
    assert "identity.app_id" in t.why


def test_tampered_blocks_and_names_it_first() -> None:
    allow = Decision(ALLOW, "allowed: 2 of 2", ("x",))
    (t,) = find([run(999)])
    d = tampered(allow, [t], "gatekeeper")
    assert d.outcome == BLOCK and d.headline.startswith("blocked: tampering:")
    assert d.details[0].startswith("tampering: check run 1")
    assert tampered(allow, [], "gatekeeper") is allow
    assert tampered(Decision(ERROR, "error: x"), [t], "gatekeeper").outcome == ERROR


def test_strictest() -> None:
    a, b, e = Decision(ALLOW, "a"), Decision(BLOCK, "b"), Decision(ERROR, "e")
    assert strictest([(1, "main", a), (2, "main", b)])[0] == 2
    assert strictest([(1, "main", b), (2, "main", b)])[0] == 1  # the event's PR on a tie
    assert strictest([(1, "main", b), (2, "x", e), (3, "y", a)])[0] == 2
