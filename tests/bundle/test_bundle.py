from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from gatekeeper.adapters.bundle_file import write_bundle
from gatekeeper.bundle import format as bundle_format
from gatekeeper.bundle import plan_run
from gatekeeper.bundle.format import (
    BUNDLE_FILE,
    BundleError,
    build_bundle,
    load_bundle,
)
from gatekeeper.bundle.plan_run import fetch_analysis, untrusted_plan_changes
from gatekeeper.classify import analyze
from gatekeeper.plan.model import Plan, canonical_json
from gatekeeper.plan.parse import parse_plan
from gatekeeper.policy.load import parse_policy
from gatekeeper.policy.model import Policy

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "terraform"
POLICY = parse_policy(b"production:\n  tag_attributes: [triggers]\n", source="t")
REPO = "acme/infra"
HEAD = "a" * 40
SECRET = "s3cr3t-DO-NOT-LEAK-42"


def plan(scenario: str, fmt: str = "plan.json") -> Plan:
    path = FIXTURES / scenario / fmt
    return parse_plan(path.read_bytes(), label="prod", path=str(path))


def zipped(doc: dict[str, Any] | bytes, name: str = BUNDLE_FILE) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(name, doc if isinstance(doc, bytes) else canonical_json(doc))
    return buf.getvalue()


def bundle_of(*plans: Plan) -> dict[str, Any]:
    return build_bundle(plans, repository=REPO, head_sha=HEAD)


def load(doc: dict[str, Any], policy: Policy = POLICY, head: str = HEAD) -> Any:
    return load_bundle(zipped(doc), repository=REPO, head_sha=head, policy=policy)


SCENARIOS = [
    (d.name, f)
    for d in sorted(FIXTURES.iterdir())
    for f in ("plan.json", "plan.jsonl")
    if (d / f).exists() and d.name not in ("plan_error", "prevent_destroy")
]


@pytest.mark.parametrize(("scenario", "fmt"), SCENARIOS)
def test_bundle_round_trip_keeps_digest_and_verdicts(scenario: str, fmt: str) -> None:
    p = plan(scenario, fmt)
    local = analyze([p], POLICY)
    remote = load(bundle_of(p))
    assert remote.plan_digest == local.plan_digest
    assert sorted((c.change.address, c.gated, c.change.action) for c in remote.changes) == sorted(
        (c.change.address, c.gated, c.change.action) for c in local.changes
    )


def test_bundle_never_carries_secrets_but_digest_binds_them(tmp_path: Path) -> None:
    p = plan("sensitive_values")
    raw = canonical_json(bundle_of(p)).decode()
    assert SECRET in (FIXTURES / "sensitive_values" / "plan.json").read_text()
    assert SECRET not in raw
    path = write_bundle([p], str(tmp_path / "out"), repository=REPO, head_sha=HEAD)
    assert SECRET not in Path(path).read_text()
    assert load(json.loads(Path(path).read_bytes())).plan_digest == analyze([p], POLICY).plan_digest


def test_masked_tags_fail_closed() -> None:
    remote = load(bundle_of(plan("sensitive_values")))
    sealed = next(c for c in remote.changes if c.change.address == "null_resource.sealed")
    assert sealed.gated and sealed.possibly_production
    assert [r.code for r in sealed.reasons] == ["redacted_tags"]


def test_gate_reclassifies_with_the_policy_it_is_given() -> None:
    doc = bundle_of(plan("replace_prod_db"))
    assert len(load(doc, POLICY).gated) == 1
    assert len(load(doc, Policy()).gated) == 0  # tags in `triggers` are not read by default


