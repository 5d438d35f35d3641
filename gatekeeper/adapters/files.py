"""Reading plan files and stdin, writing outputs atomically."""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass

from gatekeeper.errors import GatekeeperError, PlanError
from gatekeeper.plan import Plan, parse_plan


@dataclass(frozen=True, slots=True)
class PlanArg:
    label: str
    path: str


def parse_plan_arg(text: str) -> PlanArg:
    """`PATH` or `LABEL=PATH`. A path that exists as given wins over splitting at `=`."""
    if "=" in text and not os.path.exists(text):
        label, _, path = text.partition("=")
        if label and path:
            return PlanArg(label, path)
    return PlanArg("stdin" if text == "-" else text, text)


def read_plans(args: list[PlanArg]) -> list[Plan]:
    if not args:
        raise PlanError("no plan given", "pass --plan plan.json (or - for stdin)")
    labels = [a.label for a in args]
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise PlanError(
            f"plan label {dupes[0]!r} is used twice", "name each plan: --plan LABEL=PATH"
        )
    if sum(1 for a in args if a.path == "-") > 1:
        raise PlanError("stdin (-) can be read only once", "write the other plans to files")
    return [
        parse_plan(_read(a.path), label=a.label, path="<stdin>" if a.path == "-" else a.path)
        for a in args
    ]


def _read(path: str) -> bytes:
    if path == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise PlanError(
                "stdin: no plan piped in", "terraform show -json tfplan | gatekeeper check --plan -"
            )
        return sys.stdin.buffer.read()
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise PlanError(f"{path}: plan file not found", "check the path") from None
    except IsADirectoryError:
        raise PlanError(
            f"{path}: is a directory, not a plan file", "give the plan JSON file"
        ) from None
    except OSError as exc:
        raise PlanError(f"{path}: cannot read: {exc.strerror}") from None


def write_atomic(path: str, data: str | bytes) -> None:
    """Write all or nothing: a reader never sees a half-written file, and a failed write
    leaves no temporary file behind."""
    directory = os.path.dirname(os.path.abspath(path))
    payload = data.encode("utf-8") if isinstance(data, str) else data
    tmp: str | None = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".gatekeeper-", suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        raise GatekeeperError(
            f"{path}: cannot write: {exc.strerror}", "check the directory and free space"
        ) from None
