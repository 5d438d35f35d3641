"""Output files (issue 13): write through what is not a regular file, replace regular files
atomically, honour the umask, clean up on signals, never leave a stale report behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import pytest

from gatekeeper.adapters.files import write_outputs
from gatekeeper.cli import main
from gatekeeper.errors import GatekeeperError
from gatekeeper.render.report import report_schema
from tests.helpers import ROOT, fixture_plan

PLAN = str(fixture_plan("no_changes"))


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def temps(directory: Path) -> list[Path]:
    return sorted(directory.glob(".gatekeeper-*.tmp"))


def test_a_fifo_is_written_through_not_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    write_outputs([(str(fifo), "through the pipe\n")])
    out, _ = reader.communicate(timeout=30)
    assert out == b"through the pipe\n"
    assert fifo.is_fifo() and temps(tmp_path) == []


def test_proc_self_fd_1_is_written_through_to_stdout() -> None:
    """`--report /proc/self/fd/1` (or /dev/stdout) reaches stdout; the path is not replaced by
    a regular file (the Docker action runs as root, so it could be)."""
    args = ["check", PLAN, "--report", "/proc/self/fd/1", "--output", "/dev/null"]
    script = f"from gatekeeper.cli import main; import sys; sys.exit(main({args!r}))"
    r = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, cwd=ROOT, timeout=120, check=False
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["decision"] == "allow"
    assert Path("/dev/stdout").is_symlink()


def test_a_symlink_is_written_through_to_its_target(tmp_path: Path) -> None:
    target = tmp_path / "real.json"
    target.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    write_outputs([(str(link), "new")])
    assert link.is_symlink() and target.read_text() == "new"


def test_a_regular_file_is_replaced_atomically_and_honours_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        path = tmp_path / "r.json"
        path.write_text("old")
        inode = path.stat().st_ino
        write_outputs([(str(path), "new")])
        assert path.read_text() == "new" and path.stat().st_ino != inode
        assert path.stat().st_mode & 0o777 == 0o644  # not 0600: later steps may run as another user
        os.umask(0o077)
        write_outputs([(str(tmp_path / "private.json"), "x")])
        assert (tmp_path / "private.json").stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)


def test_an_empty_report_path_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for flag in ("--report", "--output"):
        code, out, err = run(["check", PLAN, flag, ""], capsys)
        assert code == 2 and out == ""
        assert err.startswith(f"error: {flag}: the path is empty\nhint: ")


def test_a_failed_run_replaces_an_older_allow_report_with_an_error_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    assert run(["check", PLAN, "--report", str(report)], capsys)[0] == 0
    assert json.loads(report.read_text())["decision"] == "allow"
    code, _, err = run(["check", str(tmp_path / "missing.json"), "--report", str(report)], capsys)
    assert code == 2 and "plan file not found" in err
    doc = json.loads(report.read_text())
    jsonschema.validate(doc, report_schema())
    assert doc["decision"] == "error" and "plan file not found" in doc["headline"]
    assert doc["changes"] == [] and doc["plans"] == []


def test_report_and_output_are_written_both_or_neither(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = tmp_path / "report.json"
    assert run(["check", PLAN, "--report", str(report)], capsys)[0] == 0
    blocker = tmp_path / "file"
    blocker.write_text("")
    output = blocker / "out.txt"  # cannot exist, even for root
    code, _, err = run(["check", PLAN, "--report", str(report), "--output", str(output)], capsys)
    assert code == 2 and f"error: {output}: cannot write" in err
    # The new report was never renamed into place: the run failed, so an error report stands.
    assert json.loads(report.read_text())["decision"] == "error"
    assert temps(tmp_path) == []


def test_a_failed_second_output_leaves_neither_written(tmp_path: Path) -> None:
    """Works as root too: the second output is a path under a regular file."""
    first = tmp_path / "first.json"
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(GatekeeperError, match="cannot write"):
        write_outputs([(str(first), "1"), (str(blocker / "second.txt"), "2")])
    assert not first.exists() and temps(tmp_path) == []


def test_sigterm_during_a_write_removes_the_temporary_file(tmp_path: Path) -> None:
    """The report's temporary file is written, then the write to --output (a FIFO no one reads
    yet) blocks: SIGTERM then must leave no `.gatekeeper-*.tmp` behind, and exit non-zero."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    report = tmp_path / "report.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gatekeeper",
            "check",
            PLAN,
            "--report",
            str(report),
            "--output",
            str(fifo),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not temps(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert temps(tmp_path), "the report's temporary file never appeared"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 2, err
    assert temps(tmp_path) == []
    assert json.loads(report.read_text())["decision"] == "error"


def test_stdout_on_a_full_device_is_exit_2_not_a_bug() -> None:
    with open("/dev/full", "wb") as full:
        r = subprocess.run(
            [sys.executable, "-m", "gatekeeper", "check", PLAN],
            stdout=full,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=120,
            check=False,
        )
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert err.startswith("error: stdout: cannot write: No space left on device\nhint: "), err
    assert "internal error" not in err and "Traceback" not in err