def test_tampered_before_is_refused() -> None:
    doc = bundle_of(plan("replace_prod_db"))
    ch = next(c for c in doc["plans"][0]["changes"] if c["address"].endswith("primary"))
    ch["before"]["triggers"]["env"] = "staging"
    with pytest.raises(BundleError, match="before_sha256 does not match"):
        load(doc)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(head_sha="b" * 40), "not the head"),
        (lambda d: d.update(repository="mallory/infra"), "made for mallory/infra"),
        (lambda d: d.update(bundle_version=2), "bundle_version"),
        (lambda d: d.update(head_sha="nope"), "not a commit SHA"),
        (lambda d: d["plans"][0].update(errored=True), "errored"),
        (lambda d: d["plans"][0]["changes"][0].update(action="explode"), "unknown action"),
        (lambda d: d["plans"][0]["changes"][0].update(plan="other"), "another plan"),
        (lambda d: d["plans"][0]["changes"][0].pop("before_sha256"), "before_sha256"),
        (lambda d: d["plans"].append(d["plans"][0]), "share a label"),
    ],
)
def test_bad_bundles(mutate: Any, message: str) -> None:
    doc = bundle_of(plan("replace_prod_db"))
    mutate(doc)
    with pytest.raises(BundleError, match=message) as err:
        load(doc)
    assert err.value.exit_code == 2


def test_bad_archives(monkeypatch: pytest.MonkeyPatch) -> None:
    kw: dict[str, Any] = {"repository": REPO, "head_sha": HEAD, "policy": POLICY}
    with pytest.raises(BundleError, match="not a zip"):
        load_bundle(b"not a zip", **kw)
    with pytest.raises(BundleError, match=r"no gatekeeper-bundle\.json"):
        load_bundle(zipped(b"{}", name="other.json"), **kw)
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(zipped(b"{nope"), **kw)
    monkeypatch.setattr(bundle_format, "MAX_BUNDLE_BYTES", 10)
    with pytest.raises(BundleError, match="larger than"):
        load_bundle(zipped(bundle_of(plan("no_changes"))), **kw)


def test_untrusted_plan_changes() -> None:
    assert untrusted_plan_changes(
        [".github/workflows/plan.yml", ".GitHub/Actions/x/action.yml", "main.tf", "CODEOWNERS"]
    ) == [".github/workflows/plan.yml", ".GitHub/Actions/x/action.yml"]


# ----------------------------------------------------------- choosing the artifact


