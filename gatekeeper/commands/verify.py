"""`gatekeeper verify`: the apply job's guard. May this plan be applied to this commit?

1. Read the plan(s) (`terraform show -json tfplan`), offline.
2. Check the commit is on the default branch, and read the policy there, at that commit.
3. Classify. Nothing gated: exit 0.
4. Find the PR that brought the commit (`commits/{sha}/pulls`: merge, squash and rebase
   merges) and the gate's final decision record for that PR's last head: the newest
   `gatekeeper` check run on the head created by the gate's own App (`identity.app_id`),
   never a same-named run of another app or workflow. Its gated digest must equal the
   plan's (or, with `apply.subset`, the plan's gated changes a strict subset of it).
5. Otherwise (no PR, e.g. workflow_dispatch, or a plan the PR did not approve): a signed apply
   override on the commit (a commit comment, `gatekeeper sign --apply`) bound to this
   repository, commit, workflow run and plan, verified against allowed_signers on the
   default branch's head.

Exit 0 may proceed, 1 not approved (GitHub down too: never 0), 2 bad input or config, 3 bug.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from gatekeeper.adapters import actions
from gatekeeper.adapters.github import GitHubClient, RetryPolicy
from gatekeeper.adapters.trustroot import TrustRoot, read_allowed_signers_text, read_trust_root
from gatekeeper.classify import Analysis, analyze
from gatekeeper.errors import EXIT_BLOCK, ApiError, ConfigError, EventError
from gatekeeper.gate.record import DecisionRecord, RecordError, find_records, parse
from gatekeeper.policy import defaults
from gatekeeper.policy.load import parse_policy
from gatekeeper.policy.model import Policy
from gatekeeper.verify import Verdict, compare_with_record, nothing_gated, refuse_forgeable

CHECK_NAME = "gatekeeper"
_SHA = re.compile(r"[0-9a-f]{40}")
_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
APP_HINT = (
    "the hardened setup is required: a GitHub App for the gate (its key in an environment "
    "only the default branch can use) and identity.app_id set to its id on the default "
    "branch (docs/config-reference.md, identity.app_id); or unblock this apply with "
    "`gatekeeper sign --apply`"
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "verify",
        help="the apply job: refuse a plan whose gated changes no one approved",
        description="Check that the plan about to be applied is covered: nothing gated under "
        "the default branch's policy, or exactly the gated changes the gate approved for the "
        "PR that brought the commit (from the gate App's decision record), or a signed apply "
        "override for this commit, workflow run and plan. Exit 0 may proceed, 1 not approved, "
        "2 bad input or config.",
    )
    from gatekeeper.commands.check import add_plan_arguments

    add_plan_arguments(p, note="; the plan about to be applied (terraform show -json tfplan)")
    p.add_argument("--commit", metavar="SHA", help="the commit being applied (default $GITHUB_SHA)")
    p.add_argument("--repo", metavar="OWNER/NAME", help="default $GITHUB_REPOSITORY")
    p.add_argument(
        "--run-id", type=int, metavar="N", help="this workflow run (default $GITHUB_RUN_ID)"
    )
    p.add_argument(
        "--check-name", default=CHECK_NAME, metavar="NAME", help="the gate's check run name"
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        help=f"the policy's path (default {defaults.POLICY_PATH}), read at the commit",
    )
    p.add_argument(
        "--bundle-out",
        metavar="DIR",
        help="also write the plan bundle (masked, bound to the commit) to DIR when the apply "
        "is not approved, for `gatekeeper sign --apply --bundle`",
    )
    p.add_argument("--api-url", metavar="URL", help="default $GITHUB_API_URL")
    p.add_argument(
        "--time-budget",
        type=float,
        default=120.0,
        metavar="SECONDS",
        help="total time to wait on a failing GitHub API (default 120)",
    )
    p.set_defaults(run=run)


def say(text: str, *, err: bool = False) -> None:
    from gatekeeper.commands.gate_report import say as gate_say

    gate_say(text, err=err)


def _setting(flag: Any, env: Mapping[str, str], name: str, what: str) -> str:
    value = str(flag) if flag is not None else env.get(name, "").strip()
    if not value:
        raise EventError(f"verify needs {what}: pass it or set ${name}")
    return value


def run(args: argparse.Namespace) -> int:
    """Exit code of `gatekeeper verify`: 0 may proceed, 1 not approved, 2 bad input."""
    from gatekeeper.adapters.files import read_plans
    from gatekeeper.commands.check import plan_args

    env = os.environ
    repo = _setting(args.repo, env, "GITHUB_REPOSITORY", "the repository (--repo OWNER/NAME)")
    if not _REPO.fullmatch(repo):
        raise EventError(f"repository {repo!r} is not OWNER/NAME")
    sha = _setting(args.commit, env, "GITHUB_SHA", "the commit (--commit SHA)").lower()
    if not _SHA.fullmatch(sha):
        raise EventError(f"--commit {sha!r} is not a full 40-hex commit SHA")
    run_text = _setting(args.run_id, env, "GITHUB_RUN_ID", "the workflow run id (--run-id N)")
    if not run_text.isdigit() or int(run_text) < 1:
        raise EventError(f"run id {run_text!r} is not a number")
    token = env.get("GITHUB_TOKEN", "").strip() or env.get("GH_TOKEN", "").strip()
    if not token:
        raise EventError("no GitHub token: set GITHUB_TOKEN (the job's token, contents: read)")
    plans = read_plans(plan_args(args))  # bad input fails before any request
    client = GitHubClient(
        token,
        args.api_url or env.get("GITHUB_API_URL") or "https://api.github.com",
        retry=RetryPolicy(total_seconds=max(1.0, args.time_budget)),
    )
    v = Verifier(client, repo, sha, int(run_text), args)
    verdict = v.verify(plans)
    say(verdict.headline)
    for line in verdict.details:
        say(f"  {line}")
    say(f"gatekeeper verify: {client.requests} GitHub API requests")
    if not verdict.allowed and v.analysis is not None and v.analysis.gated:
        say(f"  break glass: {v.sign_command()}")
        if args.bundle_out:
            _bundle(v, plans, args.bundle_out)
    actions.write_outputs(
        env.get("GITHUB_OUTPUT"),
        {
            "decision": "allow" if verdict.allowed else "block",
            "headline": verdict.headline,
            "plan-digest": v.analysis.plan_digest if v.analysis else "",
        },
    )
    return verdict.exit_code


def _bundle(v: Verifier, plans: Any, out_dir: str) -> None:
    from gatekeeper.adapters.bundle_file import write_bundle

    path = write_bundle(plans, out_dir, repository=v.repo, head_sha=v.sha)
    say(f"  wrote the plan bundle for signing to {path}")


class Verifier:
    """One verification: the API reads in order, each only when the answer needs it."""

    def __init__(
        self, client: GitHubClient, repo: str, sha: str, run_id: int, args: argparse.Namespace
    ) -> None:
        self.client = client
        self.repo = repo
        self.sha = sha
        self.run_id = run_id
        self.args = args
        self.policy: Policy | None = None
        self.analysis: Analysis | None = None

    def verify(self, plans: Any) -> Verdict:
        """The verdict; a GitHub failure is "not verified" (exit 1 or 2), never "may proceed"."""
        try:
            return self._verify(plans)
        except ApiError as exc:
            # GitHub down (exit 1) or refusing (exit 2): never "may proceed".
            return Verdict(
                max(exc.exit_code, EXIT_BLOCK),
                f"not verified: {exc.message}",
                (exc.hint,) if exc.hint else (),
            )

    def _verify(self, plans: Any) -> Verdict:
        default = self.client.default_branch(self.repo)
        status = self.client.compare_status(self.repo, default, self.sha)
        if status not in ("identical", "behind"):
            return Verdict(
                EXIT_BLOCK,
                f"not approved: {self.sha[:12]} is not on the default branch {default} "
                f"({status}); only the default branch's history may be applied",
            )
        policy = self.read_policy(default)
        self.policy = policy
        smap = None
        if getattr(self.args, "source", None) or getattr(self.args, "base_source", None):
            from gatekeeper.source.cli import source_map_from_args

            smap = source_map_from_args(plans, self.args, policy.production, cwd=os.getcwd())
        analysis = analyze(plans, policy, smap)
        self.analysis = analysis
        done = nothing_gated(analysis)
        if done is not None:
            return done
        by_pr = self._by_pr(default, policy, analysis)
        if by_pr is not None and by_pr.allowed:
            return by_pr
        by_override = self._by_override(default, policy, status, analysis)
        if by_override is not None:
            if by_override.allowed or by_pr is None:
                return by_override
            return Verdict(by_pr.exit_code, by_pr.headline, (*by_pr.details, by_override.headline))
        if by_pr is not None:
            return by_pr
        n = len(analysis.gated)
        return Verdict(
            EXIT_BLOCK,
            f"not approved: {n} gated change{'s' if n != 1 else ''} and no merged pull request "
            f"into {default} brought {self.sha[:12]}, and no signed apply override covers it",
            tuple(f"gated: {c.action_label} {c.change.address}" for c in analysis.gated[:20]),
        )

    def override_root(self, default: str, policy: Policy, status: str) -> TrustRoot:
        """The trust root signed apply overrides are checked against, by verify and by
        `sign --apply` alike: the policy and allowed_signers on the default branch's head.
        `policy` is the one at the commit, which is that head when `status` is "identical"
        (then nothing is read again)."""
        if status == "identical":
            return TrustRoot(self.repo, default, self.sha, policy)
        path = self.args.config or defaults.POLICY_PATH
        return read_trust_root(self.client, self.repo, policy_path=path, default_branch=default)

    def read_policy(self, default: str) -> Policy:
        """The policy at the commit (on the default branch), as `sign --apply` reads it too."""
        path = self.args.config or defaults.POLICY_PATH
        data = self.client.read_file(self.repo, path, self.sha)
        where = f"{path}@{self.sha[:12]} ({default})"
        if data is None:
            if self.args.config and path != defaults.POLICY_PATH:
                raise ConfigError(
                    f"{where}: the configured policy file does not exist",
                    f"fix --config, or omit it to use {defaults.POLICY_PATH}",
                )
            return Policy(source=f"built-in defaults (no {where})", path=path)
        return parse_policy(data, source=where, path=path)

    # ----------------------------------------------------------------- the PR record
    def _by_pr(self, default: str, policy: Policy, analysis: Analysis) -> Verdict | None:
        """The verdict from the merged PR's decision record; None without a merged PR."""
        pulls = [
            p
            for p in self.client.pulls_for_commit(self.repo, self.sha)
            if p.get("merged_at") and (p.get("base") or {}).get("ref") == default
        ]
        if not pulls:
            return None
        if len(pulls) > 1:
            exact = [p for p in pulls if p.get("merge_commit_sha") == self.sha]
            if len(exact) != 1:
                numbers = ", ".join(f"#{p.get('number')}" for p in pulls[:5])
                return Verdict(
                    EXIT_BLOCK,
                    f"not approved: {self.sha[:12]} belongs to several merged pull requests "
                    f"({numbers}): cannot tell which approval covers it",
                )
            pulls = exact
        pr = pulls[0]
        number = pr.get("number")
        head = (pr.get("head") or {}).get("sha")
        if not isinstance(number, int) or not isinstance(head, str):
            raise ApiError("unexpected GitHub response: a pull request without number or head")
        where = f"PR #{number} at {head[:12]}"
        if policy.identity.forgeable:
            return refuse_forgeable(APP_HINT)
        record, rejected = self._record(policy.identity.check_app_id, number, head)
        if record is None:
            why = "; ".join(rejected[:3]) or "no check run by the gate's App"
            return Verdict(
                EXIT_BLOCK,
                f"not approved: no decision record of the gate's App (app id "
                f"{policy.identity.check_app_id}) for {where}",
                (why,),
            )
        return compare_with_record(analysis, record, subset=policy.apply.subset, where=where)

    def _record(
        self, app_id: int, number: int, head: str
    ) -> tuple[DecisionRecord | None, list[str]]:
        """The newest decision record for PR `number` at `head` from a completed check run of
        the gate's own App. Runs of any other app (another workflow's GITHUB_TOKEN is GitHub
        Actions) are ignored, however they are named or whatever they carry."""
        rejected: list[str] = []
        runs = self.client.check_runs_for_ref(self.repo, head, self.args.check_name)
        for cr in sorted(runs, key=lambda r: r.get("id") or 0, reverse=True):
            app = (cr.get("app") or {}).get("id")
            if app != app_id:
                rejected.append(f"check run {cr.get('id')} is by app {app}, not the gate's")
                continue
            if cr.get("status") != "completed":
                # The gate's newest run is still deciding: an older record must not speak
                # for it (fail closed; re-run the apply once the check has finished).
                rejected.append(f"check run {cr.get('id')} of the gate is not completed")
                return None, rejected
            for payload in reversed(find_records(str((cr.get("output") or {}).get("text") or ""))):
                try:
                    rec = parse(payload)
                except RecordError as exc:
                    rejected.append(f"check run {cr.get('id')}: {exc.reason}")
                    continue
                if (
                    rec.repository.casefold() == self.repo.casefold()
                    and rec.pull_request == number
                    and rec.head_sha == head
                ):
                    if rec.outcome == "allow" and cr.get("conclusion") != "success":
                        # The newest record for this PR and head decides, never an older one.
                        rejected.append(f"check run {cr.get('id')}: conclusion is not success")
                        return None, rejected
                    return rec, rejected
        return None, rejected

    # ------------------------------------------------------------ apply overrides
    def _by_override(
        self, default: str, policy: Policy, status: str, analysis: Analysis
    ) -> Verdict | None:
        from gatekeeper.overrides.apply import APPLY_INFO_STRING, apply_context

        comments = [
            c
            for c in self.client.commit_comments(self.repo, self.sha)
            if APPLY_INFO_STRING in str(c.get("body") or "")
        ]
        if not comments:
            return None
        # Who may sign, and how, is the default branch's head (as for PR overrides): a key
        # removed from allowed_signers since the commit was merged signs nothing, and an old
        # commit or a re-run cannot bring a revoked key or a disabled override back.
        root = self.override_root(default, policy, status)
        settings = root.policy.overrides
        if not settings.enabled:
            return Verdict(EXIT_BLOCK, "signed apply overrides are disabled by the policy")
        from gatekeeper.overrides.allowed_signers import parse_allowed_signers
        from gatekeeper.overrides.apply import apply_override_verdict, evaluate_apply_overrides
        from gatekeeper.overrides.evaluate import OverrideComment

        signers = None
        try:
            text = read_allowed_signers_text(self.client, root)
            if text is not None:
                where = root.where(settings.allowed_signers_path)
                signers = parse_allowed_signers(text, source=where)
        except ConfigError as exc:
            return Verdict(EXIT_BLOCK, f"apply overrides unavailable: {exc.message}")
        result = evaluate_apply_overrides(
            [
                OverrideComment(
                    id=int(c.get("id") or 0),
                    author_login=str((c.get("user") or {}).get("login") or "ghost"),
                    body=str(c.get("body") or ""),
                    created_at=_time(c.get("created_at")),
                    url=str(c.get("html_url") or ""),
                )
                for c in comments
            ],
            signers,
            apply_context(self.repo, self.sha, self.run_id, analysis),
            settings,
            datetime.now(UTC),
        )
        return apply_override_verdict(result, len(analysis.gated), self.run_id)

    def sign_command(self) -> str:
        """The `gatekeeper sign --apply` command line that would unblock this run."""
        return (
            f"gatekeeper sign --apply --repo {self.repo} --commit {self.sha} --run-id "
            f"{self.run_id} --bundle gatekeeper-bundle.json --key ~/.ssh/id_ed25519_sk "
            f"--reason {shlex.quote('INC-123: why')} --post"
        )


def _time(text: Any) -> datetime:
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return datetime.fromtimestamp(0, UTC)
