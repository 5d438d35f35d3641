"""`gatekeeper check`: offline analysis of plan files. No GitHub, no network."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable

from gatekeeper.adapters.files import (
    PlanArg,
    parse_plan_arg,
    read_plans,
    write_outputs,
    write_stdout,
)
from gatekeeper.adapters.policy_file import load_policy_file
from gatekeeper.classify import Analysis, analyze
from gatekeeper.decision import Decision, decide_offline
from gatekeeper.errors import GatekeeperError
from gatekeeper.policy.model import Policy


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "check",
        help="analyze plan files offline",
        description="Read Terraform/OpenTofu plans and report destructive changes to production. "
        "Exit 0: nothing gated; 1: gated changes need approval; 2: bad input or config.",
    )
    add_plan_options(p)
    p.add_argument(
        "--format", choices=("text", "json", "markdown"), default="text", help="output format"
    )
    p.add_argument("--output", metavar="FILE", help="write the output to FILE instead of stdout")
    p.add_argument("--report", metavar="FILE", help="also write the JSON report to FILE")
    p.add_argument(
        "--annotations",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="print GitHub workflow-command annotations (default: on when GITHUB_ACTIONS=true); "
        "on stdout before the report, or on stderr when a json/markdown report goes to stdout",
    )
    p.set_defaults(run=run)


def add_plan_options(p: argparse.ArgumentParser) -> None:
    add_plan_arguments(p)
    p.add_argument("--config", metavar="FILE", help="policy file (default: built-in defaults)")


def add_plan_arguments(p: argparse.ArgumentParser, *, note: str = "") -> None:
    """The plans (positional or --plan, `[LABEL=]PATH`) and their source dirs: shared by
    `check` and `sign`, which must read plans exactly as the gate does."""
    p.add_argument(
        "plans", nargs="*", metavar="PLAN", help="plan file (or LABEL=PATH, - for stdin)"
    )
    p.add_argument(
        "--plan",
        action="append",
        default=[],
        metavar="[LABEL=]PATH",
        help="a plan: `terraform show -json` output or the `terraform plan -json` log; "
        f"repeatable{note}",
    )
    from gatekeeper.source.cli import add_source_options

    add_source_options(p)


def plan_args(args: argparse.Namespace) -> list[PlanArg]:
    """The plans named on the command line, positional and --plan, in order."""
    return [parse_plan_arg(x) for x in [*args.plans, *args.plan]]


def load_policy(args: argparse.Namespace) -> Policy:
    """The --config policy, or the built-in defaults."""
    return load_policy_file(args.config) if args.config else Policy()


def analyze_args(args: argparse.Namespace, policy: Policy) -> Analysis:
    """The analysis of the plans (and source dirs) the arguments name."""
    plans = read_plans(plan_args(args))
    source = None
    if getattr(args, "source", None) or getattr(args, "base_source", None):
        from gatekeeper.source.cli import source_map_from_args

        source = source_map_from_args(plans, args, policy.production, cwd=os.getcwd())
    # The text and JSON outputs show no values of changes that are not destructive.
    values = getattr(args, "format", None) not in ("text", "json")
    return analyze(plans, policy, source, values=values)


def render(fmt: str, analysis: Analysis, decision: Decision) -> Iterable[bytes]:
    """The output in format `fmt`, as UTF-8 chunks (the JSON report is built while written)."""
    if fmt == "json":
        from gatekeeper.render.report import report_chunks

        return report_chunks(analysis, decision)
    if fmt == "markdown":
        from gatekeeper.render.markdown import render_markdown

        return (render_markdown(analysis, decision).encode("utf-8"),)
    from gatekeeper.render.text import render_text

    return (render_text(analysis, decision).encode("utf-8"),)


def run(args: argparse.Namespace) -> int:
    """`gatekeeper check`; the exit code of its decision."""
    for flag, value in (("--report", args.report), ("--output", args.output)):
        if value == "":
            raise GatekeeperError(f"{flag}: the path is empty", f"name a file: {flag} FILE")
    try:
        return _run(args)
    except (GatekeeperError, KeyboardInterrupt) as exc:
        if args.report:
            _replace_report(args.report, exc)
        raise


def _run(args: argparse.Namespace) -> int:
    policy = load_policy(args)
    analysis = analyze_args(args, policy)
    decision = decide_offline(analysis, policy)
    text = render(args.format, analysis, decision)
    _annotate(args, analysis)
    outputs: list[tuple[str, str | bytes]] = []
    if args.report:
        from gatekeeper.render.report import report_chunks

        outputs.append((args.report, b"".join(report_chunks(analysis, decision))))
    if args.output:
        outputs.append((args.output, b"".join(text)))
    # Both files or neither: each is written beside its target before either is renamed.
    write_outputs(outputs)
    if not args.output:
        write_stdout(text)
    return decision.exit_code


def _replace_report(path: str, exc: BaseException) -> None:
    """A failed run must not leave an older report (perhaps an "allow") where a later step
    reads it: replace it by an error report, or, if even that fails, remove it."""
    from gatekeeper.render.report import dumps, error_report

    message = exc.message if isinstance(exc, GatekeeperError) else "interrupted"
    hint = exc.hint if isinstance(exc, GatekeeperError) else None
    try:
        write_outputs([(path, dumps(error_report(message, hint)))])
    except (GatekeeperError, KeyboardInterrupt):
        import contextlib
        import os

        with contextlib.suppress(OSError):
            if os.path.isfile(path) and not os.path.islink(path):
                os.unlink(path)


def _annotate(args: argparse.Namespace, analysis: Analysis) -> None:
    """Workflow-command annotations: GitHub reads them from stdout and stderr alike; stderr
    keeps a JSON/markdown report on stdout parseable."""
    import os

    on = getattr(args, "annotations", None)
    if on is None:
        on = os.environ.get("GITHUB_ACTIONS") == "true"
    if not on:
        return
    from gatekeeper.render.annotations import render_annotations

    stream = sys.stderr if args.format != "text" and not args.output else sys.stdout
    stream.write("".join(f"{line}\n" for line in render_annotations(analysis)))
    stream.flush()
