"""Command line entry point: parse, dispatch, and turn every failure into an exit code."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence

from gatekeeper import __version__
from gatekeeper.errors import (
    EXIT_BUG,
    EXIT_INPUT,
    ApiError,
    ConfigError,
    EventError,
    GatekeeperError,
    OverrideError,
    PlanError,
)
from gatekeeper.render.escape import log_line, terminal

# Subcommand modules; each has add_parser(sub). Imported lazily by name to keep startup fast.
# name -> one-line help, the same text as the module's own parser (test_cli checks it): only
# the invoked command's module is imported, and `--version`/`--help` import none (the gate's
# pulls in the GitHub and signature stacks: ~60 ms that `gatekeeper check` should not pay).
COMMANDS = {
    "check": "analyze plan files offline",
    "gate": "the GitHub Action: gate a pull request on distinct human approvals",
    "sign": "sign an override for a PR's gated changes with your SSH key",
    "doctor": "check the repository's setup (rules, App identity, environment, permissions)",
    "verify": "the apply job: refuse a plan whose gated changes no one approved",
}


DEBUG_HELP = "show tracebacks for errors"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse exits 2 too; keep our one-line "error/hint" shape.
        self.exit(EXIT_INPUT, f"error: {terminal(message)}\nhint: see `{self.prog} --help`\n")


# Every error ends with a hint: the raising code's own, or else one for its kind.
FALLBACK_HINTS: tuple[tuple[type[GatekeeperError], str], ...] = (
    (PlanError, "pass `terraform show -json tfplan` output or the `terraform plan -json` log"),
    (ConfigError, "see docs/config-reference.md for every policy key"),
    (EventError, "`gatekeeper gate` runs in GitHub Actions; see the README's Troubleshooting"),
    (ApiError, "the check stays red; re-run the job when the GitHub API answers"),
    (OverrideError, "see docs/overrides.md"),
)


def fallback_hint(exc: GatekeeperError) -> str:
    """The hint for an error that brings none of its own, by its kind."""
    hint = next((h for kind, h in FALLBACK_HINTS if isinstance(exc, kind)), None)
    return hint or "see `gatekeeper --help` and the README's Troubleshooting"


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; with `only`, the other subcommands are listed but not imported (with
    `only=""`, none is: enough for `--version` and `--help`)."""
    import importlib

    parser = _Parser(
        prog="gatekeeper",
        description="Keep AI coding agents from destroying production: gate destructive "
        "Terraform/OpenTofu plan changes on distinct human approval.",
    )
    parser.add_argument("--version", action="version", version=f"gatekeeper {__version__}")
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name, summary in COMMANDS.items():
        if only is None or name == only:
            importlib.import_module(f"gatekeeper.commands.{name}").add_parser(sub)
        else:
            sub.add_parser(name, help=summary)
    # `gatekeeper check --debug` as well as `gatekeeper --debug check`. SUPPRESS: the
    # subcommand's namespace never overwrites the top-level flag with a default.
    for command_parser in sub.choices.values():
        command_parser.add_argument(
            "--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code (0 allowed, 1 blocked, 2 bad input, 3 bug)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    # One short-lived batch run that allocates ~10 objects per resource change and makes no
    # reference cycles worth collecting: the cyclic GC would only rescan them (2x the time on
    # a 100k-change plan). Memory stays bounded by the plan size.
    gc.disable()
    try:
        command = next((a for a in argv if not a.startswith("-")), None)
        args = build_parser(command if command in COMMANDS else "").parse_args(argv)
        code: int = args.run(args)
        return code
    except GatekeeperError as exc:
        if debug:
            import traceback

            traceback.print_exc()
        # The message and hint may quote untrusted text (a plan's diagnostics, a bundle, a
        # file name): escape sequences and bidi controls are shown, never acted on.
        print(f"error: {log_line(exc.message)}", file=sys.stderr)
        print(f"hint: {log_line(exc.hint or fallback_hint(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return EXIT_INPUT
    except BrokenPipeError:
        return EXIT_INPUT
    except Exception as exc:  # a bug: say so, never exit 0
        if debug:
            import traceback

            traceback.print_exc()
        what = terminal(f"{type(exc).__name__}: {exc}")
        print(f"error: internal error (a bug): {what}", file=sys.stderr)
        print("hint: rerun with --debug and report the traceback", file=sys.stderr)
        return EXIT_BUG


def entry() -> None:  # never returns (os._exit); NoReturn would import typing: ~4 ms
    """The console script: `main`, then exit without tearing down the heap. Freeing the
    objects of a 100k-change plan one by one costs ~0.2 s and changes nothing: the outputs
    are written and flushed first (a failed flush is exit 2, as a failed write)."""
    import os

    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        code = code or EXIT_INPUT
    os._exit(code)


if __name__ == "__main__":
    entry()
