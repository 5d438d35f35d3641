"""Command-line options for the source map (`--source`, `--base-source`, `--repo-root`).

Kept apart from `gatekeeper.source.mapper` so that `gatekeeper check` without --source imports
neither the source mapper nor python-hcl2 (startup time).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from gatekeeper.errors import SourceError

if TYPE_CHECKING:
    from gatekeeper.plan.model import Plan
    from gatekeeper.policy.model import ProductionPolicy
    from gatekeeper.source.model import SourceFacts


def add_source_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="[LABEL=]DIR",
        help="the plan's root module in the PR's code: maps changes to file:line, reads tags "
        "for `plan -json` logs, lifecycle, moved/removed blocks (repeatable; a bare DIR "
        "applies to every plan)",
    )
    p.add_argument(
        "--base-source",
        action="append",
        default=[],
        metavar="[LABEL=]DIR",
        help="the same root module in a checkout of the base commit: where removed blocks were, "
        "and the tags of destroyed objects",
    )
    p.add_argument(
        "--repo-root",
        metavar="DIR",
        help="paths in the report are relative to DIR (default: the git checkout holding "
        "the source, else the current directory)",
    )


def _dir_args(values: list[str], labels: list[str], option: str) -> dict[str, str]:
    from gatekeeper.source.tree import is_directory  # only with --source: startup time

    out: dict[str, str] = {}
    for text in values:
        label: str | None = None
        path = text
        if "=" in text and not is_directory(text):
            label, _, path = text.partition("=")
        if not is_directory(path):
            raise SourceError(
                f"{option} {text}: not a directory", "give the plan's root module directory"
            )
        if label is None:
            for lb in labels:
                out.setdefault(lb, path)
        else:
            if label not in labels:
                raise SourceError(
                    f"{option} {text}: no plan is labelled {label!r}",
                    f"plan labels: {', '.join(labels)}",
                )
            out[label] = path
    return out


def source_map_from_args(
    plans: list[Plan], args: argparse.Namespace, production: ProductionPolicy, *, cwd: str
) -> dict[tuple[str, str], SourceFacts] | None:
    """The source map for `gatekeeper check`, or None without --source/--base-source.
    `cwd`: the current directory, the repository root when no git checkout holds the code."""
    heads = getattr(args, "source", None) or []
    bases = getattr(args, "base_source", None) or []
    if not heads and not bases:
        return None
    from gatekeeper.source.mapper import build_source_map

    labels = [p.label for p in plans]
    return build_source_map(
        plans,
        _dir_args(heads, labels, "--source"),
        _dir_args(bases, labels, "--base-source"),
        production=production,
        repo_root=getattr(args, "repo_root", None),
        cwd=cwd,
    )
