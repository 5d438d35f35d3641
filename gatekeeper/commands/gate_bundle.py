"""`gatekeeper gate --bundle-out DIR`: the plan job of the split setup writes the plan bundle
(or a matrix leg's no-plan marker) for the PR head and exits; no GitHub API calls."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

from gatekeeper.adapters import actions
from gatekeeper.adapters.bundle_file import write_bundle
from gatekeeper.commands.gate_options import Options, leg_args
from gatekeeper.commands.gate_report import say
from gatekeeper.errors import EventError
from gatekeeper.pr.facts import dig


def write_bundle_job(
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
    no_plan, matrix = leg_args(args, opts, env)
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
