"""`gatekeeper gate`: what the GitHub Action runs.

Reads the event, one snapshot of the pull request, the policy on the default branch's head and the
plan analysis for the PR's current head; decides; reports a `gatekeeper` check run on the
head (and optionally a commit status), the sticky PR comment, the job summary and
$GITHUB_OUTPUT. Exit 0 allowed, 1 blocked, 2 bad input/config, 3 bug.

Where the plan analysis comes from:
- single-workflow setup: `--plan FILE` (as `check`), made in this job for the event's head;
- split setup: the bundle the plan workflow uploaded for the PR's current head SHA
  (gatekeeper.transport); none yet: blocked, "plan pending for <sha>";
- in the plan job of the split setup: `--bundle-out DIR` writes that bundle and exits.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from gatekeeper import approvals as approvals_mod
from gatekeeper import defaults
from gatekeeper.adapters import actions
from gatekeeper.adapters.github import GitHubClient, RetryPolicy
from gatekeeper.adapters.github_errors import ApiUnavailable, NotFound
from gatekeeper.adapters.trustroot import TrustRoot, read_allowed_signers_text, read_trust_root
from gatekeeper.authorship import Authorship, assess
from gatekeeper.classify import Analysis, analyze
from gatekeeper.decision import (
    ALLOW,
    BLOCK,
    ERROR,
    Decision,
    OverrideOutcome,
    decide_gate,
    decide_pending,
    explain_gate,
    overrides_can_count,
)
from gatekeeper.errors import (
    EXIT_BLOCK,
    ConfigError,
    EventError,
    GatekeeperError,
    PlanError,
)
from gatekeeper.facts import FILES_LIST_CAP, Actor, PullRequestFacts, dig
from gatekeeper.gatepaths import TrustRootChange, trust_root_changes
from gatekeeper.headcheck import Tampering, find_tampering, is_protected, strictest, tampered
from gatekeeper.plan import canonical_json
from gatekeeper.policy import Policy
from gatekeeper.render import md
from gatekeeper.render.escape import log_line
from gatekeeper.render.view import Person, PrView
from gatekeeper.transport import (
    BUNDLE_FILE as DEFAULT_BUNDLE_NAME,
)
from gatekeeper.transport import (
    DEFAULT_ARTIFACT,
    DEFAULT_PLAN_WORKFLOW,
    BundleError,
    Fetched,
    MatrixLeg,
    fetch_analysis,
    is_artifact_pattern,
    untrusted_plan_changes,
    write_bundle,
)

CHECK_NAME = "gatekeeper"
# GitHub asks for at least a second between writes (secondary rate limits); tests lower it.
WRITE_SPACING = 1.0
BACKOFF = 1.0
EMPTY_DIGEST = hashlib.sha256(canonical_json([])).hexdigest()
MAX_DIGEST_LOOKUPS = 5


def say(text: str, *, err: bool = False) -> None:
    """Print one line to the job log. The log is where the runner reads workflow commands
    (`::add-mask::`, `::stop-commands::`, `::error::`) at the start of a line, leading
    whitespace ignored, on stdout and stderr: control characters and line breaks are shown
    as escapes (so untrusted text stays on its line), no line starts with `::` and no `##[`
    (the legacy form) is left anywhere: render.escape.log_line."""
    print(log_line(text), file=sys.stderr if err else sys.stdout)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "gate",
        help="the GitHub Action: gate a pull request on distinct human approvals",
        description="Evaluate the pull request of the current GitHub Actions event and keep "
        "the `gatekeeper` check red until enough distinct humans approved its head. "
        "Exit 0 allowed, 1 blocked, 2 bad input or config.",
    )
    p.add_argument("plans", nargs="*", metavar="PLAN", help="plan file (or LABEL=PATH)")
    p.add_argument(
        "--plan",
        action="append",
        default=[],
        metavar="[LABEL=]PATH",
        help="single-workflow setup: a plan made in this job; repeatable",
    )
    p.add_argument(
        "--bundle-out",
        metavar="DIR",
        help="plan job of the split setup: write the plan bundle to DIR (upload it as the "
        f"artifact {DEFAULT_ARTIFACT!r}) and exit; no GitHub API calls",
    )
    p.add_argument(
        "--no-plan",
        metavar="LABEL",
        help="with --bundle-out, instead of plans: this matrix leg (stack LABEL) legitimately "
        "has nothing to plan; the gate accepts the marker in place of its bundle",
    )
    p.add_argument(
        "--matrix-legs",
        type=int,
        metavar="N",
        help="with --bundle-out in a matrix job: its number of legs (${{ strategy.job-total }});"
        " the gate then refuses the set unless every leg uploaded a bundle",
    )
    p.add_argument("--head-sha", metavar="SHA", help="the PR head the plans were made for")
    p.add_argument("--pr", type=int, metavar="N", help="pull request number (workflow_dispatch)")
    p.add_argument(
        "--plan-workflow",
        metavar="PATH",
        help=f"split setup: the plan workflow file (default {DEFAULT_PLAN_WORKFLOW})",
    )
    p.add_argument(
        "--artifact",
        metavar="NAME",
        help=f"bundle artifact (default {DEFAULT_ARTIFACT}), or a pattern such as "
        "'gatekeeper-plan-*': one bundle per matrix leg, evaluated together",
    )
    p.add_argument("--check-name", metavar="NAME", help=f"check run name (default {CHECK_NAME})")
    p.add_argument(
        "--commit-status", action="store_true", default=None, help="also set a commit status"
    )
    p.add_argument("--no-comment", action="store_true", help="do not post the sticky comment")
    p.add_argument("--report", metavar="FILE", help="also write the JSON report to FILE")
    p.add_argument(
        "--config",
        metavar="PATH",
        help="the policy's path in the repository, always read on the default branch's head "
        f"(default {defaults.POLICY_PATH}; built-in defaults when that is absent; another "
        "path must exist)",
    )
    p.add_argument(
        "--time-budget",
        type=float,
        metavar="SECONDS",
        help="total time to wait on a failing GitHub API before blocking (default 180)",
    )
    from gatekeeper.source_cli import add_source_options

    add_source_options(p)
    p.set_defaults(run=run)


# --------------------------------------------------------------------------- options


@dataclass(frozen=True, slots=True)
class Options:
    plans: tuple[str, ...]
    head_sha: str | None
    pr: int | None
    plan_workflow: str
    artifact: str
    check_name: str
    commit_status: bool
    comment: bool
    report: str | None
    time_budget: float
    policy_path: str
    comment_login: str
    mode: str | None  # "enforce" | "advisory" | None: the stricter of this and the policy
    source: tuple[str, ...] = ()
    base_source: tuple[str, ...] = ()
    repo_root: str | None = None

    @property
    def split(self) -> bool:
        return not self.plans


def _options(args: argparse.Namespace, env: Mapping[str, str]) -> Options:
    def pick(flag: Any, name: str, default: str) -> str:
        return str(flag) if flag is not None else actions.get_input(env, name) or default

    pr = args.pr
    if pr is None and actions.get_input(env, "pr-number"):
        value = actions.get_input(env, "pr-number") or ""
        if not value.isdigit():
            raise EventError(f"input pr-number: {value!r} is not a number")
        pr = int(value)
    budget_text = pick(args.time_budget, "time-budget", "180")
    try:
        budget = float(budget_text)
    except ValueError:
        raise EventError(f"time budget {budget_text!r} is not a number of seconds") from None
    plan_inputs = _plan_inputs(
        actions.get_input(env, "plans") or "", actions.get_input(env, "plan-labels") or ""
    )
    commit_status = args.commit_status
    if commit_status is None:
        commit_status = actions.input_flag(env, "commit-status")
    mode = actions.get_input(env, "mode")
    if mode is not None and mode not in ("enforce", "advisory"):
        raise EventError(f"input mode: {mode!r} is not enforce or advisory")

    def dirs(flag: list[str] | None, name: str) -> tuple[str, ...]:
        value = actions.get_input(env, name)
        return tuple(flag or ()) or ((value,) if value else ())

    return Options(
        plans=(*args.plans, *args.plan, *plan_inputs),
        head_sha=args.head_sha,
        pr=pr,
        plan_workflow=pick(args.plan_workflow, "plan-workflow", DEFAULT_PLAN_WORKFLOW),
        artifact=pick(args.artifact, "artifact-name", DEFAULT_ARTIFACT),
        check_name=pick(args.check_name, "check-name", CHECK_NAME),
        commit_status=bool(commit_status),
        comment=not args.no_comment and actions.input_flag(env, "comment", default=True),
        report=args.report or actions.get_input(env, "report"),
        time_budget=max(1.0, budget),
        policy_path=args.config or actions.get_input(env, "config") or defaults.POLICY_PATH,
        comment_login=actions.get_input(env, "comment-login") or "github-actions[bot]",
        mode=mode,
        source=dirs(args.source, "source-dir"),
        base_source=dirs(args.base_source, "base-source-dir"),
        repo_root=args.repo_root,
    )


def _plan_inputs(plans: str, labels: str) -> list[str]:
    """The `plans` input: one per line, `[LABEL=]PATH` where PATH may be a glob; a plan
    without a label takes the first `plan-labels` line (`LABEL=GLOB`) matching its path."""
    import glob as globmod

    from gatekeeper import globs

    rules: list[tuple[str, str]] = []
    for line in labels.splitlines():
        if not line.strip():
            continue
        rule_label, sep, pattern = line.strip().partition("=")
        if not sep or not rule_label or not pattern:
            raise EventError(f"input plan-labels: {line.strip()!r} is not LABEL=GLOB")
        rules.append((rule_label, pattern))
    out: list[str] = []
    for line in plans.splitlines():
        item = line.strip()
        if not item:
            continue
        label: str | None = None
        if "=" in item and not os.path.exists(item):
            label, _, item = item.partition("=")
        paths = [item]
        if any(c in item for c in "*?["):
            paths = sorted(globmod.glob(item, recursive=True))
            if not paths:
                raise PlanError(f"input plans: {item!r} matches no file", "check the path")
        for path in paths:
            name = label
            if name is None:
                name = next((lb for lb, g in rules if globs.match(g, path)), None)
            if name is not None and len(paths) > 1 and label is not None:
                name = f"{label}:{path}"  # one label per plan
            out.append(f"{name}={path}" if name else path)
    return out


# -------------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    env = actions.environ()
    opts = _options(args, env)
    # The action's `bundle-out` input is the plan job's mode (no API calls).
    bundle_out = args.bundle_out or actions.get_input(env, "bundle-out")
    if bundle_out:
        return _write_bundle(bundle_out, opts, env, args)
    if args.no_plan is not None or args.matrix_legs is not None:
        raise EventError(
            "--no-plan and --matrix-legs describe a plan job's bundle: they need --bundle-out DIR"
        )
    aenv = actions.read_env(env)
    payload = actions.load_event(aenv.event_path)
    event = actions.parse_event(aenv.event_name, payload, aenv.repository, pr_number=opts.pr)
    if event.skip:
        say(f"gatekeeper: nothing to gate: {event.skip}")
        actions.write_outputs(aenv.output_path, {"decision": "skipped", "headline": event.skip})
        return 0
    client = GitHubClient(
        aenv.token,
        aenv.api_url,
        retry=RetryPolicy(total_seconds=opts.time_budget, backoff=BACKOFF),
        seconds_between_writes=WRITE_SPACING,
    )
    if actions.input_flag(env, "doctor"):
        _doctor(client, aenv, opts)
    numbers = list(event.pr_numbers)
    if not numbers and event.lookup is not None:
        lk = event.lookup
        try:
            numbers = client.find_pulls_by_head(aenv.repository, lk.owner, lk.branch, lk.sha)
        except ApiUnavailable as exc:
            say(f"error: {exc.message}", err=True)
            return exc.exit_code
        if not numbers:
            note = f"no open pull request has head {lk.owner}:{lk.branch} at {lk.sha[:12]}"
            say(f"gatekeeper: nothing to gate: {note}")
            actions.write_outputs(aenv.output_path, {"decision": "skipped", "headline": note})
            return 0
    worst = 0
    shared = Shared()
    for number in numbers:
        code = Gate(client, aenv, event, opts, number, shared).run()
        worst = max(worst, code)
    return worst


def _doctor(client: GitHubClient, aenv: actions.ActionsEnv, opts: Options) -> None:
    """Input `doctor: true`: the setup check, advisory. Its result goes to the log and the
    job summary and never changes the gate's decision or exit code (the workflow token
    usually cannot read bypass actors or workflow permissions: run it as an admin)."""
    from gatekeeper.commands.doctor import diagnose

    try:
        d = diagnose(
            client,
            aenv.repository,
            environment=actions.get_input(actions.environ(), "doctor-environment") or "gatekeeper",
            check_name=opts.check_name,
            policy_path=opts.policy_path,
        )
    except GatekeeperError as exc:
        say(f"warning: gatekeeper doctor: {exc.message}", err=True)
        return
    say("gatekeeper doctor (advisory):")
    for line in d.lines():
        say(f"  {line}")
    rows = "\n".join(f"- {md.prose(line)}" for line in d.lines())
    actions.append_summary(aenv.summary_path, f"### gatekeeper doctor (advisory)\n\n{rows}\n")


def _leg_args(
    args: argparse.Namespace, opts: Options, env: Mapping[str, str]
) -> tuple[str | None, MatrixLeg | None]:
    """--no-plan and --matrix-legs (the action's `no-plan` and `matrix-legs` inputs): what a
    matrix leg records about itself."""
    no_plan = args.no_plan if args.no_plan is not None else actions.get_input(env, "no-plan")
    if no_plan is not None and opts.plans:
        raise EventError(
            "--no-plan and plans exclude each other",
            "a leg uploads either its plan's bundle or the no-plan marker",
        )
    legs = args.matrix_legs
    if legs is None:
        text = actions.get_input(env, "matrix-legs")
        if not text:
            return no_plan, None
        if not text.isdigit():
            raise EventError(
                f"the matrix-legs input is {text!r}, not a number of legs",
                "pass matrix-legs: ${{ strategy.job-total }}",
            )
        legs = int(text)
    job = env.get("GITHUB_JOB", "").strip()
    if legs < 1 or not job:
        raise EventError(
            f"--matrix-legs {legs}: needs a positive number of legs and GITHUB_JOB (the job id)",
            "in a matrix job pass --matrix-legs ${{ strategy.job-total }}",
        )
    return no_plan, MatrixLeg(job, legs)


def _write_bundle(
    out_dir: str, opts: Options, env: Mapping[str, str], args: argparse.Namespace
) -> int:
    from gatekeeper.adapters.files import parse_plan_arg, read_plans

    repo = env.get("GITHUB_REPOSITORY", "").strip()
    head = opts.head_sha
    pr_number: int | None = None
    base_ref: str | None = None
    payload: dict[str, Any] | None = None
    if env.get("GITHUB_EVENT_PATH"):
        try:
            payload = actions.load_event(env["GITHUB_EVENT_PATH"])
        except EventError:
            if head is None:
                raise
    if payload is not None:
        # The pull request the plan is for: recorded in the bundle, so the gate can tell it
        # from another PR with the same head (fork PRs' runs list no pull request).
        sha = dig(payload, "pull_request", "head", "sha")
        number = dig(payload, "pull_request", "number")
        ref = dig(payload, "pull_request", "base", "ref")
        if head is None or head == sha:
            head = sha if isinstance(sha, str) else head
            if isinstance(number, int) and not isinstance(number, bool) and isinstance(ref, str):
                pr_number, base_ref = number, ref
    if not head:
        raise EventError(
            "--bundle-out needs the PR head SHA: run on a pull_request event or pass --head-sha",
            "GITHUB_SHA is the merge commit on pull_request events, not the head",
        )
    if not repo:
        raise EventError("--bundle-out needs GITHUB_REPOSITORY (owner/name)")
    no_plan, matrix = _leg_args(args, opts, env)
    plans = read_plans([parse_plan_arg(x) for x in opts.plans]) if no_plan is None else []
    path = write_bundle(
        plans,
        out_dir,
        repository=repo,
        head_sha=head,
        pr_number=pr_number,
        base_ref=base_ref,
        no_plan=no_plan,
        matrix=matrix,
    )
    made_for = f" of PR #{pr_number} into {base_ref}" if pr_number is not None else ""
    what = "the plan bundle" if no_plan is None else f"the no-plan marker of {no_plan!r}"
    if matrix is not None:
        what += f" (one of {matrix.legs} legs of {matrix.job!r})"
    say(f"gatekeeper: wrote {what} for {head[:12]}{made_for} to {path}")
    actions.write_outputs(env.get("GITHUB_OUTPUT"), {"bundle": path, "head-sha": head})
    return 0


# --------------------------------------------------------------------- one PR


@dataclass
class Result:
    analysis: Analysis
    decision: Decision
    view: PrView
    sections: dict[str, Any] = field(default_factory=dict)
    explanation: tuple[str, ...] = ()  # the whole story, one fact per line (log, check text)
    tampering: tuple[Tampering, ...] = ()  # rival checks/statuses on the head, shown first


@dataclass
class Shared:
    """What one run reads once for every PR it evaluates: the trust root (the default
    branch's head) and the pushers of each head branch."""

    trust_root: TrustRoot | None = None
    pushers: dict[tuple[str, str], tuple[tuple[Actor, ...], str | None]] = field(
        default_factory=dict
    )


class Gate:
    """Evaluate and report one pull request."""

    def __init__(
        self,
        client: GitHubClient,
        aenv: actions.ActionsEnv,
        event: actions.GateEvent,
        opts: Options,
        number: int,
        shared: Shared | None = None,
    ) -> None:
        self.client = client
        self.aenv = aenv
        self.event = event
        self.opts = opts
        self.number = number
        self.repo = aenv.repository
        self.shared = shared if shared is not None else Shared()
        self.trust_root: TrustRoot | None = None
        self.check_sha: str | None = event.check_sha or event.event_sha
        self.policy: Policy | None = None
        self.snapshot: PullRequestFacts | None = None  # the one PR snapshot, once fetched
        self.snapshot_at = 0.0  # time.monotonic() when it was fetched
        self.unreported: list[str] = []  # non-success results that could not be posted

    def run(self) -> int:
        try:
            return self._run()
        except GatekeeperError:
            raise
        except Exception as exc:
            # A bug. Still try to turn the check red (an earlier success must not stand for
            # a run that crashed), then let the CLI report it (exit 3).
            message = f"internal error (a bug): {type(exc).__name__}: {exc}"
            try:
                self._report_error(message, "rerun with --debug and report the traceback")
                actions.write_outputs(
                    self.aenv.output_path, {"decision": "error", "headline": f"error: {message}"}
                )
            except Exception as again:  # reporting failed too: the CLI still says why
                say(f"error: could not report the internal error: {again}", err=True)
            raise

    def _run(self) -> int:
        try:
            result = self.evaluate()
        except _Skip as skip:
            say(f"gatekeeper: nothing to gate: {skip}")
            actions.write_outputs(
                self.aenv.output_path, {"decision": "skipped", "headline": str(skip)}
            )
            return 0
        except ApiUnavailable as exc:
            # Fail closed: blocked, with the reason; never allow.
            decision = Decision(BLOCK, f"blocked: {exc.message}", (exc.hint or "",))
            result = self._bare(decision)
        except GatekeeperError as exc:
            self._report_error(exc.message, exc.hint)
            actions.write_outputs(
                self.aenv.output_path,
                {"decision": "error", "headline": f"error: {exc.message}"},
            )
            raise
        else:
            try:
                result = self._for_head(result)
            except GatekeeperError as exc:
                # The other PRs of this head, or the checks on it, cannot be read: whatever
                # this PR's own result, the head's check cannot be vouched for.
                why = f"the head commit's other PRs and checks cannot be read: {exc.message}"
                decision = Decision(BLOCK, f"blocked: {why}", (exc.hint or "",))
                result = self._bare(decision, self.snapshot)
        self.report(result)
        if self.unreported:
            # The check may still show an earlier success: the job itself must fail.
            return max(result.decision.exit_code, EXIT_BLOCK)
        return result.decision.exit_code

    # ---------------------------------------------------------------- evaluation
    def evaluate(self) -> Result:
        try:
            facts = self.client.fetch_snapshot(self.repo, self.number)
        except NotFound:
            self.check_sha = None  # nothing to report on
            raise EventError(
                f"pull request #{self.number} not found in {self.repo}",
                "it may have been deleted, or the token cannot see it",
            ) from None
        self.snapshot = facts
        self.snapshot_at = time.monotonic()
        self.check_sha = self.event.check_sha or facts.head_sha
        if facts.state != "open" and self.event.name != "merge_group":
            raise _Skip(f"pull request #{self.number} is {facts.state}")
        policy = self._policy(facts)
        self.policy = policy
        if self.event.name == "merge_group" and self.event.event_sha != facts.head_sha:
            why = (
                f"the merge group holds {str(self.event.event_sha)[:12]} of PR #{self.number}, "
                f"its head is now {facts.head_sha[:12]}"
            )
            return self._bare(Decision(BLOCK, f"blocked: {why}", (why,)), facts)

        analysis, pending, source = self._analysis(facts, policy)
        trust = trust_root_changes(facts.files, policy, truncated=facts.files_truncated)
        if pending is None and analysis is not None and (analysis.gated or trust):
            # Pushers only ever remove approvers (and add agent evidence): read them when
            # something could be gated.
            facts = self._with_pushers(facts)
        authorship = assess(facts, policy.agents)
        if pending is not None:
            decision = decide_pending(facts.head_sha, pending, policy)
            return self._result(
                facts, policy, _empty(), decision, authorship, None, trust, None, source
            )
        assert analysis is not None
        facts = self._look_up_reviewers(facts, policy)

        always = self._always_gated(facts)
        head_only = _head_only_reason(trust, always)
        labels = {c.change.plan for c in analysis.gated}
        digest_at = self._digests(facts, policy, analysis, head_only)
        appr = approvals_mod.evaluate(
            facts,
            authorship,
            policy.approvals,
            policy.agents,
            plan_labels=labels,
            current_digest=analysis.plan_digest,
            digest_at=digest_at,
            head_only=head_only,
        )
        blockers = []
        if facts.pushers_unknown:
            blockers.append(
                f"the accounts that pushed to {facts.head_ref} cannot be read "
                f"({facts.pushers_unknown}): any of them may be the operator"
            )
        if facts.commits_truncated:
            blockers.append(
                f"the PR has {facts.commits_count} commits and GitHub lists only "
                f"{len(facts.commits)}: the authors of the rest cannot be checked "
                "(split it into smaller PRs)"
            )
        overrides = self._overrides(facts, policy, analysis, trust, always)
        decision = decide_gate(
            analysis,
            policy,
            authorship,
            appr,
            trust,
            overrides=overrides,
            always_gated=always,
            blockers=blockers,
        )
        return self._result(
            facts,
            policy,
            analysis,
            decision,
            authorship,
            appr,
            trust,
            overrides,
            source,
            overridable=overrides_can_count(trust, always),
        )

    # ------------------------------------------------------------ one check per head
    def _for_head(self, result: Result) -> Result:
        """The check belongs to the head commit, not to this PR: the conclusion is the
        strictest over this PR and every other open PR with this head into a protected
        branch (each evaluated under the default branch's trust root), and a rival
        `gatekeeper` check run or status on the head blocks it (tampering)."""
        facts, root = self.snapshot, self.trust_root
        if facts is None or root is None or self.event.name == "merge_group":
            return result
        policy = root.policy
        head = facts.head_sha
        pulls = self.client.open_pulls_for_head(self.repo, head)
        records: list[dict[str, Any]] = []
        mine = is_protected(facts.base_ref, root.branch, policy.protected_branches)
        ranked: list[tuple[int, str, Decision]] = [(self.number, facts.base_ref, result.decision)]
        records.append(_head_record(self.number, facts.base_ref, mine, result.decision))
        for number, base in pulls:
            if number == self.number:
                continue
            protected = is_protected(base, root.branch, policy.protected_branches)
            if not protected:
                records.append({"number": number, "base_ref": base, "protected": False})
                continue
            other = self._sibling(number)
            ranked.append((number, base, other.decision))
            records.append(_head_record(number, base, True, other.decision))
        number, base, worst = strictest(ranked)
        decision = result.decision
        story: tuple[str, ...] = ()
        if number != self.number:
            story = (
                f"the check on {head[:12]} is the strictest over the open PRs with this head "
                "into protected branches",
                *(
                    f"PR #{r['number']} into {r['base_ref']}: {r['headline']}"
                    for r in records
                    if "headline" in r
                ),
            )
            decision = replace(
                worst,
                headline=f"{worst.headline} (PR #{number} into {base}, same head commit)",
                details=(*story, *worst.details),
            )
        runs = self.client.check_runs_named(self.repo, head, self.opts.check_name)
        statuses = self.client.statuses(self.repo, head)
        findings = find_tampering(
            runs,
            statuses,
            name=self.opts.check_name,
            head_sha=head,
            identity=policy.identity,
            gate_login=self.opts.comment_login,
            gate_posts_status=self.opts.commit_status,
        )
        decision = tampered(decision, findings, self.opts.check_name)
        sections = dict(result.sections)
        sections["head"] = {
            "sha": head,
            "pull_requests": records,
            "decided_by": number,
            "tampering": [t.record() for t in findings],
        }
        explanation = tuple(f"tampering: {t.line()}" for t in findings) + story + result.explanation
        view = result.view
        if findings:
            from gatekeeper.render.tampering import render_tampering

            # The renderer's notices come first and are never cut by its size budget.
            view = replace(view, notices=(render_tampering(findings), *view.notices))
        return replace(
            result,
            decision=decision,
            sections=sections,
            explanation=explanation,
            tampering=findings,
            view=view,
        )

    def _sibling(self, number: int) -> Result:
        """Evaluate another open PR with the same head (under the same trust root)."""
        other = Gate(self.client, self.aenv, self.event, self.opts, number, self.shared)
        try:
            return other.evaluate()
        except _Skip as skip:
            return other._bare(Decision(ALLOW, f"not gated: {skip}"))
        except ApiUnavailable as exc:
            return other._bare(Decision(BLOCK, f"blocked: {exc.message}", (exc.hint or "",)))
        except GatekeeperError as exc:
            return other._bare(Decision(BLOCK, f"blocked: error: {exc.message}", (exc.hint or "",)))

    def _always_gated(self, facts: PullRequestFacts) -> list[str]:
        """Gated conditions whoever wrote the PR. Split setup: the plan artifact comes from
        a job that runs the PR's workflows; a PR that changes them (or whose changed files
        GitHub does not all list) makes that job, and its artifact, untrusted."""
        always: list[str] = []
        if not self.opts.split:
            return always
        changed = untrusted_plan_changes(
            p for f in facts.files for p in (f.path, f.previous_path) if p
        )
        if changed:
            always.append(
                f"this PR changes {', '.join(changed[:3])}: the plan job that produced "
                "the plan artifact is not trusted"
            )
        if facts.files_truncated:
            always.append(
                f"the PR changes {facts.changed_files_count} files and GitHub lists only "
                f"{len(facts.files)} (at most {FILES_LIST_CAP}): the unseen ones may change "
                "the plan job, so the plan artifact is not trusted"
            )
        return always

    def _policy(self, facts: PullRequestFacts) -> Policy:
        """The policy on the default branch's current head (never the PR's base: anyone who
        can push a branch can open a PR into it), read once per run."""
        root = self.shared.trust_root
        if root is None or root.repository != self.repo:
            root = read_trust_root(
                self.client,
                self.repo,
                policy_path=self.opts.policy_path,
                default_branch=facts.default_branch,
                mode=self.opts.mode,
            )
            self.shared.trust_root = root
        self.trust_root = root
        return root.policy

    def _with_pushers(self, facts: PullRequestFacts) -> PullRequestFacts:
        """Everyone who pushed to the head branch is an operator. A fork's pushes are not in
        this repository's activity: its owner and the PR author count as its pushers."""
        if facts.is_fork:
            owner = facts.head_owner or (facts.head_repository or "").partition("/")[0]
            fork = (Actor(login=owner),) if owner else ()
            return replace(facts, pushers=(*fork, facts.author))
        key = (self.repo, facts.head_ref)
        if key not in self.shared.pushers:
            try:
                got: tuple[tuple[Actor, ...], str | None] = (
                    tuple(self.client.pushers(self.repo, facts.head_ref)),
                    None,
                )
            except GatekeeperError as exc:  # refused, missing or down: fail closed
                got = ((), exc.message)
            self.shared.pushers[key] = got
        pushers, unknown = self.shared.pushers[key]
        return replace(facts, pushers=pushers, pushers_unknown=unknown)

    def _analysis(
        self, facts: PullRequestFacts, policy: Policy
    ) -> tuple[Analysis | None, str | None, dict[str, Any]]:
        if not self.opts.split:
            from gatekeeper.adapters.files import parse_plan_arg, read_plans

            made_for = self.opts.head_sha or self.event.event_sha
            plans = read_plans([parse_plan_arg(x) for x in self.opts.plans])
            source: dict[str, Any] = {"kind": "plan files", "made_for": made_for}
            if made_for != facts.head_sha:
                why = (
                    f"the plans were made for {made_for[:12]}, the head is now "
                    f"{facts.head_sha[:12]}"
                    if made_for
                    else "cannot tell which commit the plans were made for (pass --head-sha)"
                )
                return None, why, source
            smap = None
            if self.opts.source or self.opts.base_source:
                from gatekeeper.source_cli import source_map_from_args

                ns = argparse.Namespace(
                    source=list(self.opts.source),
                    base_source=list(self.opts.base_source),
                    repo_root=self.opts.repo_root,
                )
                smap = source_map_from_args(plans, ns, policy.production)
            return analyze(plans, policy, smap), None, source
        try:
            fetched = fetch_analysis(
                self.client,
                repository=self.repo,
                head_sha=facts.head_sha,
                policy=policy,
                pr_number=facts.number,
                base_ref=facts.base_ref,
                workflow=self.opts.plan_workflow,
                artifact=self.opts.artifact,
            )
        except BundleError as exc:
            fetched = Fetched(None, f"the plan artifact was rejected: {exc.message}")
        source = {
            "kind": "plan artifact",
            "workflow": self.opts.plan_workflow,
            "artifact": self.opts.artifact,
            "run_id": fetched.run_id,
            "run_url": fetched.run_url,
            "artifact_id": fetched.artifact_id,
            "artifact_digest": fetched.artifact_digest,
            "bundles": [
                {"artifact": name, "id": art_id, "digest": digest}
                for name, art_id, digest in fetched.artifacts
            ],
            "no_plan": list(fetched.no_plan),
        }
        if fetched.analysis is None:
            return None, fetched.why, source
        return fetched.analysis, None, source

    def _look_up_reviewers(self, facts: PullRequestFacts, policy: Policy) -> PullRequestFacts:
        ap = policy.approvals
        if not ap.require_write_permission and not ap.required_teams:
            return facts
        logins = approvals_mod.reviewers_to_look_up(facts, policy.agents)
        perms, teams = self.client.lookup_reviewers(
            self.repo, logins, permission=ap.require_write_permission, teams=ap.required_teams
        )
        return replace(facts, permissions=perms, team_members=teams)

    def _digests(
        self, facts: PullRequestFacts, policy: Policy, analysis: Analysis, head_only: str | None
    ) -> dict[str, str]:
        """stale: digest: the verified gated-change digest of each older reviewed commit.
        None when only the head counts (`head_only`: the trust root changed)."""
        if policy.approvals.stale != "digest" or not self.opts.split or head_only:
            return {}
        shas = sorted(
            {
                r.commit_id
                for r in approvals_mod.latest_decisive(facts.reviews).values()
                if r.state == "APPROVED" and r.commit_id and r.commit_id != facts.head_sha
            }
        )[:MAX_DIGEST_LOOKUPS]
        out: dict[str, str] = {}
        for sha in shas:
            try:
                got = fetch_analysis(
                    self.client,
                    repository=self.repo,
                    head_sha=sha,
                    policy=policy,
                    pr_number=facts.number,
                    base_ref=facts.base_ref,
                    workflow=self.opts.plan_workflow,
                    artifact=self.opts.artifact,
                )
            except GatekeeperError:
                continue  # unknown digest: that approval stays stale
            if got.analysis is not None:
                out[sha] = got.analysis.plan_digest
        return out

    def _overrides(
        self,
        facts: PullRequestFacts,
        policy: Policy,
        analysis: Analysis,
        trust: Sequence[TrustRootChange],
        always: Sequence[str],
    ) -> OverrideOutcome | None:
        if not analysis.gated or not policy.overrides.enabled:
            return None
        if not any("gatekeeper-override" in (c.body or "") for c in facts.comments):
            return None
        signers_text = None
        can_count = overrides_can_count(trust, always)
        root = self.trust_root
        if can_count and root is not None:
            try:  # the one reader (adapters.trustroot): not UTF-8 makes overrides unavailable
                signers_text = read_allowed_signers_text(self.client, root)
            except ConfigError as exc:
                bad = f"the allowed_signers file is invalid: {exc.message}"
                return _Unavailable(bad, policy.overrides.signatures_required)
        return evaluate_signed_overrides(
            facts,
            policy,
            analysis,
            signers_text,
            trust_root_changed=not can_count,
            now=datetime.now(UTC),
            trust_root_sha=root.sha if root is not None else None,
        )

    # -------------------------------------------------------------------- results
    def _bare(self, decision: Decision, facts: PullRequestFacts | None = None) -> Result:
        view = PrView(
            repository=self.repo,
            pr_number=self.number,
            head_sha=(facts.head_sha if facts else self.check_sha) or "",
            server_url=self.aenv.server_url,
            full_report_url=self.aenv.run_url,
            run_url=self.aenv.run_url,
        )
        sections = {"pull_request": self._pr_section(facts)}
        return Result(_empty(), decision, view, sections, decision.details)

    def _pr_section(self, facts: PullRequestFacts | None) -> dict[str, Any]:
        sec: dict[str, Any] = {
            "repository": self.repo,
            "number": self.number,
            "event": self.event.name,
            "check_sha": self.check_sha,
        }
        if facts is not None:
            sec.update(
                head_sha=facts.head_sha,
                base_sha=facts.base_sha,
                head_ref=facts.head_ref,
                author=facts.author.login,
                draft=facts.draft,
                commits=facts.commits_count,
                commits_listed=len(facts.commits),
                reviews=len(facts.reviews),
                comments=len(facts.comments),
                changed_files=facts.changed_files_count,
                policy=self.policy.source if self.policy else None,
            )
        if self.trust_root is not None:
            sec["trust_root"] = self.trust_root.record()
        return sec

    def _result(
        self,
        facts: PullRequestFacts,
        policy: Policy,
        analysis: Analysis,
        decision: Decision,
        authorship: Authorship,
        appr: approvals_mod.ApprovalResult | None,
        trust: Sequence[TrustRootChange],
        overrides: OverrideOutcome | None,
        source: Mapping[str, Any],
        overridable: bool = False,
    ) -> Result:
        view = PrView(
            repository=self.repo,
            pr_number=self.number,
            head_sha=facts.head_sha,
            server_url=self.aenv.server_url,
            agent_authored=authorship.agent_authored,
            agent_evidence=tuple(e.line() for e in authorship.evidence),
            approvals_required=appr.required.count if appr else 0,
            approvals_why=appr.required.why if appr else "",
            approvals_counted=tuple(Person(a.login) for a in appr.counted) if appr else (),
            approvals_excluded=tuple(Person(x.login, x.reason) for x in appr.excluded)
            if appr
            else (),
            approvals_stale=tuple(Person(x.login, x.reason) for x in appr.stale) if appr else (),
            overrides=_override_lines(overrides),
            trust_root_changes=tuple(t.line() for t in trust) if authorship.agent_authored else (),
            sign_command=self._sign_command(policy, analysis, overridable),
            full_report_url=self.aenv.run_url,
            run_url=self.aenv.run_url,
        )
        sections: dict[str, Any] = {
            "pull_request": {**self._pr_section(facts), "analysis_source": dict(source)},
            "authorship": {
                "agent_authored": authorship.agent_authored,
                "evidence": [
                    {
                        "kind": e.kind,
                        "source": e.source,
                        "text": e.text,
                        "self_reported": e.self_reported,
                    }
                    for e in authorship.evidence
                ],
                "operators": [
                    {"login": o.login, "email": o.email, "roles": list(o.roles)}
                    for o in authorship.operators
                ],
                "trust_root_changes": [
                    {"path": t.path, "status": t.status, "what": t.what, "pattern": t.pattern}
                    for t in trust
                ],
            },
            "approvals": _approvals_section(appr),
            "overrides": _overrides_section(overrides),
        }
        explanation = (
            explain_gate(analysis, authorship, appr, trust, overrides)
            if appr is not None
            else decision.details
        )
        return Result(analysis, decision, view, sections, explanation)

    def _sign_command(self, policy: Policy, analysis: Analysis, overridable: bool) -> str | None:
        """The exact `gatekeeper sign` command for an override, when one could count."""
        ov = policy.overrides
        if not analysis.gated or not ov.enabled or not ov.namespace_domain or not overridable:
            return None
        if self.opts.split and is_artifact_pattern(self.opts.artifact):
            # every bundle of the plan run: `gh run download RUN -p PATTERN -D gatekeeper-plans`
            source = "--bundle gatekeeper-plans/"
        elif self.opts.split:
            source = f"--bundle {DEFAULT_BUNDLE_NAME}"
        else:
            source = " ".join(f"--plan {shlex.quote(x)}" for x in self.opts.plans)
            source += "".join(f" --source {shlex.quote(d)}" for d in self.opts.source)
            source += "".join(f" --base-source {shlex.quote(d)}" for d in self.opts.base_source)
        return (
            f"gatekeeper sign --repo {self.repo} --pr {self.number} {source} "
            "--key ~/.ssh/id_ed25519_sk --reason 'INC-123: why'"
        )

    # ------------------------------------------------------------------ reporting
    def report(self, result: Result) -> None:
        decision = result.decision
        title, summary, text = _check_output(result, (self._record(result),))
        say(decision.headline)
        for line in dict.fromkeys((*decision.details, *result.explanation)):
            if line:
                say(f"  {line}")
        conclusion = "success"
        if decision.outcome != ALLOW:
            conclusion = "neutral" if decision.advisory else "failure"
        check_id: int | None = None
        if self.check_sha:
            check_id = self._post(
                "check run",
                lambda: self.client.create_check_run(
                    self.repo,
                    head_sha=self.check_sha or "",
                    name=self.opts.check_name,
                    conclusion=conclusion,
                    title=title,
                    summary=summary,
                    text=text,
                    external_id=self._external_id(),
                    details_url=self.aenv.run_url,
                ),
                result_of=conclusion,
            )
            if self.opts.commit_status:
                state = "success" if conclusion != "failure" else "failure"
                self._post(
                    "commit status",
                    lambda: self.client.create_status(
                        self.repo,
                        sha=self.check_sha or "",
                        state=state,
                        context=self.opts.check_name,
                        description=decision.headline,
                        target_url=self.aenv.run_url,
                    ),
                    result_of=state,
                )
        if self.opts.comment and result.analysis.plans and self._comment_wanted(decision):
            self._post("PR comment", lambda: post_comment(self, result))
        summary_md = _summary(result)
        actions.append_summary(self.aenv.summary_path, summary_md)
        report_path = ""
        if self.opts.report:
            from gatekeeper.adapters.files import write_atomic
            from gatekeeper.render.json_report import build_report, dumps

            report = build_report(result.analysis, decision, result.sections)
            self._post("JSON report", lambda: write_atomic(self.opts.report or "", dumps(report)))
            report_path = self.opts.report
        plans = bool(result.analysis.plans)
        actions.write_outputs(
            self.aenv.output_path,
            {
                "decision": decision.outcome,
                "headline": decision.headline,
                "gated-count": str(decision.gated_count or 0),
                "plan-digest": result.analysis.plan_digest if plans else "",
                "approvals-counted": str(decision.approvals_counted or 0),
                "approvals-required": str(decision.approvals_required or 0),
                "agent-authored": str(result.view.agent_authored).lower(),
                "check-run-id": str(check_id or ""),
                "pr-number": str(self.number),
                "head-sha": result.view.head_sha,
                "report-path": report_path,
            },
        )

    def _record(self, result: Result) -> str:
        """The decision record for this check run (gatekeeper.record), serialised."""
        from gatekeeper.record import decision_record, serialise

        return serialise(
            decision_record(
                repository=self.repo,
                pull_request=self.number,
                head_sha=result.view.head_sha or self.check_sha or "",
                # The default branch's commit the policy and allowed_signers were read at.
                trust_root_sha=self.trust_root.sha if self.trust_root is not None else None,
                decision=result.decision,
                analysis=result.analysis,
                sections=result.sections,
                tampering=(t.line() for t in result.tampering),
            )
        )

    def _comment_wanted(self, decision: Decision) -> bool:
        policy = self.policy or Policy()
        if not policy.comment.enabled:
            return False
        return decision.outcome != ALLOW or policy.comment.on_allow

    def _external_id(self) -> str:
        run = self.aenv.run_id or "local"
        attempt = self.aenv.run_attempt or "1"
        return f"gatekeeper:{run}:{attempt}:{self.number}:{(self.check_sha or '')[:12]}"

    def _post(self, what: str, fn: Any, *, result_of: str | None = None) -> Any:
        """Report; a failure to report is printed and never turns a block into a pass.
        An allow that could not be reported stays unreported (the check is missing).

        `result_of`: the conclusion being posted. A non-success result that could not be
        posted is loud: the check may still show an earlier success for this commit, so the
        job fails (Gate.run exits non-zero) and the log says so."""
        try:
            return fn()
        except GatekeeperError as exc:
            if result_of is None or result_of == "success":
                say(f"warning: could not post the {what}: {exc.message}", err=True)
                return None
            self.unreported.append(what)
            say(
                f"error: could not post the {result_of} {what} on "
                f"{(self.check_sha or '?')[:12]}: {exc.message}. It may still show an earlier "
                "result (even a success): this job fails instead; re-run it",
                err=True,
            )
            return None

    def _report_error(self, message: str, hint: str | None) -> None:
        """Bad config or input, or a bug: still try to turn the check red with the one-line
        cause (the message may hold untrusted text: escaped for the title and Markdown)."""
        if not self.check_sha:
            return
        summary = f"**error:** {md.prose(message)}"
        if hint:
            summary += f"\n\n{md.prose(hint)}"
        error = Decision(ERROR, f"error: {message}")
        view = PrView(repository=self.repo, pr_number=self.number, head_sha=self.check_sha)
        record = self._record(Result(_empty(), error, view))
        self._post(
            "check run",
            lambda: self.client.create_check_run(
                self.repo,
                head_sha=self.check_sha or "",
                name=self.opts.check_name,
                conclusion="failure",
                title=md.visible(f"error: {message}")[:250],
                summary=summary,
                text=record,
                external_id=self._external_id(),
                details_url=self.aenv.run_url,
            ),
            result_of="failure",
        )


# ------------------------------------------------------------------- seams


def evaluate_signed_overrides(
    facts: PullRequestFacts,
    policy: Policy,
    analysis: Analysis,
    allowed_signers_text: str | None,
    *,
    trust_root_changed: bool,
    now: datetime,
    trust_root_sha: str | None = None,
) -> OverrideOutcome:
    """Seam to gatekeeper.overrides: the signed override comments of this PR.

    `allowed_signers_text` is the file on the default branch's head `trust_root_sha`
    (None: absent, so no override can count). A malformed file makes overrides
    unavailable; it never fails the gate."""
    from gatekeeper.overrides import evaluate as ov
    from gatekeeper.overrides.allowed_signers import parse_allowed_signers

    settings = policy.overrides
    signers = None
    bad: str | None = None
    if allowed_signers_text is not None:
        try:
            at = (trust_root_sha or facts.base_sha)[:12]
            where = f"{settings.allowed_signers_path}@{at}"
            signers = parse_allowed_signers(allowed_signers_text, source=where)
        except ConfigError as exc:
            bad = exc.message
    expected = ov.bound_context(facts.repository, facts.number, facts.head_sha, analysis)
    comments = [
        ov.OverrideComment(
            id=c.id,
            author_login=c.user.login if c.user and c.user.login else "ghost",
            body=c.body,
            created_at=_parse_time(c.created_at),
            url=c.url,
        )
        for c in facts.comments
    ]
    result = ov.evaluate_overrides(
        comments, signers, expected, settings, now, trust_root_changed=trust_root_changed
    )
    if bad is not None:
        return _Unavailable(f"the allowed_signers file is invalid: {bad}", result.required)
    return result


class _Skip(Exception):
    """Nothing to gate (a closed PR): exit 0 with a note."""


@dataclass(frozen=True)
class _Unavailable:
    unavailable_reason: str
    required: int
    satisfied: bool = False
    available: bool = False
    principals: tuple[str, ...] = ()


def post_comment(gate: Gate, result: Result) -> str:
    """Seam to the sticky comment (gatekeeper.adapters.comment + render.markdown)."""
    from gatekeeper.adapters.comment import upsert_sticky_comment
    from gatekeeper.render.markdown import comment_marker, render_comment, sticky_key

    # The key comes from the configuration, not from the analysis: a run that fails before
    # it has read its plans must land in the same comment as the runs that succeed.
    key = sticky_key(_configured_labels(gate.opts))
    body = render_comment(result.analysis, result.decision, result.view, marker_key=key)
    marker = comment_marker(result.analysis, marker_key=key)
    known = gate.snapshot.comments if gate.snapshot is not None else None
    return str(
        upsert_sticky_comment(
            gate.client,
            gate.repo,
            gate.number,
            body,
            marker,
            self_login=gate.opts.comment_login,
            known=known,
            known_age=timedelta(seconds=time.monotonic() - gate.snapshot_at),
        )
    )


def _configured_labels(opts: Options) -> list[str]:
    """The plan labels the job is configured with; in the split setup, the artifact name."""
    from gatekeeper.adapters.files import parse_plan_arg

    if opts.plans:
        return [parse_plan_arg(p).label for p in opts.plans]
    return [f"artifact:{opts.artifact}"]


# ------------------------------------------------------------------- helpers


def _head_record(number: int, base: str, protected: bool, decision: Decision) -> dict[str, Any]:
    return {
        "number": number,
        "base_ref": base,
        "protected": protected,
        "decision": decision.outcome,
        "headline": decision.headline,
    }


def _head_only_reason(trust: Sequence[TrustRootChange], always: Sequence[str]) -> str | None:
    """Why `stale: digest` must not carry approvals over pushes for this PR, or None. The
    digest binds the plan's gated changes; a PR that changes the trust root (the rules that
    judge it) or makes the plan job untrusted changes what the digest means."""
    if trust:
        paths = ", ".join(t.path for t in trust[:3])
        return f"this PR changes the trust root ({paths})"
    if always:
        return always[0]
    return None


def _parse_time(text: str) -> datetime:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)


def _empty() -> Analysis:
    return Analysis(plans=(), changes=(), plan_digest=EMPTY_DIGEST)


def _override_lines(o: OverrideOutcome | None) -> tuple[str, ...]:
    if o is None:
        return ()
    if not o.available:
        return (f"unavailable: {o.unavailable_reason}",)
    blocks = getattr(o, "blocks", ())
    lines = []
    for b in blocks:
        state = f"counted ({b.principal})" if b.counted else f"rejected: {b.detail}"
        lines.append(f"@{b.author_login} {b.comment_url}: {state}")
    return tuple(lines) or ("no override comments",)


def _approvals_section(appr: approvals_mod.ApprovalResult | None) -> dict[str, Any]:
    if appr is None:
        return {}

    def nc(xs: Sequence[approvals_mod.NotCounted]) -> list[dict[str, Any]]:
        return [
            {"login": x.login, "id": x.id, "reason": x.reason, "commit_id": x.commit_id} for x in xs
        ]

    return {
        "required": appr.required.count,
        "required_because": appr.required.why,
        "counted": [
            {"login": a.login, "id": a.id, "commit_id": a.commit_id, "review_id": a.review_id}
            for a in appr.counted
        ],
        "excluded": nc(appr.excluded),
        "stale": nc(appr.stale),
        "changes_requested": nc(appr.changes_requested),
        "changes_requested_blocks": appr.changes_requested_blocks,
        "missing": appr.missing,
    }


def _overrides_section(o: OverrideOutcome | None) -> dict[str, Any]:
    if o is None:
        return {"considered": False}
    out: dict[str, Any] = {
        "considered": True,
        "available": o.available,
        "unavailable_reason": o.unavailable_reason,
        "required": o.required,
        "principals": list(o.principals),
        "satisfied": o.satisfied,
    }
    accepted = getattr(o, "accepted", ())
    out["accepted"] = [
        {
            "comment_id": a.comment_id,
            "principal": a.principal,
            "key_fingerprint": a.key_fingerprint,
            "reason": a.reason,
            "issued_at": a.issued_at.isoformat(),
            "expires_at": a.expires_at.isoformat(),
            "comment_url": a.comment_url,
            "author_login": a.author_login,
        }
        for a in accepted
    ]
    out["blocks"] = [
        {
            "comment_id": b.comment_id,
            "author_login": b.author_login,
            "counted": b.counted,
            "rejection": str(b.rejection) if b.rejection else None,
            "detail": b.detail,
        }
        for b in getattr(o, "blocks", ())
    ]
    return out


TEXT_LIMIT = 65_000  # GitHubClient.create_check_run clips output.text beyond this


def _explanation_block(result: Result, room: int) -> str:
    """The whole explanation, one fact per line, folded; at most `room` characters."""
    from gatekeeper.render.markdown import size_chars

    kept: list[str] = []
    used = 0
    facts = [f"- {md.prose(x)}" for x in result.explanation if x]
    for i, line in enumerate(facts):
        if used + size_chars(line) + 1 > room:
            kept.append(f"- ... {len(facts) - i} more lines: see the job summary")
            break
        kept.append(line)
        used += size_chars(line) + 1
    if not kept:
        return ""
    return "<details><summary>Explanation</summary>\n\n" + "\n".join(kept) + "\n\n</details>"


def _check_output(result: Result, appendix: Sequence[str] = ()) -> tuple[str, str, str]:
    """(title, summary, text) for the check run: the markdown renderer's output; the text
    also carries the whole explanation and then each `appendix` block (the decision record:
    an HTML comment of at most record.MAX_RECORD_CHARS). The one place the check run's text
    is budgeted: the appended blocks are sized first (the explanation may take at most half),
    the rendered diffs get what is left, so the whole text stays within TEXT_LIMIT and the
    record at its end is never clipped."""
    from gatekeeper.render.markdown import CHECK_LIMIT, render_check_output, size_chars

    limit = min(CHECK_LIMIT, TEXT_LIMIT)
    extra = [b for b in appendix if b]
    room = limit - sum(size_chars(b) + 2 for b in extra)
    blocks = [b for b in (_explanation_block(result, room // 2), *extra) if b]
    out = render_check_output(result.analysis, result.decision, result.view)
    if not blocks:
        return out.title, out.summary, out.text
    tail = "\n\n".join(blocks)
    room = limit - size_chars(tail) - 2
    text = render_check_output(result.analysis, result.decision, result.view, limit=room).text
    return out.title, out.summary, f"{text}\n\n{tail}" if text else tail


def _summary(result: Result) -> str:
    from gatekeeper.render.markdown import render_summary

    return render_summary(result.analysis, result.decision, result.view)
