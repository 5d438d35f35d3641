"""Golden files of what reviewers see, made by the real paths: the sticky comment and the check
run output as `gatekeeper gate` posts them to the local GitHub test server, and the Markdown
`gatekeeper check --format markdown` prints. Compared byte for byte; after an intended
change, regenerate and review the diff:

    GATEKEEPER_UPDATE_GOLDEN=1 pytest tests/test_golden.py

docs/comment.png is a screenshot of one of them (scripts/screenshot_comment.py).

Plans are real (fixtures/terraform, fixtures/corpus); where a plan a real Terraform cannot
produce is needed (thousands of changes; a for_each key with every hostile character at
once) it is derived from a real plan by copying resource_changes entries under new
addresses (`tests.render.test_markdown._derived_plan`'s rule), written to a file and given to
the gate like any plan. Every scene runs in its own directory with relative paths, so the
`gatekeeper sign` command printed in a golden is the one a signer would run from the
checkout, and a test parses it with `gatekeeper sign`'s own argument parser.
"""

from __future__ import annotations

import copy
import difflib
import io
import json
import os
import re
import shlex
import shutil
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.cli import build_parser, main
from gatekeeper.commands import gate as gate_cmd
from tests.ghserver import GHServer
from tests.ghserver.state import Pull, State
from tests.helpers import CORPUS, SECRET, TERRAFORM
from tests.support import gaterun, scenes

pytestmark = pytest.mark.slow  # the real gate over every fixture: seconds

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("GATEKEEPER_UPDATE_GOLDEN") == "1"

HOSTILE_KEY = "`x`</details><img src=x>@org/team"
HOSTILE_LABEL = "prod <b>@org/team</b> `x` | y"
POLICY = (
    "production:\n  tag_attributes: [triggers, tags]\n"
    "overrides:\n  enabled: true\n  namespace_domain: acme.example\n"
)


# ---------------------------------------------------------------- building scenes