class FakeActions:
    """What fetch_analysis reads (an ActionsApi), as plain data."""

    def __init__(
        self,
        runs: list[dict[str, Any]],
        arts: dict[int, list[dict[str, Any]]],
        blobs: dict[int, bytes],
        jobs: dict[int, list[dict[str, Any]]] | None = None,
    ) -> None:
        self.runs, self.arts, self.blobs, self.jobs = runs, arts, blobs, jobs or {}
        self.downloads: list[int] = []

    def workflow_runs(self, repo: str, head_sha: str, event: str) -> list[dict[str, Any]]:
        return [r for r in self.runs if r["head_sha"] == head_sha]

    def run_jobs(self, repo: str, run_id: int) -> list[dict[str, Any]]:
        return self.jobs.get(run_id, [])

    def run_artifacts(self, repo: str, run_id: int, name: str | None) -> list[dict[str, Any]]:
        return self.arts.get(run_id, [])

    def download_artifacts(self, repo: str, ids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
        for artifact_id in ids:
            self.downloads.append(artifact_id)
            yield artifact_id, self.blobs[artifact_id]


PR = 7  # the pull request fetch() asks for: #7 into main


def listed(number: int = PR, base_ref: str = "main", repo: str = REPO) -> dict[str, Any]:
    """An entry of a run's `pull_requests` (GitHub's pull-request-minimal)."""
    api = "https://api.github.com/repos"
    return {
        "number": number,
        "head": {"ref": "feature", "sha": HEAD, "repo": {"url": f"{api}/{REPO}"}},
        "base": {"ref": base_ref, "sha": "b" * 40, "repo": {"url": f"{api}/{repo}"}},
    }


def run(id: int, **kw: Any) -> dict[str, Any]:
    base = {
        "id": id,
        "run_number": id,
        "run_attempt": 1,
        "head_sha": HEAD,
        "event": "pull_request",
        "path": ".github/workflows/plan.yml",
        "status": "completed",
        "conclusion": "success",
        "repository": {"full_name": REPO},
        "html_url": f"https://github.com/{REPO}/actions/runs/{id}",
        "pull_requests": [listed()],
    }
    base.update(kw)
    return base


def art(id: int, data: bytes, run_id: int, **kw: Any) -> dict[str, Any]:
    base = {
        "id": id,
        "name": "gatekeeper-plan",
        "expired": False,
        "digest": "sha256:" + hashlib.sha256(data).hexdigest(),
        "workflow_run": {"id": run_id, "head_sha": HEAD},
    }
    base.update(kw)
    return base


GOOD = zipped(bundle_of(plan("replace_prod_db")))


def fetch(api: FakeActions) -> plan_run.Fetched:
    return fetch_analysis(
        api, repository=REPO, head_sha=HEAD, policy=POLICY, pr_number=PR, base_ref="main"
    )


def test_fetch_ok_picks_newest_run() -> None:
    api = FakeActions(
        [run(1), run(2)], {1: [art(11, b"x", 1)], 2: [art(21, GOOD, 2)]}, {11: b"x", 21: GOOD}
    )
    got = fetch(api)
    assert got.analysis is not None and len(got.analysis.gated) == 1
    assert (got.run_id, got.artifact_id) == (2, 21)
    assert api.downloads == [21]


@pytest.mark.parametrize(
    ("runs", "arts", "why"),
    [
        ([], {}, "no run of .github/workflows/plan.yml"),
        ([run(1, path=".github/workflows/evil.yml")], {}, "no run of"),
        ([run(1, event="workflow_dispatch")], {}, "no run of"),
        ([run(1, repository={"full_name": "mallory/infra"})], {}, "no run of"),
        ([run(1, status="in_progress", conclusion=None)], {}, "plan run #1 is in_progress"),
        ([run(1, conclusion="failure")], {}, "plan run #1 concluded failure"),
        ([run(1)], {1: []}, "has no artifact 'gatekeeper-plan'"),
        ([run(1)], {1: [art(11, GOOD, 1, expired=True)]}, "has no artifact"),
        ([run(1)], {1: [art(11, GOOD, 1, name="other")]}, "has no artifact"),
        ([run(1)], {1: [art(11, GOOD, 9)]}, "has no artifact"),  # another run's artifact
        ([run(1)], {1: [art(11, GOOD, 1, digest=None)]}, "has no sha256 digest"),
        ([run(1)], {1: [art(11, b"other bytes", 1)]}, "does not match its digest"),
    ],
)
def test_fetch_pending_reasons(runs: list[dict[str, Any]], arts: Any, why: str) -> None:
    got = fetch(FakeActions(runs, arts, {11: GOOD}))
    assert got.analysis is None
    assert why in got.why


def test_fetch_wrong_head_in_bundle_is_an_error() -> None:
    other = zipped(build_bundle([plan("replace_prod_db")], repository=REPO, head_sha="c" * 40))
    api = FakeActions([run(1)], {1: [art(11, other, 1)]}, {11: other})
    with pytest.raises(BundleError, match="not the head"):
        fetch(api)


def test_bundle_of_a_deeply_nested_plan_round_trips() -> None:
    """Values nested ~900 levels (valid JSON Terraform could be made to write) must not crash
    the plan job's masking, and the gate must reach the same digest from the bundle."""
    from gatekeeper.bundle.format import build_bundle, load_bundle
    from gatekeeper.classify import analyze as analyze_plans
    from gatekeeper.plan.model import canonical_json as cj
    from gatekeeper.plan.parse import parse_plan as parse
    from gatekeeper.policy.model import Policy as Pol
    from tests.helpers import rc as entry
    from tests.helpers import show_json as doc

    deep: object = "s3cr3t-deep"
    mask: object = True
    for _ in range(900):
        deep, mask = [deep], [mask]
    data = doc(
        entry("aws_db_instance.a", ["delete"], before={"x": deep}, before_sensitive={"x": mask})
    )
    plan = parse(data, label="p", path="p")
    sha = "b" * 40
    bundle = cj(build_bundle([plan], repository="acme/infra", head_sha=sha))
    assert b"s3cr3t-deep" not in bundle
    loaded = load_bundle(bundle, repository="acme/infra", head_sha=sha, policy=Pol(), zipped=False)
    assert loaded.plan_digest == analyze_plans([plan], Pol()).plan_digest
    assert [c.change.address for c in loaded.gated] == ["aws_db_instance.a"]


# ------------------------------------------------- the run and bundle are for this PR


def bound(pr_number: int | None, base_ref: str | None, scenario: str = "replace_prod_db") -> bytes:
    doc = bundle_of(plan(scenario))
    if pr_number is not None:
        doc["pr_number"] = pr_number
    if base_ref is not None:
        doc["base_ref"] = base_ref
    return zipped(doc)


def one_run(data: bytes, **kw: Any) -> FakeActions:
    return FakeActions([run(1, **kw)], {1: [art(11, data, 1)]}, {11: data})


def test_write_bundle_records_the_pull_request(tmp_path: Path) -> None:
    path = write_bundle(
        [plan("no_changes")],
        str(tmp_path),
        repository=REPO,
        head_sha=HEAD,
        pr_number=PR,
        base_ref="main",
    )
    doc = json.loads(Path(path).read_bytes())
    assert (doc["pr_number"], doc["base_ref"]) == (PR, "main")


@pytest.mark.parametrize(
    ("runs", "why"),
    [
        # a run of another PR with the same head (GitHub lists open PRs by head)
        ([run(1, pull_requests=[listed(8)])], "no run of .github/workflows/plan.yml for this"),
        # this PR, but listed into another base
        ([run(1, pull_requests=[listed(PR, "other")])], "lists PR #7 into 'main'"),
        # a PR of another repository with the same number
        ([run(1, pull_requests=[listed(PR, repo="mallory/infra")])], "names no pull request"),
        # this PR and a second PR from the same head into another base: which one ran?
        (
            [run(1, pull_requests=[listed(PR), listed(8, "other")])],
            "#8 into 'other'): it cannot be told which one it planned",
        ),
    ],
)
def test_fetch_uses_only_runs_of_this_pull_request(runs: list[dict[str, Any]], why: str) -> None:
    api = FakeActions(runs, {1: [art(11, GOOD, 1)]}, {11: GOOD})
    try:
        got = fetch(api)
    except BundleError as exc:
        assert why in exc.message
        return
    assert got.analysis is None
    assert why in got.why


def test_fetch_skips_a_newer_run_of_another_pull_request() -> None:
    other = bound(8, "other", "no_changes")
    api = FakeActions(
        [run(1), run(2, pull_requests=[listed(8, "other")])],
        {1: [art(11, GOOD, 1)], 2: [art(21, other, 2)]},
        {11: GOOD, 21: other},
    )
    got = fetch(api)
    assert got.analysis is not None and len(got.analysis.gated) == 1
    assert (got.run_id, api.downloads) == (1, [11])


def test_fetch_run_listing_no_pr_needs_a_bundle_naming_this_one() -> None:
    """Fork PRs: GitHub lists no pull request on the run; the bundle must name this PR."""
    ok = fetch(one_run(bound(PR, "main"), pull_requests=[]))
    assert ok.analysis is not None and len(ok.analysis.gated) == 1
    with pytest.raises(BundleError, match="names no pull request and its plan run lists none"):
        fetch(one_run(GOOD, pull_requests=[]))
    with pytest.raises(BundleError, match=r"made for PR #8 into 'main', not PR #7 into 'main'"):
        fetch(one_run(bound(8, "main"), pull_requests=[]))
    with pytest.raises(BundleError, match=r"made for PR #7 into 'other'"):
        fetch(one_run(bound(PR, "other"), pull_requests=[]))
    with pytest.raises(BundleError, match=r"made for PR #7 into None"):
        fetch(one_run(bound(PR, None), pull_requests=[]))


def test_fetch_bundle_naming_another_pr_is_refused_even_when_the_run_lists_this_one() -> None:
    with pytest.raises(BundleError, match=r"made for PR #8 into 'other'"):
        fetch(one_run(bound(8, "other")))
    got = fetch(one_run(bound(PR, "main")))
    assert got.analysis is not None


@pytest.mark.parametrize("value", ["7", 0, True, [7]])
def test_bad_pr_number_in_a_bundle(value: Any) -> None:
    doc = bundle_of(plan("no_changes"))
    doc["pr_number"] = value
    with pytest.raises(BundleError, match="pr_number"):
        load(doc)


# ---------------------------------------------------------------- bundle contents


def test_bundle_without_plans_is_refused() -> None:
    doc = build_bundle([], repository=REPO, head_sha=HEAD)
    with pytest.raises(BundleError, match="holds no plan"):
        load(doc)


@pytest.mark.parametrize("fmt", ["plan.json", "plan.jsonl"])
@pytest.mark.parametrize("action", ["update", "no-op", "create", "delete", "replace"])
def test_action_must_be_what_actions_mean(fmt: str, action: str) -> None:
    """classify reads `action`, the digest binds `actions`: they must agree, or a replace
    could be classified as an update while the digest still names the replace."""
    doc = bundle_of(plan("replace_prod_db", fmt))
    assert len(load(doc).gated) == 1
    changed = 0
    for p in doc["plans"]:
        for c in p["changes"]:
            if c["action"] == "replace" and c["action"] != action:
                c["action"] = action
                changed += 1
    if not changed:
        return  # the same action: nothing to refuse
    with pytest.raises(BundleError, match="does not match actions"):
        load(doc)


def test_replace_order_must_match_actions() -> None:
    doc = bundle_of(plan("replace_prod_db"))
    ch = next(c for c in doc["plans"][0]["changes"] if c["action"] == "replace")
    ch["replace_order"] = (
        "create-then-destroy"
        if ch["replace_order"] != "create-then-destroy"
        else "destroy-then-create"
    )
    with pytest.raises(BundleError, match="does not match actions"):
        load(doc)


def test_untrusted_plan_paths_follow_the_default_gate_paths() -> None:
    from gatekeeper.policy import defaults

    assert bundle_format.UNTRUSTED_PLAN_PATHS == (".github/workflows/", ".github/actions/")
    for prefix in bundle_format.UNTRUSTED_PLAN_PATHS:
        assert prefix + "**" in defaults.GATE_PATHS


# --------------------------------------------------- a matrix: one bundle per leg


def leg(
    stack: str,
    scenario: str | None,
    *,
    legs: int | None = 3,
    head: str = HEAD,
    job: str = "plan",
) -> bytes:
    """The bundle one matrix leg uploads (`--plan STACK=... --matrix-legs N`, or `--no-plan`)."""
    plans = []
    if scenario is not None:
        path = FIXTURES / scenario / "plan.json"
        plans = [parse_plan(path.read_bytes(), label=stack, path=str(path))]
    doc = build_bundle(plans, repository=REPO, head_sha=head)
    doc["pr_number"], doc["base_ref"] = PR, "main"
    if scenario is None:
        doc["no_plan"] = stack
    if legs is not None:
        doc["matrix"] = {"job": job, "legs": legs}
    return zipped(doc)


def job(name: str, status: str = "completed", conclusion: str | None = "success") -> dict[str, Any]:
    return {"id": hash(name) % 10**6, "name": name, "status": status, "conclusion": conclusion}


def matrix(
    bundles: dict[str, bytes],
    *,
    jobs: list[dict[str, Any]] | None = None,
    cls: type[FakeActions] = FakeActions,
    **run_kw: Any,
) -> FakeActions:
    """Run 1 with one `gatekeeper-plan-STACK` artifact per entry (ids 11, 12, ...)."""
    arts, blobs = [], {}
    for i, (stack, data) in enumerate(sorted(bundles.items())):
        arts.append(art(11 + i, data, 1, name=f"gatekeeper-plan-{stack}"))
        blobs[11 + i] = data
    if jobs is None:
        jobs = [job("changes"), *(job(f"plan ({s})") for s in sorted(bundles))]
    return cls([run(1, **run_kw)], {1: arts}, blobs, {1: jobs})


def fetch_all(api: FakeActions, pattern: str = "gatekeeper-plan-*") -> plan_run.Fetched:
    return fetch_analysis(
        api,
        repository=REPO,
        head_sha=HEAD,
        policy=POLICY,
        pr_number=PR,
        base_ref="main",
        artifact=pattern,
    )


THREE = {
    "db": leg("db", "replace_prod_db"),
    "net": leg("net", "no_changes"),
    "dns": leg("dns", None),
}


def test_matrix_is_one_analysis_with_one_digest() -> None:
    api = matrix(THREE)
    got = fetch_all(api)
    assert got.analysis is not None
    assert [p.label for p in got.analysis.plans] == ["db", "net"]
    assert [c.change.plan for c in got.analysis.gated] == ["db"]
    assert got.no_plan == ("dns",)
    assert [a[0] for a in got.artifacts] == [f"gatekeeper-plan-{s}" for s in ("db", "dns", "net")]
    assert sorted(api.downloads) == [11, 12, 13]
    # the digest is the one of the same plans analyzed together, whatever the download order
    alone = load(bundle_of(plan("replace_prod_db")))
    assert got.analysis.plan_digest == alone.plan_digest

    class Backwards(FakeActions):
        def download_artifacts(self, repo: str, ids: Sequence[int]) -> Iterator[tuple[int, bytes]]:
            return super().download_artifacts(repo, list(reversed(ids)))

    backwards = matrix(THREE, cls=Backwards)
    again = fetch_all(backwards)
    assert backwards.downloads == [13, 12, 11]
    assert again.analysis is not None and again.analysis.plan_digest == got.analysis.plan_digest
    assert [p.label for p in again.analysis.plans] == ["db", "net"]


def test_a_name_is_exact_a_pattern_matches() -> None:
    api = matrix(THREE)
    got = fetch_all(api, "gatekeeper-plan")
    assert got.analysis is None and "has no artifact 'gatekeeper-plan'" in got.why
    assert api.downloads == []
    # one leg of a three-leg matrix, by name or by a narrower pattern: never part of it
    with pytest.raises(BundleError, match="has 3 legs and 1 plan bundle "):
        fetch_all(api, "gatekeeper-plan-db")
    assert api.downloads == [11]
    with pytest.raises(BundleError, match="has 3 legs and 2 plan bundles"):
        fetch_all(api, "gatekeeper-plan-d*")
    got = fetch_all(api, "gatekeeper-plan-x*")
    assert got.analysis is None and "has no artifact matching 'gatekeeper-plan-x*'" in got.why


def test_matrix_pending_and_failed_legs() -> None:
    running = matrix(
        {k: v for k, v in THREE.items() if k != "dns"},
        jobs=[job("plan (db)"), job("plan (dns)", "in_progress", None)],
        status="in_progress",
        conclusion=None,
    )
    got = fetch_all(running)
    assert got.analysis is None and running.downloads == []
    assert got.why == "plan run #1 is in_progress: 1 of 2 jobs still running ('plan (dns)')"

    failed = matrix(
        {k: v for k, v in THREE.items() if k != "dns"},
        jobs=[job("plan (db)"), job("plan (dns)", conclusion="cancelled")],
        conclusion="cancelled",
    )
    with pytest.raises(bundle_format.PlanRunFailed, match=r"'plan \(dns\)' \(cancelled\)"):
        fetch_all(failed)
    assert failed.downloads == []
    # a failed job fails the plan even when the run itself says success (continue-on-error)
    with pytest.raises(bundle_format.PlanRunFailed, match=r"'plan \(db\)' \(failure\)"):
        fetch_all(matrix(THREE, jobs=[job("plan (db)", conclusion="failure")]))


@pytest.mark.parametrize(
    ("bundles", "message"),
    [
        (
            {**THREE, "net": leg("db", "no_changes")},
            "'gatekeeper-plan-db' and 'gatekeeper-plan-net' both hold the plan labelled 'db'",
        ),
        (
            {**THREE, "dns": leg("db", None)},
            "both hold the plan labelled 'db'",  # a no-plan marker cannot stand in for a plan
        ),
        (
            {**THREE, "net": leg("net", "no_changes", head="c" * 40)},
            "artifact 'gatekeeper-plan-net': .*made for commit cccccccccccc, not the head",
        ),
        (
            {k: v for k, v in THREE.items() if k != "dns"},
            "matrix job 'plan' has 3 legs and 2 plan bundles",
        ),
        (
            {**THREE, "net": leg("net", "no_changes", legs=4)},
            "disagree on how many legs",
        ),
    ],
)
def test_matrix_bundles_refused(bundles: dict[str, bytes], message: str) -> None:
    with pytest.raises(BundleError, match=message):
        fetch_all(matrix(bundles))


def test_matrix_takes_the_newest_artifact_of_each_name_and_checks_every_digest() -> None:
    api = matrix(THREE)
    stale = leg("db", "no_changes")
    api.arts[1].append(art(5, stale, 1, name="gatekeeper-plan-db"))  # an older upload
    api.blobs[5] = stale
    got = fetch_all(api)
    assert got.analysis is not None and len(got.analysis.gated) == 1
    assert 5 not in api.downloads
    api.blobs[13] = b"swapped"
    got = fetch_all(api)
    assert got.analysis is None and "'gatekeeper-plan-net'" in got.why
    assert "does not match its digest" in got.why


def test_legs_outside_a_matrix_and_markers_alone() -> None:
    # bundles without a matrix record are simply all of them; only markers: nothing to gate
    got = fetch_all(matrix({"a": leg("a", None, legs=None), "b": leg("b", None, legs=None)}))
    assert got.analysis is not None and got.analysis.plans == () and got.no_plan == ("a", "b")
    # a bundle with no plan and no marker is still refused
    empty = zipped({**bundle_of(), "pr_number": PR, "base_ref": "main"})
    with pytest.raises(BundleError, match="holds no plan"):
        fetch_all(matrix({"a": empty, "b": leg("b", None, legs=None)}))
    with pytest.raises(BundleError, match="no-plan marker that holds plans"):
        load({**bundle_of(plan("no_changes")), "no_plan": "x"})


def test_write_bundle_records_the_leg(tmp_path: Path) -> None:
    path = write_bundle(
        [],
        str(tmp_path),
        repository=REPO,
        head_sha=HEAD,
        no_plan="dns",
        matrix=bundle_format.MatrixLeg("plan", 3),
    )
    doc = json.loads(Path(path).read_bytes())
    assert (doc["plans"], doc["no_plan"], doc["matrix"]) == ([], "dns", {"job": "plan", "legs": 3})
    with pytest.raises(BundleError, match="holds no plans"):
        write_bundle(
            [plan("no_changes")], str(tmp_path), repository=REPO, head_sha=HEAD, no_plan="x"
        )
