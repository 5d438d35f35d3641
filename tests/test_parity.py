"""One classification and one diff whatever the input: a plan file and the plan bundle made
from it (the split setup's artifact) give the same sticky comment, check run output and JSON
report.

Two levels:
- every fixture (fixtures/terraform/*, both formats, and every plan of fixtures/corpus that
  parses): the renderers fed from `analyze(plan)` and from `load_bundle(build_bundle(plan))`
  are byte for byte identical;
- the real gate through the local GitHub server, for every fixtures/terraform plan:
  `gate --plan FILE` against the split setup (`gate --bundle-out` in the plan job, the
  artifact, then `gate` re-analyzing it). Identical apart from the metadata that must differ,
  named in `_metadata`: which input fed the gate (the report's
  pull_request.analysis_source), and the plan source in the printed `gatekeeper sign`
  command (`--plan FILE` or `--bundle gatekeeper-bundle.json`: each is what `sign` needs
  for that setup). The sticky marker is the same: both runs share one marker key here.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.bundle.format import BUNDLE_FILE, build_bundle, load_bundle
from gatekeeper.classify import analyze
from gatekeeper.decision import decide_offline
from gatekeeper.errors import GatekeeperError
from gatekeeper.plan.model import Plan, canonical_json
from gatekeeper.plan.parse import parse_plan
from gatekeeper.policy.model import Policy, ProductionPolicy
from gatekeeper.render.markdown import render_check_output, render_comment, render_markdown
from gatekeeper.render.pr_view import Person, PrView
from gatekeeper.render.report import build_report, dumps
from tests.ghserver import GHServer
from tests.helpers import CORPUS, SECRET, TERRAFORM
from tests.support import gaterun, scenes

pytestmark = pytest.mark.slow  # the real gate over every fixture: seconds

HEAD = "a" * 40
POLICY = Policy(production=ProductionPolicy(tag_attributes=("triggers", "tags", "labels")))
POLICY_YML = "production:\n  tag_attributes: [triggers, tags, labels]\n"


def _parses(path: Path) -> bool:
    try:
        parse_plan(path.read_bytes(), label="x", path=path.name)
    except GatekeeperError:
        return False  # negative cases, failed plans: no analysis to compare
    return True


def _terraform_plans() -> list[Path]:
    found = (p for d in TERRAFORM.iterdir() for p in (d / "plan.json", d / "plan.jsonl"))
    return sorted(p for p in found if p.exists() and _parses(p))


def _corpus_plans() -> list[Path]:
    return [p for p in sorted(CORPUS.rglob("*.json")) if _parses(p)]


def _plan(path: Path) -> Plan:
    return parse_plan(path.read_bytes(), label="prod", path=path.name)


def _from_bundle(plan: Plan) -> Any:
    doc = build_bundle([plan], repository="acme/infra", head_sha=HEAD)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(BUNDLE_FILE, canonical_json(doc))
    return load_bundle(buf.getvalue(), repository="acme/infra", head_sha=HEAD, policy=POLICY)


VIEW = PrView(
    repository="acme/infra",
    pr_number=7,
    head_sha=HEAD,
    agent_authored=True,
    agent_evidence=("PR author `Copilot` is a Bot account",),
    approvals_required=2,
    approvals_excluded=(Person("op", "the operator"),),
    sign_command="gatekeeper sign --repo acme/infra --pr 7 --key k --reason r",
    full_report_url="https://github.com/acme/infra/actions/runs/1",
)


def _renderings(analysis: Any) -> dict[str, str]:
    decision = decide_offline(analysis, POLICY)
    check = render_check_output(analysis, decision, VIEW)
    return {
        "comment": render_comment(analysis, decision, VIEW),
        "check": f"{check.title}\n{check.summary}\n{check.text}",
        "report": dumps(build_report(analysis, decision)),
        "cli": render_markdown(analysis, decision),
    }


PLANS = _terraform_plans() + _corpus_plans()


@pytest.mark.parametrize("path", PLANS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_plan_file_and_its_bundle_render_the_same(path: Path) -> None:
    plan = _plan(path)
    local, remote = _renderings(analyze([plan], POLICY)), _renderings(_from_bundle(plan))
    for what in local:
        assert local[what] == remote[what], f"{what} differs between the plan file and its bundle"


def test_parity_covers_enough_fixtures() -> None:
    assert len(_terraform_plans()) >= 25 and len(_corpus_plans()) >= 60


def test_sensitive_forces_replacement_survives_the_bundle() -> None:
    """The regression: the bundle lost `~ triggers = (sensitive value) # forces replacement`
    (two different secrets, both redacted, looked unchanged) and `sealed` fell from one
    classification to another between the plan job and the gate."""
    plan = _plan(TERRAFORM / "sensitive_values" / "plan.json")
    for analysis in (analyze([plan], POLICY), _from_bundle(plan)):
        text = render_markdown(analysis, decide_offline(analysis, POLICY))
        assert SECRET not in text
        assert "triggers = (sensitive value) # forces replacement" in text
        assert '"token" = (sensitive value)' in text
        by = {c.change.address: c for c in analysis.changes}
        sealed = by["null_resource.sealed"]
        assert sealed.gated and sealed.possibly_production
        assert [r.code for r in sealed.reasons] == ["redacted_tags"]
        assert by["null_resource.token_consumer"].production


# ---------------------------------------------------------------- through the real gate


def _metadata(posted: gaterun.Posted) -> dict[str, str]:
    """The parts that must differ between the two setups, cut out before comparing."""
    rx = re.compile(r"(gatekeeper sign --repo \S+ --pr \d+) (?:--plan \S+|--bundle \S+)")

    def cut(s: str) -> str:
        return rx.sub(r"\1 <plan source>", s)

    report = dict(posted.report)
    pr = dict(report.get("pull_request", {}))
    pr.pop("analysis_source", None)  # {"kind": "plan files", ...} or {"kind": "plan artifact"}
    report["pull_request"] = pr
    return {
        "comment": cut(posted.comment or ""),
        "check": cut(f"{posted.title}\n{posted.summary}\n{posted.text}"),
        "report": cut(dumps(report)),
        "summary": cut(posted.job_summary),
    }


GATE_PLANS = [p for p in _terraform_plans() if p.name == "plan.json"]


@pytest.mark.parametrize("path", GATE_PLANS, ids=lambda p: p.parent.name)
def test_the_gate_posts_the_same_from_a_plan_file_and_from_its_bundle(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gatekeeper.commands import gate as gate_cmd
    from gatekeeper.commands import gate_report

    monkeypatch.setattr(gate_cmd, "WRITE_SPACING", 0.0)
    # One marker key for both runs: the key comes from the configured labels (plan files)
    # or the artifact name (split setup); here both are "prod".
    monkeypatch.setattr(gate_report, "configured_labels", lambda opts: ["prod"])
    posted = []
    for run in (gaterun.gate_from_plans, gaterun.gate_from_bundle):
        with GHServer() as srv:
            st = srv.state
            scenes.base_repo(st, POLICY_YML)
            pr = scenes.agent_pr(st)
            st.add_review(pr, "alice")
            posted.append(run(srv, tmp_path / run.__name__, pr, [f"prod={path}"]))
            srv.verify()
    local, remote = posted
    assert local.code == remote.code
    assert local.report["pull_request"]["analysis_source"]["kind"] == "plan files"
    assert remote.report["pull_request"]["analysis_source"]["kind"] == "plan artifact"
    a, b = _metadata(local), _metadata(remote)
    for what in a:
        assert a[what] == b[what], f"{what} differs between the plan file and its bundle"
    assert SECRET not in "".join(a.values())
