"""`gatekeeper gate`'s options: its flags, the action's inputs, and what a matrix leg records.

Wiring only: reads argparse's namespace and the action's `INPUT_*` variables (through
adapters.actions) into one frozen `Options`.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatekeeper.adapters import actions
from gatekeeper.bundle.format import BUNDLE_FILE as DEFAULT_BUNDLE_NAME
from gatekeeper.bundle.format import DEFAULT_ARTIFACT, DEFAULT_PLAN_WORKFLOW, MatrixLeg
from gatekeeper.bundle.plan_run import is_artifact_pattern
from gatekeeper.classify import Analysis
from gatekeeper.errors import EventError, PlanError
from gatekeeper.policy import defaults
from gatekeeper.policy.model import Policy

CHECK_NAME = "gatekeeper"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The gate's flags."""
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
    from gatekeeper.source.cli import add_source_options

    add_source_options(p)


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


def options(args: argparse.Namespace, env: Mapping[str, str]) -> Options:
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
    listed = plan_inputs(
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
        plans=(*args.plans, *args.plan, *listed),
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


def plan_inputs(plans: str, labels: str) -> list[str]:
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


def leg_args(
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


def sign_command(
    opts: Options, repo: str, number: int, policy: Policy, analysis: Analysis, overridable: bool
) -> str | None:
    """The exact `gatekeeper sign` command for an override, when one could count."""
    ov = policy.overrides
    if not analysis.gated or not ov.enabled or not ov.namespace_domain or not overridable:
        return None
    if opts.split and is_artifact_pattern(opts.artifact):
        # every bundle of the plan run: `gh run download RUN -p PATTERN -D gatekeeper-plans`
        source = "--bundle gatekeeper-plans/"
    elif opts.split:
        source = f"--bundle {DEFAULT_BUNDLE_NAME}"
    else:
        source = " ".join(f"--plan {shlex.quote(x)}" for x in opts.plans)
        source += "".join(f" --source {shlex.quote(d)}" for d in opts.source)
        source += "".join(f" --base-source {shlex.quote(d)}" for d in opts.base_source)
    return (
        f"gatekeeper sign --repo {repo} --pr {number} {source} "
        "--key ~/.ssh/id_ed25519_sk --reason 'INC-123: why'"
    )
