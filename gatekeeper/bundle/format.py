"""The split setup: how the untrusted plan job hands its plan to the trusted gate.

The plan job (`pull_request`, runs PR code) writes a *bundle* with
`gatekeeper gate --plan ... --bundle-out DIR` and uploads DIR with actions/upload-artifact
(v4 or later) as the artifact `gatekeeper-plan`. The gate job (`pull_request_target`,
`pull_request_review`, `issue_comment`, `workflow_run`: never checks out PR code) fetches
the bundle for the PR's *current head SHA* and re-analyzes it under the base branch's policy.
Reviews and comments that arrive later are re-evaluated without re-running Terraform.
A monorepo's matrix of plan jobs uploads one bundle per leg (`gatekeeper-plan-<stack>`, the
gate's artifact name a pattern): every one is checked as below, and all are evaluated
together (see "many bundles").

Where the bundle may come from (each check answers a threat):
- a run of the configured plan workflow file (`path`, e.g. .github/workflows/plan.yml),
  event `pull_request`, in the base repository, whose `head_sha` is the PR head:
  an artifact of another workflow (one the PR adds) or of another commit is never used;
- a run for *this* pull request: its `pull_requests` lists this PR (of this repository)
  with the PR's base ref, or lists no PR at all (fork PRs) while the bundle names this PR
  number and base ref (`--bundle-out` records them from the pull_request event); a run that
  lists only other PRs, or this PR with another base, is not used; a run that lists PRs of
  this repository into other bases too is ambiguous (another PR from the same head, whose
  base's plan workflow may differ): "plan pending". A bundle naming a PR must name this one;
- the newest such run, completed and successful: otherwise "plan pending for <sha>";
- the artifact named `gatekeeper-plan` of that run, not expired, whose `workflow_run`
  names that run and head SHA, with a `sha256:` digest (upload-artifact v4): the
  downloaded zip must hash to it (no swapped or corrupted download);
- the bundle inside names the same repository and head SHA (no replay from another PR or
  commit), and every change's `before` hashes to the `before_sha256` it claims (the hash is
  over the redacted `before`, which is what the bundle carries; the digest the gate computes
  is the one `gatekeeper sign` computes locally).

What the bundle cannot prove: that the plan matches the code. The plan job runs the PR's
code, and Terraform (providers, `external` data sources) can run arbitrary programs during
plan. So: (1) the gate never trusts the plan job's *classification*: it re-classifies with
the base-branch policy; (2) a PR that changes `.github/workflows/**` or `.github/actions/**`
(the plan job itself) is gated whoever wrote it, because its bundle cannot be trusted;
(3) humans approve what they are shown. The same limits hold in the single-workflow setup.

Secrets: Terraform writes sensitive values in clear into `show -json`. The bundle carries
only changes redacted by `redact.redact_change` (artifacts are readable by anyone with read
access), and each change's `before_sha256` over that redacted value. `analyze` classifies
and renders that same redacted change for a plan file, so a tag hidden by redaction makes a
destructive change possibly production on both paths, and a hidden value that changed shows
as changed on both.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from gatekeeper import __version__
from gatekeeper.classify import Analysis, analyze, before_sha256
from gatekeeper.errors import GatekeeperError, PlanError
from gatekeeper.plan.model import (
    Action,
    Diagnostic,
    Plan,
    ReplaceOrder,
    ResourceChange,
    canonical_json,
    map_actions,
    plan_metadata,
)
from gatekeeper.plan.redact import redact_change
from gatekeeper.policy import defaults
from gatekeeper.policy.model import Policy
from gatekeeper.pr.facts import dig

BUNDLE_VERSION = 1
BUNDLE_FILE = "gatekeeper-bundle.json"
DEFAULT_ARTIFACT = "gatekeeper-plan"
DEFAULT_PLAN_WORKFLOW = ".github/workflows/plan.yml"
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
_SHA = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# The directories of the default gate paths (`.github/workflows/**`, `.github/actions/**`):
# what the plan job itself is made of. Not the policy's gate_paths: a policy cannot narrow it.
UNTRUSTED_PLAN_PATHS = tuple(p[:-2] for p in defaults.GATE_PATHS if p.endswith("/**"))


class BundleError(GatekeeperError):
    """A bundle that is missing, malformed or does not match what the gate expects."""


# --------------------------------------------------------------------------- writing


def _value(raw: Any) -> Any:
    return None if raw is None else msgspec.json.decode(raw)


def _change_record(raw: ResourceChange) -> dict[str, Any]:
    # The artifact is readable by anyone with read access: only the redacted change goes in
    # (redact.redact_change, exactly what `analyze` classifies and renders for the plan file),
    # and the hash is over the redacted `before` (classify.before_sha256): it reveals nothing.
    ch = redact_change(raw)
    bsens, asens = ch.before_sensitive(), ch.after_sensitive()
    return {
        "plan": ch.plan,
        "address": ch.address,
        "module_address": ch.module_address,
        "mode": ch.mode,
        "type": ch.type,
        "name": ch.name,
        "index": ch.index,
        "provider": ch.provider,
        "actions": list(ch.actions),
        "action": ch.action.value,
        "replace_order": ch.replace_order.value if ch.replace_order is not None else None,
        "action_reason": ch.action_reason,
        "replace_paths": [list(p) for p in ch.replace_paths],
        "deposed": ch.deposed,
        "previous_address": ch.previous_address,
        "importing": ch.importing,
        "drift": ch.drift,
        "has_attributes": ch.has_attributes,
        "before": ch.before(),
        "after": ch.after(),
        "after_unknown": ch.after_unknown(),
        "before_sensitive": bsens,
        "after_sensitive": asens,
        "before_sha256": before_sha256(ch),
    }


def build_bundle(plans: Sequence[Plan], *, repository: str, head_sha: str) -> dict[str, Any]:
    """The bundle document for these plans (values and digests redacted)."""
    if not _SHA.match(head_sha):
        raise BundleError(f"head SHA {head_sha!r} is not a 40-hex commit SHA")
    return {
        "bundle_version": BUNDLE_VERSION,
        "gatekeeper_version": __version__,
        "repository": repository,
        "head_sha": head_sha,
        "plans": [
            {
                **plan_metadata(p),
                "errored": p.errored,
                "diagnostics": [
                    {
                        "severity": d.severity,
                        "summary": d.summary,
                        "detail": d.detail,
                        "address": d.address,
                    }
                    for d in p.diagnostics
                ],
                "changes": [_change_record(c) for c in p.changes],
                "drift": [_change_record(c) for c in p.drift],
            }
            for p in plans
        ],
    }


def bundle_document(
    plans: Sequence[Plan],
    *,
    repository: str,
    head_sha: str,
    pr_number: int | None = None,
    base_ref: str | None = None,
    no_plan: str | None = None,
    matrix: MatrixLeg | None = None,
) -> bytes:
    """The bytes of gatekeeper-bundle.json (adapters/bundle_file.py writes them).

    `pr_number`, `base_ref`: the pull request the plan was made for (from the pull_request
    event), recorded so the gate can tell it apart from another PR with the same head.
    `no_plan`: instead of plans, the marker of a matrix leg that legitimately has nothing to
    plan (its stack is unchanged, or gone from the code): the label it stands for.
    `matrix`: the leg's matrix job and its number of legs, so the gate can tell that every
    leg uploaded its bundle."""
    if no_plan is not None and plans:
        raise BundleError("a no-plan marker holds no plans", "pass either --plan or --no-plan")
    doc = build_bundle(plans, repository=repository, head_sha=head_sha)
    if pr_number is not None:
        doc["pr_number"] = pr_number
    if base_ref is not None:
        doc["base_ref"] = base_ref
    doc.update(_leg_fields(no_plan, matrix))
    return canonical_json(doc)


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True, slots=True)
class Bundle:
    repository: str
    head_sha: str
    gatekeeper_version: str
    plans: tuple[Plan, ...]
    before_sha256: Mapping[tuple[str, str, str | None], str]  # (plan, address, deposed)
    pr_number: int | None = None  # the PR the plan job ran for (None: not recorded)
    base_ref: str | None = None  # ... and its base branch
    no_plan: str | None = None  # a leg's "nothing to plan" marker: the label it stands for
    matrix: MatrixLeg | None = None  # the matrix job the bundle is a leg of


def _fail(where: str, what: str) -> BundleError:
    return BundleError(
        f"plan bundle: {where}: {what}",
        "the plan job must run the same gatekeeper version: "
        "`gatekeeper gate --plan ... --bundle-out DIR`",
    )


def _typed(doc: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = doc.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise _fail(where, f"{key} is missing or of the wrong type")
    return value


def _opt_str(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    value = doc.get(key)
    if value is not None and not isinstance(value, str):
        raise _fail(where, f"{key} must be a string or null")
    return value


def _raw(value: Any) -> msgspec.Raw | None:
    # Any encoding of the value will do: a change's raw values are only ever decoded (the
    # digest re-encodes canonically). msgspec's is ~5x faster than sorted json.dumps.
    return None if value is None else msgspec.Raw(msgspec.json.encode(value))


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _change(rec: Any, label: str, where: str) -> tuple[ResourceChange, str]:
    if not isinstance(rec, dict):
        raise _fail(where, "a change is not an object")
    actions = tuple(_typed(rec, "actions", list, where))
    if not all(isinstance(a, str) for a in actions):
        raise _fail(where, "actions must be strings")
    if rec.get("plan") != label:
        raise _fail(where, "a change names another plan")
    try:
        action = Action(_typed(rec, "action", str, where))
        order_value = rec.get("replace_order")
        order = None if order_value is None else ReplaceOrder(order_value)
    except ValueError:
        raise _fail(where, "unknown action or replace_order") from None
    index = rec.get("index")
    if index is not None and not isinstance(index, int | str):
        raise _fail(where, "index must be a number, string or null")
    paths = _typed(rec, "replace_paths", list, where)
    digest = _typed(rec, "before_sha256", str, where)
    if not _HEX64.match(digest):
        raise _fail(where, "before_sha256 is not 64 hex digits")
    before = rec.get("before")
    bsens = rec.get("before_sensitive")
    change = ResourceChange(
        plan=label,
        address=_typed(rec, "address", str, where),
        module_address=_typed(rec, "module_address", str, where),
        mode=_typed(rec, "mode", str, where),
        type=_typed(rec, "type", str, where),
        name=_typed(rec, "name", str, where),
        index=index,
        provider=_typed(rec, "provider", str, where),
        actions=actions,
        action=action,
        replace_order=order,
        action_reason=_opt_str(rec, "action_reason", where),
        replace_paths=tuple(tuple(p) for p in paths if isinstance(p, list)),
        deposed=_opt_str(rec, "deposed", where),
        previous_address=_opt_str(rec, "previous_address", where),
        importing=rec.get("importing") is True,
        drift=rec.get("drift") is True,
        has_attributes=rec.get("has_attributes") is not False,
        before_raw=_raw(before),
        after_raw=_raw(rec.get("after")),
        after_unknown_raw=_raw(rec.get("after_unknown")),
        before_sensitive_raw=_raw(bsens),
        after_sensitive_raw=_raw(rec.get("after_sensitive")),
    )
    # The hash is over the redacted `before`, which is what the bundle carries (redaction is
    # idempotent): every record is checked, masked or not.
    if before_sha256(change) != digest:
        raise _fail(where, f"{rec.get('address')!r}: before_sha256 does not match before")
    return change, digest


def parse_bundle(data: bytes, *, source: str = BUNDLE_FILE) -> Bundle:
    """The bundle in `data`, every field and each change's before_sha256 checked."""
    try:
        # NaN/Infinity are not JSON (and msgspec would write NaN back as null): refused.
        doc = json.loads(data, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise _fail(source, f"not valid JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise _fail(source, "not a JSON object")
    if doc.get("bundle_version") != BUNDLE_VERSION:
        raise _fail(source, f"bundle_version {doc.get('bundle_version')!r} is not {BUNDLE_VERSION}")
    head = _typed(doc, "head_sha", str, source)
    if not _SHA.match(head):
        raise _fail(source, "head_sha is not a commit SHA")
    plans: list[Plan] = []
    hashes: dict[tuple[str, str, str | None], str] = {}
    for i, p in enumerate(_typed(doc, "plans", list, source)):
        where = f"{source}: plans[{i}]"
        if not isinstance(p, dict):
            raise _fail(where, "not an object")
        label = _typed(p, "label", str, where)
        changes = []
        for rec in _typed(p, "changes", list, where):
            ch, digest = _change(rec, label, where)
            changes.append(ch)
            hashes[(label, ch.address, ch.deposed)] = digest
        drift = tuple(_change(rec, label, where)[0] for rec in _typed(p, "drift", list, where))
        diags = []
        for d in _typed(p, "diagnostics", list, where):
            if not isinstance(d, dict):
                raise _fail(where, "a diagnostic is not an object")
            diags.append(
                Diagnostic(
                    severity=str(d.get("severity", "")),
                    summary=str(d.get("summary", "")),
                    detail=str(d.get("detail", "")),
                    address=_opt_str(d, "address", where),
                )
            )
        sha = _typed(p, "sha256", str, where)
        if not _HEX64.match(sha):
            raise _fail(where, "sha256 is not 64 hex digits")
        if p.get("errored") is True:
            raise _fail(where, "the plan is marked errored: it is incomplete")
        plans.append(
            Plan(
                label=label,
                path=_typed(p, "path", str, where),
                format=_typed(p, "format", str, where),
                format_version=_opt_str(p, "format_version", where),
                terraform_version=_opt_str(p, "terraform_version", where),
                changes=tuple(changes),
                drift=drift,
                diagnostics=tuple(diags),
                errored=False,
                sha256=sha,
            )
        )
    labels = [p.label for p in plans]
    if len(set(labels)) != len(labels):
        raise _fail(source, "two plans share a label")
    return Bundle(
        repository=_typed(doc, "repository", str, source),
        head_sha=head,
        gatekeeper_version=str(doc.get("gatekeeper_version", "?")),
        plans=tuple(plans),
        before_sha256=hashes,
        **_pr_binding(doc, source),
        **_leg_binding(doc, source),
    )


def _pr_binding(doc: Mapping[str, Any], source: str) -> dict[str, Any]:
    number = doc.get("pr_number")
    if number is not None and (
        not isinstance(number, int) or isinstance(number, bool) or number <= 0
    ):
        raise _fail(source, "pr_number must be a pull request number or absent")
    return {"pr_number": number, "base_ref": _opt_str(doc, "base_ref", source)}


def read_bundle_zip(data: bytes) -> bytes:
    """The bundle file from the artifact's zip, with size limits (no zip bombs)."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise _fail("artifact", f"not a zip archive ({exc})") from None
    with zf:
        try:
            info = zf.getinfo(BUNDLE_FILE)
        except KeyError:
            raise _fail("artifact", f"no {BUNDLE_FILE} in it") from None
        if info.file_size > MAX_BUNDLE_BYTES:
            raise _fail("artifact", f"{BUNDLE_FILE} is larger than 256 MiB")
        try:
            with zf.open(info) as fh:
                out = fh.read(MAX_BUNDLE_BYTES + 1)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise _fail("artifact", f"cannot unpack {BUNDLE_FILE} ({exc})") from None
        if len(out) > MAX_BUNDLE_BYTES:
            raise _fail("artifact", f"{BUNDLE_FILE} is larger than 256 MiB")
        return out


# ------------------------------------------------------------------------ analysis


def analyze_bundle(bundle: Bundle, policy: Policy) -> Analysis:
    """Classify the bundle's plans under `policy` (the base branch's): with `analyze`, the
    same call the plan file takes. The bundle carries `redact.redact_change` of each change,
    which is what `analyze` classifies and renders for a plan file too, so both inputs give
    one classification, one diff and one digest (each `before_sha256` was checked on
    parsing, so the digest is the one the bundle claims)."""
    return analyze(bundle.plans, policy)


def load_bundle(
    data: bytes,
    *,
    repository: str,
    head_sha: str,
    policy: Policy,
    zipped: bool = True,
    pr_number: int | None = None,
    base_ref: str | None = None,
    listed: bool = False,
) -> Analysis:
    """Verify and analyze a bundle for exactly this repository and head commit.

    With `pr_number` (the gate): the bundle must be for that PR and `base_ref`: a bundle
    naming a PR must name this one, and a bundle naming none is accepted only when its plan
    run lists this PR (`listed`)."""
    bundle = verify_bundle(
        data,
        repository=repository,
        head_sha=head_sha,
        zipped=zipped,
        pr_number=pr_number,
        base_ref=base_ref,
        listed=listed,
    )
    return analyze_bundle(combine_bundles([(BUNDLE_FILE, bundle)]), policy)


def verify_bundle(
    data: bytes,
    *,
    repository: str,
    head_sha: str,
    zipped: bool = True,
    pr_number: int | None = None,
    base_ref: str | None = None,
    listed: bool = False,
) -> Bundle:
    """One bundle, checked as `load_bundle` checks it, not yet analyzed."""
    raw = read_bundle_zip(data) if zipped else data
    bundle = parse_bundle(raw)
    if bundle.head_sha != head_sha:
        raise _fail(
            BUNDLE_FILE, f"made for commit {bundle.head_sha[:12]}, not the head {head_sha[:12]}"
        )
    if bundle.repository.casefold() != repository.casefold():
        raise _fail(BUNDLE_FILE, f"made for {bundle.repository}, not {repository}")
    if pr_number is not None:
        _check_pr(bundle, pr_number, base_ref, listed)
    _check_contents(bundle)
    return bundle


def _check_pr(bundle: Bundle, pr_number: int, base_ref: str | None, listed: bool) -> None:
    want = f"PR #{pr_number} into {base_ref!r}"
    hint = (
        "the plan job must run `gatekeeper gate --bundle-out` on the pull_request event of "
        "this pull request; push to re-run it"
    )
    if bundle.pr_number is None and bundle.base_ref is None:
        if not listed:
            raise BundleError(
                f"plan bundle: {BUNDLE_FILE}: names no pull request and its plan run lists "
                f"none: nothing shows it was made for {want}",
                hint,
            )
        return
    if bundle.pr_number != pr_number or bundle.base_ref != base_ref:
        got = f"PR #{bundle.pr_number} into {bundle.base_ref!r}"
        raise BundleError(f"plan bundle: {BUNDLE_FILE}: made for {got}, not {want}", hint)


def _check_contents(bundle: Bundle) -> None:
    """No plan at all is not "nothing to gate"; each change's `action` (what classify reads)
    must be the one its `actions` (what the digest binds) mean."""
    if bundle.no_plan is not None:
        if bundle.plans:
            raise _fail(BUNDLE_FILE, "a no-plan marker that holds plans")
        return
    if not bundle.plans:
        raise _fail(BUNDLE_FILE, "holds no plan")
    for p in bundle.plans:
        for ch in (*p.changes, *p.drift):
            action, order = map_actions(ch.actions, p.format)
            if (ch.action, ch.replace_order) != (action, order):
                raise _fail(
                    f"{BUNDLE_FILE}: plan {p.label!r}",
                    f"{ch.address!r}: action {ch.action.value!r} does not match actions "
                    f"{list(ch.actions)!r}",
                )


# -------------------------------------------------- many bundles (a matrix of plan jobs)
#
# A monorepo plans its stacks in parallel: one job per stack (a GitHub Actions matrix), each
# uploading its own bundle (`gatekeeper-plan-<stack>`). The gate takes every bundle of the one
# plan run and evaluates them together: one analysis, one digest, one decision.
# - Labels come from the bundles; two bundles holding the same label are refused (one leg
#   cannot stand in for another, and a digest must not depend on which one came first).
# - A leg that legitimately has nothing to plan says so: it uploads a no-plan marker
#   (`--bundle-out DIR --no-plan STACK`), never nothing.
# - A leg records its matrix job and the number of legs (`--matrix-legs N`, from
#   `strategy.job-total`): a leg that succeeded but uploaded no bundle is found, so the gate
#   never decides on part of the matrix.
# - The run's jobs say which legs are still running (plan pending) or failed (an error
#   naming them): see `_run_state`.


@dataclass(frozen=True, slots=True)
class MatrixLeg:
    job: str  # the matrix job's id (GITHUB_JOB), the same for all its legs
    legs: int  # how many legs the matrix has (strategy.job-total)


class PlanRunFailed(PlanError):
    """A job of the plan run (a matrix leg) failed or was cancelled: there is no complete plan."""


def _leg_fields(no_plan: str | None, matrix: MatrixLeg | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if no_plan is not None:
        if not no_plan.strip():
            raise BundleError("--no-plan needs the label of the stack that has no plan")
        out["no_plan"] = no_plan
    if matrix is not None:
        if matrix.legs < 1 or not matrix.job:
            raise BundleError(
                f"matrix leg of {matrix.job!r} with {matrix.legs} legs",
                "pass --matrix-legs ${{ strategy.job-total }} in a matrix job (GITHUB_JOB set)",
            )
        out["matrix"] = {"job": matrix.job, "legs": matrix.legs}
    return out


def _leg_binding(doc: Mapping[str, Any], source: str) -> dict[str, Any]:
    no_plan = _opt_str(doc, "no_plan", source)
    if no_plan is not None and not no_plan:
        raise _fail(source, "no_plan must name the label it stands for")
    m = doc.get("matrix")
    matrix = None
    if m is not None:
        job, legs = dig(m, "job"), dig(m, "legs")
        if (
            not isinstance(job, str)
            or not job
            or not isinstance(legs, int)
            or isinstance(legs, bool)
            or legs < 1
        ):
            raise _fail(source, "matrix must be {job: a job id, legs: a positive number}")
        matrix = MatrixLeg(job, legs)
    return {"no_plan": no_plan, "matrix": matrix}


def bundle_labels(bundle: Bundle) -> list[str]:
    """The labels a bundle stands for: its plans', or its no-plan marker's."""
    return [p.label for p in bundle.plans] + ([bundle.no_plan] if bundle.no_plan else [])


def combine_bundles(named: Sequence[tuple[str, Bundle]]) -> Bundle:
    """Verified bundles of one plan run (`(artifact or file name, bundle)`) as one bundle:
    every plan, sorted by label, so the gate and `sign` compute the same analysis and digest
    whatever order the bundles arrived in. Refuses duplicate labels, bundles for different
    commits, and an incomplete matrix."""
    if not named:
        raise _fail("plan artifacts", "no bundle")
    seen: dict[str, str] = {}
    # By name: downloads finish in any order, and a refusal must name the same pair each time.
    for source, bundle in sorted(named, key=lambda nb: nb[0]):
        for label in bundle_labels(bundle):
            if label in seen:
                other = seen[label]
                where = f"{other!r} and {source!r} both hold" if other != source else "holds twice"
                raise BundleError(
                    f"plan bundles {where} the plan labelled {label!r}: refused",
                    "give every matrix leg its own label (`--plan STACK=plan.json`) and "
                    "artifact name (`gatekeeper-plan-STACK`)",
                )
            seen[label] = source
    _check_matrix(named)
    first = named[0][1]
    for source, bundle in named[1:]:
        if (bundle.repository.casefold(), bundle.head_sha) != (
            first.repository.casefold(),
            first.head_sha,
        ):
            raise _fail(source, f"made for {bundle.head_sha[:12]}, not {first.head_sha[:12]}")
    if len(named) == 1:
        return first
    hashes: dict[tuple[str, str, str | None], str] = {}
    for _, bundle in named:
        hashes.update(bundle.before_sha256)
    versions = sorted({b.gatekeeper_version for _, b in named})
    return Bundle(
        repository=first.repository,
        head_sha=first.head_sha,
        gatekeeper_version=", ".join(versions),
        plans=tuple(sorted((p for _, b in named for p in b.plans), key=lambda p: p.label)),
        before_sha256=hashes,
        pr_number=first.pr_number,
        base_ref=first.base_ref,
    )


def _check_matrix(named: Sequence[tuple[str, Bundle]]) -> None:
    jobs: dict[str, list[tuple[str, int]]] = {}
    for source, bundle in named:
        if bundle.matrix is not None:
            jobs.setdefault(bundle.matrix.job, []).append((source, bundle.matrix.legs))
    for job, legs in sorted(jobs.items()):
        counts = sorted({n for _, n in legs})
        if len(counts) > 1:
            raise BundleError(
                f"the legs of matrix job {job!r} disagree on how many legs it has ({counts})",
                "pass --matrix-legs ${{ strategy.job-total }} in every leg",
            )
        if len(legs) != counts[0]:
            got = ", ".join(repr(s) for s, _ in legs[:5]) + (" ..." if len(legs) > 5 else "")
            raise BundleError(
                f"matrix job {job!r} has {counts[0]} legs and {len(legs)} plan "
                f"bundle{'s' if len(legs) != 1 else ''} ({got}): the gate never decides on "
                "part of the matrix",
                "every leg must upload its bundle, or a no-plan marker "
                "(`gatekeeper gate --bundle-out DIR --no-plan STACK`)",
            )
