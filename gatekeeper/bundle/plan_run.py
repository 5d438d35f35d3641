"""Finding the plan bundle(s) of a pull request's head: the configured plan workflow's newest
successful run for the head, tied to this pull request, its bundle artifact (or one per
matrix leg), downloaded, checked as `bundle.format` checks one bundle, and analysed.

Pure over an `ActionsApi`: the GitHub client (adapters/github.py) implements it; the tests
give it the local GitHub server.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gatekeeper import globs
from gatekeeper.bundle.format import (
    DEFAULT_ARTIFACT,
    DEFAULT_PLAN_WORKFLOW,
    UNTRUSTED_PLAN_PATHS,
    Bundle,
    BundleError,
    PlanRunFailed,
    analyze_bundle,
    combine_bundles,
    verify_bundle,
)
from gatekeeper.classify import Analysis
from gatekeeper.policy.model import Policy
from gatekeeper.pr.facts import dig


class ActionsApi(Protocol):
    """What the gate reads from GitHub Actions. `download_artifacts` may fetch in parallel
    (within a bound) and yields each artifact's zip as it arrives."""

    def workflow_runs(self, repo: str, head_sha: str, event: str) -> list[dict[str, Any]]: ...
    def run_jobs(self, repo: str, run_id: int) -> list[dict[str, Any]]: ...
    def run_artifacts(self, repo: str, run_id: int, name: str | None) -> list[dict[str, Any]]: ...
    def download_artifacts(
        self, repo: str, artifact_ids: Sequence[int]
    ) -> Iterator[tuple[int, bytes]]: ...


@dataclass(frozen=True, slots=True)
class Fetched:
    analysis: Analysis | None  # None: pending (see `why`)
    why: str = ""
    run_id: int | None = None
    run_url: str | None = None
    artifact_id: int | None = None  # the one artifact (single-bundle setup)
    artifact_digest: str | None = None
    artifacts: tuple[tuple[str, int, str], ...] = ()  # (name, id, digest) of every bundle
    no_plan: tuple[str, ...] = ()  # labels of legs that said they had nothing to plan


def _norm_path(path: str) -> str:
    p = path.split("@", 1)[0]
    return p[2:] if p.startswith("./") else p


def fetch_analysis(
    api: ActionsApi,
    *,
    repository: str,
    head_sha: str,
    policy: Policy,
    pr_number: int,
    base_ref: str,
    workflow: str = DEFAULT_PLAN_WORKFLOW,
    artifact: str = DEFAULT_ARTIFACT,
) -> Fetched:
    """The verified analysis for `head_sha` of PR `pr_number` into `base_ref`, or why there
    is none yet. `artifact` is a name, or a pattern (`gatekeeper-plan-*`) matching one
    bundle per matrix leg: all of them are evaluated together, as one analysis.

    Raises BundleError for a bundle that is refused, PlanRunFailed for a failed leg."""
    want = _norm_path(workflow)
    runs = [
        r
        for r in api.workflow_runs(repository, head_sha, "pull_request")
        if r.get("head_sha") == head_sha
        and r.get("event") == "pull_request"
        and _norm_path(str(r.get("path", ""))) == want
        and str(dig(r, "repository", "full_name") or repository).casefold() == repository.casefold()
    ]
    if not runs:
        return Fetched(None, f"no run of {want} for this commit yet")
    listing = {id(r): _listing(r, repository, pr_number, base_ref) for r in runs}
    runs = [r for r in runs if listing[id(r)] != "other"]
    if not runs:
        return Fetched(
            None, f"no run of {want} for this commit lists PR #{pr_number} into {base_ref!r}"
        )
    run = max(
        runs,
        key=lambda r: (_int(r.get("run_number")), _int(r.get("run_attempt")), _int(r.get("id"))),
    )
    run_id = _int(run.get("id"))
    url = run.get("html_url") if isinstance(run.get("html_url"), str) else None
    label = f"plan run #{run.get('run_number', run_id)}"
    if listing[id(run)] == "ambiguous":
        others = ", ".join(
            f"#{n} into {b!r}" for n, b in _listed_prs(run, repository) if b != base_ref
        )
        return Fetched(
            None,
            f"{label} also lists pull requests from this head into other bases ({others}): "
            "it cannot be told which one it planned",
            run_id,
            url,
        )
    why = _run_state(label, run, api.run_jobs(repository, run_id))
    if why:
        return Fetched(None, why, run_id, url)
    chosen, why = _bundle_artifacts(
        api.run_artifacts(repository, run_id, None if is_artifact_pattern(artifact) else artifact),
        artifact,
        run_id,
        head_sha,
        label,
    )
    if why:
        only = chosen[0] if len(chosen) == 1 else None
        return Fetched(None, why, run_id, url, _int(only.get("id")) if only else None)
    names = {_int(a.get("id")): str(a.get("name")) for a in chosen}
    digests = {_int(a.get("id")): str(a.get("digest")) for a in chosen}
    bundles: list[tuple[str, Bundle]] = []
    for art_id, data in api.download_artifacts(repository, sorted(names)):
        name = names[art_id]
        got = "sha256:" + hashlib.sha256(data).hexdigest()
        if got != digests[art_id]:
            return Fetched(
                None,
                f"artifact {name!r} of {label} does not match its digest "
                f"({got[:19]}... != {digests[art_id][:19]}...)",
                run_id,
                url,
                art_id,
                digests[art_id],
            )
        try:
            bundle = verify_bundle(
                data,
                repository=repository,
                head_sha=head_sha,
                pr_number=pr_number,
                base_ref=base_ref,
                listed=listing[id(run)] == "listed",
            )
        except BundleError as exc:
            if len(names) == 1:
                raise
            raise BundleError(f"artifact {name!r}: {exc.message}", exc.hint) from None
        del data  # the zip is not kept: memory grows with the plans, not with the downloads
        bundles.append((name, bundle))
    combined = combine_bundles(bundles)
    arts = tuple(sorted((names[i], i, digests[i]) for i in names))
    single = arts[0] if len(arts) == 1 else None
    return Fetched(
        analyze_bundle(combined, policy),
        "",
        run_id,
        url,
        single[1] if single else None,
        single[2] if single else None,
        arts,
        tuple(sorted(b.no_plan for _, b in bundles if b.no_plan is not None)),
    )


