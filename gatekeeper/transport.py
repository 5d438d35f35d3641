"""The split setup: how the untrusted plan job hands its plan to the trusted gate.

The plan job (`pull_request`, runs PR code) writes a *bundle* with
`gatekeeper gate --plan ... --bundle-out DIR` and uploads DIR with actions/upload-artifact
(v4 or later) as the artifact `gatekeeper-plan`. The gate job (`pull_request_target`,
`pull_request_review`, `issue_comment`, `workflow_run`: never checks out PR code) fetches
the bundle for the PR's *current head SHA* and re-analyzes it under the base branch's policy.
Reviews and comments that arrive later are re-evaluated without re-running Terraform.

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

import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from gatekeeper import __version__, defaults
from gatekeeper.classify import Analysis, analyze, before_sha256
from gatekeeper.errors import GatekeeperError
from gatekeeper.facts import dig
from gatekeeper.plan import (
    Action,
    Diagnostic,
    Plan,
    ReplaceOrder,
    ResourceChange,
    canonical_json,
    map_actions,
)
from gatekeeper.policy import Policy
from gatekeeper.redact import redact_change

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
                "label": p.label,
                "path": p.path,
                "format": p.format,
                "format_version": p.format_version,
                "terraform_version": p.terraform_version,
                "sha256": p.sha256,
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


def write_bundle(
    plans: Sequence[Plan],
    out_dir: str,
    *,
    repository: str,
    head_sha: str,
    pr_number: int | None = None,
    base_ref: str | None = None,
) -> str:
    """Write DIR/gatekeeper-bundle.json (for actions/upload-artifact). Returns its path.

    `pr_number`, `base_ref`: the pull request the plan was made for (from the pull_request
    event), recorded so the gate can tell it apart from another PR with the same head."""
    doc = build_bundle(plans, repository=repository, head_sha=head_sha)
    if pr_number is not None:
        doc["pr_number"] = pr_number
    if base_ref is not None:
        doc["base_ref"] = base_ref
    from gatekeeper.adapters.files import write_atomic

    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise BundleError(f"{out_dir}: cannot write the bundle: {exc.strerror}") from None
    path = os.path.join(out_dir, BUNDLE_FILE)
    write_atomic(path, canonical_json(doc))
    return path


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
    return None if value is None else msgspec.Raw(canonical_json(value))


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
    try:
        doc = json.loads(data)
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
    return analyze_bundle(bundle, policy)


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


# -------------------------------------------------------------- fetching (the edge)


class ActionsApi(Protocol):
    def workflow_runs(self, repo: str, head_sha: str, event: str) -> list[dict[str, Any]]: ...
    def run_artifacts(self, repo: str, run_id: int, name: str) -> list[dict[str, Any]]: ...
    def download_artifact(self, repo: str, artifact_id: int) -> bytes: ...


@dataclass(frozen=True, slots=True)
class Fetched:
    analysis: Analysis | None  # None: pending (see `why`)
    why: str = ""
    run_id: int | None = None
    run_url: str | None = None
    artifact_id: int | None = None
    artifact_digest: str | None = None


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
    is none yet."""
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
    if run.get("status") != "completed":
        return Fetched(None, f"{label} is {run.get('status')}", run_id, url)
    if run.get("conclusion") != "success":
        return Fetched(None, f"{label} concluded {run.get('conclusion')}", run_id, url)
    arts = [
        a
        for a in api.run_artifacts(repository, run_id, artifact)
        if a.get("name") == artifact
        and a.get("expired") is not True
        and dig(a, "workflow_run", "id") in (None, run_id)
        and dig(a, "workflow_run", "head_sha") in (None, head_sha)
    ]
    if not arts:
        return Fetched(None, f"{label} has no artifact {artifact!r} (or it expired)", run_id, url)
    art = max(arts, key=lambda a: _int(a.get("id")))
    art_id = _int(art.get("id"))
    digest = art.get("digest")
    if not isinstance(digest, str) or not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        return Fetched(
            None,
            f"artifact {artifact!r} of {label} has no sha256 digest "
            "(upload it with actions/upload-artifact v4 or later)",
            run_id,
            url,
            art_id,
        )
    data = api.download_artifact(repository, art_id)
    got = "sha256:" + hashlib.sha256(data).hexdigest()
    if got != digest:
        return Fetched(
            None,
            f"artifact {artifact!r} of {label} does not match its digest "
            f"({got[:19]}... != {digest[:19]}...)",
            run_id,
            url,
            art_id,
            digest,
        )
    analysis = load_bundle(
        data,
        repository=repository,
        head_sha=head_sha,
        policy=policy,
        pr_number=pr_number,
        base_ref=base_ref,
        listed=listing[id(run)] == "listed",
    )
    return Fetched(analysis, "", run_id, url, art_id, digest)


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
