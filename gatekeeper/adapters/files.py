"""Reading plan files and stdin, writing outputs atomically."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from gatekeeper.errors import GatekeeperError, PlanError
from gatekeeper.plan.model import Plan
from gatekeeper.plan.parse import parse_plan


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
        if not label:
            raise PlanError(
                f"{text}: no label before `=` (and no file of that name)",
                f"write LABEL=PATH, e.g. prod={path or 'plan.json'}, or just the path",
            )
        raise PlanError(
            f"{text}: no path after `=` (and no file of that name)",
            f"write LABEL=PATH, e.g. {label}=plan.json",
        )
    return PlanArg("stdin" if text == "-" else text, text)


def read_plans(args: list[PlanArg]) -> list[Plan]:
    """The parsed plans, each label used once and stdin read at most once."""
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
    """Write all or nothing: a reader never sees a half-written file, and a failed or
    interrupted write leaves no temporary file behind (see write_outputs)."""
    write_outputs([(path, data)])


def write_outputs(outputs: list[tuple[str, str | bytes]]) -> None:
    """Write several outputs, all or none as far as the file system allows.

    A new path or an existing regular file is replaced atomically: a temporary file beside
    it, renamed over it once every output has been written. Anything else (a FIFO, a device,
    a symlink such as /dev/stdout or /proc/self/fd/1) is written through, never replaced by a
    regular file. Files get the mode the umask allows (0666 & ~umask), as any file a shell
    redirection creates. SIGTERM/SIGINT during the write remove the temporary files."""
    for path, _data in outputs:
        if not path:
            raise GatekeeperError("an output path is empty", "name a file, e.g. --report r.json")
    pending: list[tuple[str, str]] = []  # (temporary, final path)
    try:
        with _cleanup_on_signal(pending):
            through: list[tuple[str, bytes]] = []
            for path, data in outputs:
                payload = data.encode("utf-8") if isinstance(data, str) else data
                if _replaceable(path):
                    _write_temp(path, payload, pending)
                else:
                    through.append((path, payload))
            for path, payload in through:
                _write_through(path, payload)
            while pending:
                tmp, path = pending[0]
                try:
                    os.replace(tmp, path)
                except OSError as exc:
                    raise _write_error(path, exc) from None
                pending.pop(0)
    finally:
        for tmp, _path in pending:
            _unlink(tmp)


def _replaceable(path: str) -> bool:
    """A new path or a regular file (not a symlink to one): safe to replace by rename."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return True
    except OSError as exc:
        raise _write_error(path, exc) from None
    if stat.S_ISDIR(st.st_mode):
        raise GatekeeperError(f"{path}: cannot write: it is a directory", "name a file inside it")
    return stat.S_ISREG(st.st_mode)


def _write_temp(path: str, payload: bytes, pending: list[tuple[str, str]]) -> None:
    """Write `payload` to a new temporary file beside `path`, recorded in `pending` at once
    (so it is removed on any failure)."""
    import tempfile  # ~5 ms to import (random, shutil): only when a file is written

    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".gatekeeper-", suffix=".tmp")
    except OSError as exc:
        raise _write_error(path, exc) from None
    pending.append((tmp, path))
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
            fh.write(payload)
    except OSError as exc:
        raise _write_error(path, exc) from None


def _write_through(path: str, payload: bytes) -> None:
    try:
        with open(path, "wb") as fh:
            fh.write(payload)
    except OSError as exc:
        raise _write_error(path, exc) from None


def _write_error(path: str, exc: OSError) -> GatekeeperError:
    return GatekeeperError(
        f"{path}: cannot write: {exc.strerror or exc}", "check the directory and free space"
    )


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def _umask() -> int:
    # There is no way to read the umask without setting it; this process is single-threaded.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like SIGINT so a write in progress unwinds and cleans up."""


@contextlib.contextmanager
def _cleanup_on_signal(pending: list[tuple[str, str]]) -> Iterator[None]:
    """While writing, SIGTERM unwinds like SIGINT (KeyboardInterrupt), so the `finally`
    that removes the temporary files runs. Only the main thread can set handlers."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_term(signum: int, frame: object) -> None:
        raise Terminated()

    old = signal.signal(signal.SIGTERM, on_term)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def write_stdout(text: str | Iterable[bytes]) -> None:
    """Write the report (text, or UTF-8 chunks written as they come) to stdout; a failed
    write (a full disk, /dev/full, a closed pipe) is an error the user can act on, not a
    crash."""
    try:
        if isinstance(text, str):
            sys.stdout.write(text)
        else:
            sys.stdout.flush()  # what was written as text comes first
            raw = getattr(sys.stdout, "buffer", None)
            for chunk in text:
                if raw is not None:
                    raw.write(chunk)
                else:  # a text-only stream (a test's StringIO)
                    sys.stdout.write(chunk.decode("utf-8"))
            if raw is not None:
                raw.flush()
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise GatekeeperError(
            f"stdout: cannot write: {exc.strerror or exc}",
            "write the output to a file with --output FILE, or free space where stdout goes",
        ) from None
