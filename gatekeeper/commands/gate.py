"""`gatekeeper gate`: what the GitHub Action runs.

Reads the event, one snapshot of the pull request, the policy on the default branch's head and the
plan analysis for the PR's current head; decides; reports a `gatekeeper` check run on the
head (and optionally a commit status), the sticky PR comment, the job summary and
$GITHUB_OUTPUT. Exit 0 allowed, 1 blocked, 2 bad input/config, 3 bug.

Where the plan analysis comes from:
- single-workflow setup: `--plan FILE` (as `check`), made in this job for the event's head;
- split setup: the bundle the plan workflow uploaded for the PR's current head SHA
  (gatekeeper.bundle); none yet: blocked, "plan pending for <sha>";
- in the plan job of the split setup: `--bundle-out DIR` writes that bundle and exits.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace
from datetime import UTC, datetime

from gatekeeper.adapters import actions
from gatekeeper.adapters.github import GitHubClient, RetryPolicy
from gatekeeper.adapters.github_errors import ApiUnavailable, NotFound
from gatekeeper.adapters.trustroot import TrustRoot, read_trust_root
from gatekeeper.commands.gate_bundle import write_bundle_job
from gatekeeper.commands.gate_fetch import (
    Shared,
    allowed_signers_text,
    plan_analysis,
    verified_digests,
    with_pushers,
)
from gatekeeper.commands.gate_options import Options, add_arguments, options, sign_command
from gatekeeper.commands.gate_report import report, report_error, say
from gatekeeper.decision import ALLOW, BLOCK, Decision
from gatekeeper.errors import EXIT_BLOCK, EventError, GatekeeperError
from gatekeeper.gate.headcheck import find_tampering, is_protected
from gatekeeper.gate.pipeline import (
    GateInputs,
    Result,
    Where,
    bare,
    decide,
    one_check_per_head,
    prepare,
    reported,
)
from gatekeeper.gate.sections import HeadPull
from gatekeeper.policy.model import Policy
from gatekeeper.pr.facts import PullRequestFacts
from gatekeeper.render import markdown_escape as md

# GitHub asks for at least a second between writes (secondary rate limits); tests lower it.
WRITE_SPACING = 1.0
BACKOFF = 1.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "gate",
        help="the GitHub Action: gate a pull request on distinct human approvals",
        description="Evaluate the pull request of the current GitHub Actions event and keep "
        "the `gatekeeper` check red until enough distinct humans approved its head. "
        "Exit 0 allowed, 1 blocked, 2 bad input or config.",
    )
    add_arguments(p)
    p.set_defaults(run=run)


# -------------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> int:
    env = actions.environ()
    opts = options(args, env)
    # The action's `bundle-out` input is the plan job's mode (no API calls).
    bundle_out = args.bundle_out or actions.get_input(env, "bundle-out")
    if bundle_out:
        return write_bundle_job(bundle_out, opts, env, args)
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


# --------------------------------------------------------------------- one PR


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
                report_error(self, message, "rerun with --debug and report the traceback")
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
            report_error(self, exc.message, exc.hint)
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
        report(self, result)
        if self.unreported:
            # The check may still show an earlier success: the job itself must fail.
            return max(result.decision.exit_code, EXIT_BLOCK)
        return result.decision.exit_code

    # ---------------------------------------------------------------- evaluation
    def evaluate(self) -> Result:
        """Fetch what the pipeline asks for (gate.pipeline.prepare), then decide."""
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

        analysis, pending, source = plan_analysis(
            self.client, self.repo, self.opts, self.event.event_sha, facts, policy
        )
        needs = prepare(facts, policy, analysis if pending is None else None, split=self.opts.split)
        if needs.pushers:
            facts = with_pushers(self.client, self.repo, facts, self.shared)
        if needs.reviewers is not None:
            perms, teams = self.client.lookup_reviewers(
                self.repo,
                needs.reviewers,
                permission=policy.approvals.require_write_permission,
                teams=policy.approvals.required_teams,
            )
            facts = replace(facts, permissions=perms, team_members=teams)
        root = self.trust_root
        digest_at = verified_digests(
            self.client, self.repo, self.opts, facts, policy, needs.digest_shas
        )
        signers, unreadable = (
            allowed_signers_text(self.client, root) if needs.allowed_signers else (None, None)
        )
        result = decide(
            GateInputs(
                facts,
                policy,
                analysis,
                now=datetime.now(UTC),  # after the reads: an override's expiry is checked now
                split=self.opts.split,
                pending=pending,
                digest_at=digest_at,
                allowed_signers=signers,
                allowed_signers_unreadable=unreadable,
                trust_root_sha=root.sha if root is not None else None,
            )
        )
        sign = sign_command(
            self.opts, self.repo, self.number, policy, result.analysis, result.overridable
        )
        return reported(result, self._where(), facts, policy, source, sign)

    # ------------------------------------------------------------ one check per head
    def _for_head(self, result: Result) -> Result:
        """The check belongs to the head commit, not to this PR: read every other open PR
        with this head (each into a protected branch evaluated under the default branch's
        trust root) and the checks and statuses on it; gate.pipeline.one_check_per_head
        decides."""
        facts, root = self.snapshot, self.trust_root
        if facts is None or root is None or self.event.name == "merge_group":
            return result
        policy = root.policy
        head = facts.head_sha
        pulls = self.client.open_pulls_for_head(self.repo, head)
        mine = is_protected(facts.base_ref, root.branch, policy.protected_branches)
        heads = [HeadPull(self.number, facts.base_ref, mine, result.decision)]
        for number, base in pulls:
            if number == self.number:
                continue
            if not is_protected(base, root.branch, policy.protected_branches):
                heads.append(HeadPull(number, base, False, None))
                continue
            heads.append(HeadPull(number, base, True, self._sibling(number).decision))
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
        return one_check_per_head(
            result,
            heads,
            number=self.number,
            head_sha=head,
            findings=findings,
            check_name=self.opts.check_name,
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

    # -------------------------------------------------------------------- results
    def _where(self) -> Where:
        root = self.trust_root
        return Where(
            self.repo,
            self.number,
            self.event.name,
            self.check_sha,
            self.aenv.server_url,
            self.aenv.run_url,
            root.record() if root is not None else None,
        )

    def _bare(self, decision: Decision, facts: PullRequestFacts | None = None) -> Result:
        return bare(decision, self._where(), facts, self.policy if facts is not None else None)


class _Skip(Exception):
    """Nothing to gate (a closed PR): exit 0 with a note."""