# Job conclusions that mean the leg produced no trustworthy plan.
_FAILED_JOB = frozenset({"failure", "cancelled", "timed_out", "action_required", "startup_failure"})


def _run_state(label: str, run: Mapping[str, Any], jobs: Sequence[Mapping[str, Any]]) -> str:
    """Why the run cannot be used yet ("" when it can); raises PlanRunFailed for a failed or
    cancelled job (a matrix leg), naming it. Jobs still running: pending, never part of it."""
    names = [str(j.get("name") or j.get("id")) for j in jobs]
    running = [n for n, j in zip(names, jobs, strict=True) if j.get("status") != "completed"]
    failed = [
        (n, str(j.get("conclusion")))
        for n, j in zip(names, jobs, strict=True)
        if j.get("status") == "completed" and j.get("conclusion") in _FAILED_JOB
    ]
    if run.get("status") != "completed" or running:
        why = f"{label} is {run.get('status')}"
        if running:
            why += f": {len(running)} of {len(jobs)} jobs still running ({_few(running)})"
        return why
    if failed:
        legs = ", ".join(f"{n!r} ({c})" for n, c in failed[:5])
        more = f" and {len(failed) - 5} more" if len(failed) > 5 else ""
        raise PlanRunFailed(
            f"{label} has {len(failed)} failed job{'s' if len(failed) > 1 else ''}: "
            f"{legs}{more}; no decision on the rest of the matrix",
            "fix the plan of that stack and push, or re-run the failed jobs of the plan run",
        )
    if run.get("conclusion") != "success":
        return f"{label} concluded {run.get('conclusion')}"
    return ""


def _few(names: Sequence[str]) -> str:
    shown = ", ".join(repr(n) for n in names[:5])
    return shown + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def is_artifact_pattern(name: str) -> bool:
    """Does the artifact name hold a glob (one bundle per matrix leg)?"""
    return "*" in name or "?" in name


def _bundle_artifacts(
    listed: Iterable[Mapping[str, Any]], artifact: str, run_id: int, head_sha: str, label: str
) -> tuple[list[Mapping[str, Any]], str]:
    """The artifacts of the run that hold a bundle (the newest of each name), or why not."""
    newest: dict[str, Mapping[str, Any]] = {}
    for a in listed:
        name = a.get("name")
        if (
            isinstance(name, str)
            and globs.match(artifact, name)
            and a.get("expired") is not True
            and dig(a, "workflow_run", "id") in (None, run_id)
            and dig(a, "workflow_run", "head_sha") in (None, head_sha)
            and _int(a.get("id")) > _int((newest.get(name) or {}).get("id"))
        ):
            newest[name] = a
    chosen = [newest[n] for n in sorted(newest)]
    if not chosen:
        what = "matching " if is_artifact_pattern(artifact) else ""
        return [], f"{label} has no artifact {what}{artifact!r} (or it expired)"
    for a in chosen:
        digest = a.get("digest")
        if not isinstance(digest, str) or not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
            return [a], (
                f"artifact {a.get('name')!r} of {label} has no sha256 digest "
                "(upload it with actions/upload-artifact v4 or later)"
            )
    return chosen, ""


def _listed_prs(run: Mapping[str, Any], repository: str) -> list[tuple[int, str | None]]:
    """(number, base ref) of each PR of `repository` the run's `pull_requests` lists.
    GitHub lists open PRs whose head matches the run's (none for fork PRs), and may list
    PRs of other repositories too."""
    suffix = f"/repos/{repository}".casefold()
    out: list[tuple[int, str | None]] = []
    prs = run.get("pull_requests")
    for pr in prs if isinstance(prs, list) else []:
        if not str(dig(pr, "base", "repo", "url") or "").casefold().endswith(suffix):
            continue
        number = dig(pr, "number")
        ref = dig(pr, "base", "ref")
        if isinstance(number, int) and not isinstance(number, bool):
            out.append((number, ref if isinstance(ref, str) else None))
    return out


def _listing(run: Mapping[str, Any], repository: str, pr_number: int, base_ref: str) -> str:
    """How the run's `pull_requests` relates to PR `pr_number` into `base_ref`:
    "listed" (this PR with this base), "unlisted" (no PR of this repository: the bundle must
    name the PR), "ambiguous" (this PR, and other PRs into other bases), "other"."""
    listed = _listed_prs(run, repository)
    if not listed:
        return "unlisted"
    if (pr_number, base_ref) not in listed:
        return "other"
    if any(ref != base_ref for _, ref in listed):
        return "ambiguous"
    return "listed"


def untrusted_plan_changes(paths: Iterable[str]) -> list[str]:
    """Changed paths that could alter the plan job itself (workflows, local actions)."""
    return [p for p in paths if p.casefold().startswith(UNTRUSTED_PLAN_PATHS)]


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
