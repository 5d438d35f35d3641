"""`gatekeeper gate`'s reads for one PR beyond its snapshot: the plan analysis, who pushed,
older commits' plan digests and the trust root's allowed_signers file.

Wiring only: gate.pipeline.prepare says which of these a PR needs.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field, replace

from gatekeeper.adapters.github import GitHubClient
from gatekeeper.adapters.trustroot import TrustRoot, read_allowed_signers_text
from gatekeeper.bundle.format import BundleError
from gatekeeper.bundle.plan_run import Fetched, fetch_analysis
from gatekeeper.classify import Analysis, analyze
from gatekeeper.commands.gate_options import Options
from gatekeeper.errors import ConfigError, GatekeeperError
from gatekeeper.gate.sections import AnalysisSource, PlanArtifactSource, PlanFilesSource
from gatekeeper.policy.model import Policy
from gatekeeper.pr.facts import Actor, PullRequestFacts


@dataclass
class Shared:
    """What one run reads once for every PR it evaluates: the trust root (the default
    branch's head) and the pushers of each head branch."""

    trust_root: TrustRoot | None = None
    pushers: dict[tuple[str, str], tuple[tuple[Actor, ...], str | None]] = field(
        default_factory=dict
    )


def with_pushers(
    client: GitHubClient, repo: str, facts: PullRequestFacts, shared: Shared
) -> PullRequestFacts:
    """Everyone who pushed to the head branch is an operator. A fork's pushes are not in
    this repository's activity: its owner and the PR author count as its pushers."""
    if facts.is_fork:
        owner = facts.head_owner or (facts.head_repository or "").partition("/")[0]
        fork = (Actor(login=owner),) if owner else ()
        return replace(facts, pushers=(*fork, facts.author))
    key = (repo, facts.head_ref)
    if key not in shared.pushers:
        try:
            got: tuple[tuple[Actor, ...], str | None] = (
                tuple(client.pushers(repo, facts.head_ref)),
                None,
            )
        except GatekeeperError as exc:  # refused, missing or down: fail closed
            got = ((), exc.message)
        shared.pushers[key] = got
    pushers, unknown = shared.pushers[key]
    return replace(facts, pushers=pushers, pushers_unknown=unknown)


def plan_analysis(
    client: GitHubClient,
    repo: str,
    opts: Options,
    event_sha: str | None,
    facts: PullRequestFacts,
    policy: Policy,
) -> tuple[Analysis | None, str | None, AnalysisSource]:
    """(analysis, why it is pending, where it came from): the plan files made in this job
    for the head, or the plan workflow's bundle for it (split setup)."""
    if not opts.split:
        from gatekeeper.adapters.files import parse_plan_arg, read_plans

        made_for = opts.head_sha or event_sha
        plans = read_plans([parse_plan_arg(x) for x in opts.plans])
        source: AnalysisSource = PlanFilesSource(made_for)
        if made_for != facts.head_sha:
            why = (
                f"the plans were made for {made_for[:12]}, the head is now {facts.head_sha[:12]}"
                if made_for
                else "cannot tell which commit the plans were made for (pass --head-sha)"
            )
            return None, why, source
        smap = None
        if opts.source or opts.base_source:
            from gatekeeper.source.cli import source_map_from_args

            ns = argparse.Namespace(
                source=list(opts.source),
                base_source=list(opts.base_source),
                repo_root=opts.repo_root,
            )
            smap = source_map_from_args(plans, ns, policy.production, cwd=os.getcwd())
        return analyze(plans, policy, smap), None, source
    try:
        fetched = fetch_analysis(
            client,
            repository=repo,
            head_sha=facts.head_sha,
            policy=policy,
            pr_number=facts.number,
            base_ref=facts.base_ref,
            workflow=opts.plan_workflow,
            artifact=opts.artifact,
        )
    except BundleError as exc:
        fetched = Fetched(None, f"the plan artifact was rejected: {exc.message}")
    source = PlanArtifactSource(
        workflow=opts.plan_workflow,
        artifact=opts.artifact,
        run_id=fetched.run_id,
        run_url=fetched.run_url,
        artifact_id=fetched.artifact_id,
        artifact_digest=fetched.artifact_digest,
        bundles=tuple(fetched.artifacts),
        no_plan=tuple(fetched.no_plan),
    )
    if fetched.analysis is None:
        return None, fetched.why, source
    return fetched.analysis, None, source


def verified_digests(
    client: GitHubClient,
    repo: str,
    opts: Options,
    facts: PullRequestFacts,
    policy: Policy,
    shas: tuple[str, ...],
) -> dict[str, str]:
    """stale: digest: the verified gated-change digest of each older reviewed commit
    the pipeline names (gate.pipeline.prepare)."""
    out: dict[str, str] = {}
    for sha in shas:
        try:
            got = fetch_analysis(
                client,
                repository=repo,
                head_sha=sha,
                policy=policy,
                pr_number=facts.number,
                base_ref=facts.base_ref,
                workflow=opts.plan_workflow,
                artifact=opts.artifact,
            )
        except GatekeeperError:
            continue  # unknown digest: that approval stays stale
        if got.analysis is not None:
            out[sha] = got.analysis.plan_digest
    return out


def allowed_signers_text(
    client: GitHubClient, root: TrustRoot | None
) -> tuple[str | None, str | None]:
    """The trust root's allowed_signers file through the one reader that `sign` uses too:
    (its text or None when absent, why it is unreadable or None). Unreadable (not UTF-8)
    makes overrides unavailable, never a failed or an allowed gate."""
    if root is None:
        return None, None
    try:
        return read_allowed_signers_text(client, root), None
    except ConfigError as exc:
        return None, exc.message