def _derived(path: Path, edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> bytes:
    doc = json.loads(path.read_bytes())
    doc["resource_changes"] = edit(doc["resource_changes"])
    return json.dumps(doc).encode()


def _replicate(copies: int) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def edit(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for i in range(copies):
            module = f"module.region_{i:03d}"
            for rc in changes:
                new = copy.deepcopy(rc)
                new["address"] = f"{module}.{rc['address']}"
                new["module_address"] = module
                out.append(new)
        return out

    return edit


def _with_hostile_key(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    src = next(rc for rc in changes if rc["address"] == 'null_resource.member["back`tick`"]')
    new = copy.deepcopy(src)
    new["address"] = f'null_resource.member["{HOSTILE_KEY}"]'
    new["index"] = HOSTILE_KEY
    for side in ("before", "after"):
        new["change"][side]["triggers"]["name"] = HOSTILE_KEY
    created = copy.deepcopy(new)
    created["address"] = 'null_resource.extra["<!-- x --> @org/team"]'
    created["name"], created["index"] = "extra", "<!-- x --> @org/team"
    created["change"].update(actions=["create"], before=None, before_sensitive=False)
    created["change"].pop("replace_paths", None)
    return [*changes, new, created]


class Scene:
    """One directory, one GitHub server: plans copied in under relative paths."""

    def __init__(self, srv: GHServer, work: Path, policy: str = POLICY) -> None:
        self.srv, self.work = srv, work
        self.st: State = srv.state
        work.mkdir(parents=True, exist_ok=True)
        scenes.base_repo(self.st, policy)

    def plan(self, label: str, data: bytes | Path) -> str:
        rel = f"plans/{re.sub(r'[^A-Za-z0-9_.-]+', '_', label)}.json"
        (self.work / "plans").mkdir(exist_ok=True)
        raw = data.read_bytes() if isinstance(data, Path) else data
        (self.work / rel).write_bytes(raw)
        return f"{label}={rel}"

    def source(self, name: str, tree: Path) -> str:
        shutil.copytree(tree, self.work / name)
        return name

    def gate(self, pr: Pull, *argv: str, **kw: Any) -> gaterun.Posted:
        cwd = os.getcwd()
        os.chdir(self.work)  # relative paths, as in a checkout
        try:
            return gaterun.run_gate(self.srv, self.work, pr, list(argv), **kw)
        finally:
            os.chdir(cwd)


def _check_text(p: gaterun.Posted) -> str:
    return f"title: {p.title}\n\n=== summary ===\n\n{p.summary}\n=== text ===\n\n{p.text}"


def agent_replace_prod_db(sc: Scene) -> dict[str, str]:
    pr = scenes.agent_pr(sc.st, head_ref="codex/upgrade-orders-db")
    sc.st.add_review(pr, "op")  # the operator: never a second person
    plan = sc.plan("prod", TERRAFORM / "replace_prod_db" / "plan.json")
    src = sc.source("infra", TERRAFORM / "replace_prod_db" / "head")
    p = sc.gate(pr, "--plan", plan, "--source", src, "--repo-root", ".")
    assert p.code == 1, p.log
    return {
        "agent_replace_prod_db.md": p.comment or "",
        "agent_replace_prod_db.check.md": _check_text(p),
    }


def several_plans(sc: Scene) -> dict[str, str]:
    pr = scenes.human_pr(sc.st)
    sc.st.add_review(pr, "op")  # the PR author's own approval
    plans = [
        sc.plan("prod", TERRAFORM / "replace_prod_db" / "plan.json"),
        sc.plan("shared", CORPUS / "tfcompliance" / "aws_2deletes_tags_drift_tf100.json"),
        sc.plan("edge", TERRAFORM / "replace_create_before_destroy" / "plan.json"),
        sc.plan("tools", CORPUS / "tfreveal" / "advanced_4replaces_delete_sensitive.json"),
    ]
    p = sc.gate(pr, *[a for x in plans for a in ("--plan", x)])
    assert p.code == 1, p.log
    return {"several_plans.md": p.comment or ""}


def thousands_truncated(sc: Scene) -> dict[str, str]:
    # 200 copies of a real 15-change AWS plan: 3,000 changes, 400 of them deletes; an agent
    # PR that also changes a workflow (trust root: overrides disabled).
    data = _derived(CORPUS / "tfcompliance" / "aws_2deletes_tags_drift_tf100.json", _replicate(200))
    commit = {
        "message": "Tidy up the regions",
        "author": "Copilot",
        "contents": {"main.tf": "# regions\n", ".github/workflows/plan.yml": "on: push\n"},
    }
    pr = scenes.agent_pr(sc.st, commits=[commit])
    plan = sc.plan("prod", data)
    p = sc.gate(pr, "--plan", plan)
    assert p.code == 1, p.log
    return {"thousands_truncated.md": p.comment or ""}


def hostile_keys(sc: Scene) -> dict[str, str]:
    data = _derived(TERRAFORM / "for_each_awkward_keys" / "plan.json", _with_hostile_key)
    pr = scenes.agent_pr(
        sc.st,
        head_ref="codex/</details><img src=x>@org/team`x`(y)",
        body="<!-- agent --> @org/team please merge https://evil.example",
    )
    sc.st.add_review(pr, "carol")
    sc.st.add_review(pr, "op", "APPROVED", body="</details><b>x</b> @org/team")
    plan = sc.plan(HOSTILE_LABEL, data)
    p = sc.gate(pr, "--plan", plan)
    assert p.code == 1, p.log
    return {"hostile_keys.md": p.comment or ""}


def advisory(sc: Scene) -> dict[str, str]:
    pr = scenes.agent_pr(sc.st)
    plan = sc.plan("prod", TERRAFORM / "replace_prod_db" / "plan.json")
    p = sc.gate(pr, "--plan", plan)
    assert p.code == 0, p.log
    return {"advisory.md": p.comment or ""}


def allowed(sc: Scene) -> dict[str, str]:
    pr = scenes.human_pr(sc.st)
    sc.st.add_review(pr, "bob")
    plan = sc.plan("prod", TERRAFORM / "update_in_place_and_create" / "plan.json")
    p = sc.gate(pr, "--plan", plan)
    assert p.code == 0, p.log
    return {"allowed.md": p.comment or ""}


def allowed_after_approvals(sc: Scene) -> dict[str, str]:
    pr = scenes.agent_pr(sc.st)
    sc.st.add_review(pr, "alice")
    sc.st.add_review(pr, "carol")
    plan = sc.plan("prod", TERRAFORM / "replace_prod_db" / "plan.json")
    p = sc.gate(pr, "--plan", plan)
    assert p.code == 0, p.log
    return {"allowed_after_approvals.md": p.comment or ""}


def error(sc: Scene) -> dict[str, str]:
    pr = scenes.agent_pr(sc.st)
    whole = (TERRAFORM / "replace_prod_db" / "plan.json").read_bytes()
    plan = sc.plan("prod", whole[: len(whole) // 2])
    p = sc.gate(pr, "--plan", plan)
    assert p.code == 2, p.log
    assert p.comment is None  # an error is reported on the check run only
    return {"error.md": _check_text(p)}


def _check_cli(sc: Scene, *argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(sc.work)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["check", *argv, "--format", "markdown"])
    finally:
        os.chdir(cwd)
    assert code in (0, 1), err.getvalue()
    return out.getvalue()


def sensitive_values(sc: Scene) -> dict[str, str]:
    (sc.work / "policy.yml").write_text(
        "production:\n  tag_attributes: [triggers]\n  plan_labels: [secrets]\n"
    )
    plans = [
        sc.plan("app", TERRAFORM / "sensitive_values" / "plan.json"),
        sc.plan("secrets", CORPUS / "tfreveal" / "sensitive_replace.json"),
        sc.plan("files", CORPUS / "tfreveal" / "advanced_4replaces_delete_sensitive.json"),
    ]
    return {"sensitive_values.md": _check_cli(sc, *plans, "--config", "policy.yml")}


def offline_destroy_all(sc: Scene) -> dict[str, str]:
    (sc.work / "policy.yml").write_text("production:\n  tag_attributes: [triggers]\n")
    plan = sc.plan("prod", TERRAFORM / "destroy_all" / "plan.json")
    return {"offline_destroy_all.md": _check_cli(sc, plan, "--config", "policy.yml")}


SCENES: dict[str, tuple[Callable[[Scene], dict[str, str]], str]] = {
    "agent_replace_prod_db": (agent_replace_prod_db, POLICY),
    "several_plans": (
        several_plans,
        "production:\n  tag_attributes: [triggers, tags]\n"
        "  addresses: ['aws_cloudwatch_event_*']\n"
        "overrides:\n  enabled: true\n  namespace_domain: acme.example\n",
    ),
    "thousands_truncated": (
        thousands_truncated,
        "production:\n  addresses: ['module.region_00?.aws_cloudwatch_event_rule.*']\n",
    ),
    "hostile_keys": (hostile_keys, POLICY),
    "advisory": (advisory, "mode: advisory\n" + POLICY),
    "allowed": (allowed, POLICY),
    "allowed_after_approvals": (allowed_after_approvals, POLICY),
    "error": (error, POLICY),
    "sensitive_values": (sensitive_values, POLICY),
    "offline_destroy_all": (offline_destroy_all, POLICY),
}


def render_scene(name: str, work: Path) -> dict[str, str]:
    build, policy = SCENES[name]
    with GHServer() as srv:
        out = build(Scene(srv, work, policy))
        srv.verify()
    return out


# ---------------------------------------------------------------- the tests


@pytest.fixture(autouse=True)
def _fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gate_cmd, "WRITE_SPACING", 0.0)
    monkeypatch.setattr(gate_cmd, "BACKOFF", 0.01)


@pytest.fixture(scope="module")
def goldens(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    gate_cmd.WRITE_SPACING = 0.0
    out: dict[str, str] = {}
    for name in SCENES:
        out.update(render_scene(name, tmp_path_factory.mktemp(name)))
    return out


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(text.encode("utf-8"))
        return
    assert path.exists(), f"{path} is missing: run with GATEKEEPER_UPDATE_GOLDEN=1"
    want = path.read_bytes().decode("utf-8")
    if text != want:
        diff = "".join(
            difflib.unified_diff(
                want.splitlines(True), text.splitlines(True), f"golden/{name}", "rendered", n=2
            )
        )
        pytest.fail(f"{name} differs from its golden file:\n{diff[:6000]}")


GOLDEN_NAMES = sorted(
    [f"{n}.md" for n in SCENES] + ["agent_replace_prod_db.check.md"],
)


@pytest.mark.parametrize("name", GOLDEN_NAMES)
def test_golden(name: str, goldens: dict[str, str]) -> None:
    assert goldens[name], f"{name}: the gate posted nothing"
    check_golden(name, goldens[name])


def test_golden_files_are_all_made_by_a_scene() -> None:
    assert {p.name for p in GOLDEN.glob("*.md")} == set(GOLDEN_NAMES)


def _sign_commands(text: str) -> list[str]:
    return [
        m.group(1).strip()
        for m in re.finditer(r"```+sh\n(.*?)```+", text, re.S)
        if "gatekeeper sign" in m.group(1)
    ]


def test_every_golden_sign_command_parses(goldens: dict[str, str]) -> None:
    """The command a golden prints is accepted by `gatekeeper sign`'s own parser, names the
    PR, and reads the plans exactly as the gate did (same labels and paths)."""
    parser = build_parser("sign")
    seen = 0
    for name, text in goldens.items():
        for cmd in _sign_commands(text):
            assert all(len(line) <= 100 for line in cmd.splitlines()), (name, cmd)
            argv = shlex.split(cmd.replace("\\\n", " "))  # the shell's line continuation
            assert argv[:2] == ["gatekeeper", "sign"], (name, cmd)
            args = parser.parse_args(argv[1:])  # SystemExit(2) on an unknown or missing option
            assert args.repo == "acme/infra" and args.pr >= 1 and args.reason
            assert args.plan or args.plans or args.bundle, (name, cmd)
            seen += 1
    assert seen >= 2  # at least the agent PR and the several-plans PR print one


def test_goldens_show_no_secret_and_no_raw_hostile_html(goldens: dict[str, str]) -> None:
    from tests.render.test_markdown import _parser

    for name, text in goldens.items():
        assert SECRET not in text, name
        html = _parser().render(text)
        assert "<img" not in html and "<b>" not in html and "<script" not in html, name
        assert html.count("<details>") == html.count("</details>"), name
    hostile = goldens["hostile_keys.md"]
    assert f'null_resource.member["{HOSTILE_KEY}"]' in hostile  # shown, as code
