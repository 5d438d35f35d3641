"""`gatekeeper check` as a user runs it: exit codes, formats, bad input, no leaks."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import jsonschema
import pytest

from gatekeeper.cli import main
from gatekeeper.render.report import report_schema
from tests.helpers import SECRET, fixture_plan

TRIGGERS_CONFIG = "production:\n  tag_attributes: [triggers]\n"


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "gatekeeper.yml"
    path.write_text(TRIGGERS_CONFIG)
    return str(path)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def test_block_exit_1_with_reasons(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(
        ["check", "--config", config, str(fixture_plan("replace_prod_db"))], capsys
    )
    assert code == 1 and err == ""
    assert out.startswith(
        "BLOCKED: 1 destructive production change needs approval from distinct humans\n"
    )
    assert "module.prod_db.null_resource.primary" in out
    assert "triggers.env = 'prod' (before and after)" in out


def test_allow_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["check", str(fixture_plan("no_changes"))], capsys)
    assert code == 0 and out.startswith("ALLOWED: no destructive changes\n")


def test_cli_and_gate_word_the_headline_alike(
    config: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # a plan log has no attributes: its tags cannot be read, so possibly production
    code, out, _ = run(
        ["check", "--config", config, str(fixture_plan("replace_prod_db", "plan.jsonl"))], capsys
    )
    assert code == 1
    assert out.startswith(
        "BLOCKED: 1 destructive change that may be production needs approval from distinct humans\n"
    )
    code, out, _ = run(
        [
            "check",
            "--config",
            config,
            f"a={fixture_plan('replace_prod_db')}",
            f"b={fixture_plan('replace_prod_db', 'plan.jsonl')}",
        ],
        capsys,
    )
    assert out.startswith(
        "BLOCKED: 2 destructive changes (1 production, 1 possibly production) need approval "
        "from distinct humans\n"
    )


def test_several_plans_with_labels_json(config: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        [
            "check",
            "--config",
            config,
            "--plan",
            str(fixture_plan("count_shrink")),
            "--plan",
            f"prod-eu={fixture_plan('replace_prod_db', 'plan.jsonl')}",
            "--format",
            "json",
        ],
        capsys,
    )
    report = json.loads(out)
    jsonschema.validate(report, report_schema())
    assert code == 1 and report["decision"] == "block"
    assert [p["label"] for p in report["plans"]] == [str(fixture_plan("count_shrink")), "prod-eu"]
    assert report["plans"][1]["format"] == "plan-log"
    gated = [c for c in report["changes"] if c["gated"]]
    shrink = str(fixture_plan("count_shrink"))
    # production first, then possibly production (the log has no attributes)
    assert [(c["plan"], c["address"]) for c in gated] == [
        (shrink, "null_resource.node[1]"),
        (shrink, "null_resource.node[2]"),
        ("prod-eu", "module.prod_db.null_resource.primary"),
    ]
    assert gated[2]["possibly_production"] and not gated[2]["production"]
    assert report["summary"]["gated"] == 3


def test_plan_label_glob_in_policy(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "g.yml"
    cfg.write_text('production:\n  plan_labels: ["*prod*"]\n')
    plan = fixture_plan("count_shrink")
    code, _, _ = run(["check", "--config", str(cfg), f"dev={plan}"], capsys)
    assert code == 0
    code, out, _ = run(["check", "--config", str(cfg), f"eu-prod={plan}"], capsys)
    assert code == 1 and "plan label 'eu-prod' matches '*prod*'" in out


def test_advisory_mode_reports_but_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "g.yml"
    cfg.write_text(TRIGGERS_CONFIG + "mode: advisory\n")
    code, out, _ = run(
        ["check", "--config", str(cfg), str(fixture_plan("replace_prod_db"))], capsys
    )
    assert code == 0 and "advisory" in out and out.startswith("BLOCKED")


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_sensitive_values_never_leak(
    fmt: str, config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = fixture_plan("sensitive_values")
    assert SECRET in plan.read_text()  # Terraform wrote it in clear text
    report = tmp_path / "r.json"
    code, out, err = run(
        ["check", "--config", config, str(plan), "--format", fmt, "--report", str(report)], capsys
    )
    assert code == 1
    assert SECRET not in out + err + report.read_text()


def test_report_and_output_files_written_atomically(
    config: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out_file, report = tmp_path / "out.txt", tmp_path / "report.json"
    code, out, _ = run(
        [
            "check",
            "--config",
            config,
            str(fixture_plan("replace_prod_db")),
            "--output",
            str(out_file),
            "--report",
            str(report),
        ],
        capsys,
    )
    assert code == 1 and out == ""
    assert out_file.read_text().startswith("BLOCKED")
    assert json.loads(report.read_text())["decision"] == "block"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "gatekeeper.yml",
        "out.txt",
        "report.json",
    ]


def _bad_inputs(tmp: Path) -> dict[str, tuple[bytes, str, str]]:
    good = fixture_plan("replace_prod_db").read_bytes()
    zbuf = tmp / "tfplan.zip"
    with zipfile.ZipFile(zbuf, "w") as z:
        z.writestr("tfplan", b"binary")
    deep = 100_000
    return {
        "empty": (b"", "the plan is empty", "terraform show -json"),
        "whitespace": (b"  \n\n", "the plan is empty", "terraform show -json"),
        "truncated": (good[: len(good) // 2], "truncated", "regenerate"),
        "binary_zip": (zbuf.read_bytes(), "binary plan file (zip)", "terraform show -json"),
        "text_plan": (
            b"Terraform will perform the following actions:\n  # aws_db.x will be destroyed\n",
            "human-readable output",
            "terraform show -json",
        ),
        "wrong_shape": (
            b'{"format_version":"1.0","resource_changes":{"a":1}}',
            "wrong shape",
            "terraform show -json",
        ),
        "wrong_types": (
            b'{"format_version":"1.0","resource_changes":[{"address":5,'
            b'"change":{"actions":["delete"]}}]}',
            "wrong shape",
            "terraform show",
        ),
        "unknown_format_version": (
            b'{"format_version":"7.1","resource_changes":[]}',
            "newer than this gatekeeper",
            "upgrade",
        ),
        "missing_format_version": (
            b'{"terraform_version":"1.5.0","resource_changes":[]}',
            "no format_version",
            "unmodified output",
        ),
        "not_a_plan_json": (b'{"hello":"world"}', "no format_version", "terraform show"),
        "invalid_utf8": (
            b'{"format_version":"1.0","resource_changes":[{"address":"a.\xff"}]}',
            "invalid UTF-8",
            "UTF-8",
        ),
        "deeply_nested": (
            b"{" + b'"a":{' * deep + b"}" * deep + b"}",
            "nests deeper",
            "terraform show",
        ),
        "garbage": (b"\x89PNG\r\n\x1a\n\x00\x00", "binary data", "UTF-8"),
        "json_number": (b"42", "not a JSON plan", "terraform show"),
        "log_garbage_line": (
            b'{"@level":"info","type":"version","terraform":"1.9"}\nnope\n',
            "a line that is not JSON in a `terraform plan -json` log: 'nope'",
            "do not redirect stderr into the log",
        ),
        "wrapper": (
            b"[command]/tmp/terraform-bin show -json tfplan\n" + good + b"\n::debug::exitcode: 0\n",
            "setup-terraform wrapper",
            "terraform_wrapper",
        ),
    }


@pytest.mark.parametrize("case", sorted(_bad_inputs(Path("/tmp")).keys()))
def test_bad_input_exit_2_one_line_cause_and_hint(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, cause, hint = _bad_inputs(tmp_path)[case]
    path = tmp_path / "plan.json"
    path.write_bytes(data)
    code, out, err = run(["check", str(path)], capsys)
    assert code == 2, err
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 2, err
    assert lines[0].startswith("error: ") and cause in lines[0]
    assert lines[1].startswith("hint: ") and hint in lines[1]
    assert "Traceback" not in err


def test_bad_config_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "g.yml"
    cfg.write_text("production:\n  tag_keys: 5\n")
    code, out, err = run(["check", "--config", str(cfg), str(fixture_plan("no_changes"))], capsys)
    assert code == 2 and out == ""
    assert f"error: {cfg}:2:13: at production/tag_keys" in err and "hint: expected" in err


def test_missing_plan_and_duplicate_labels(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check"], capsys)[0] == 2
    plan = str(fixture_plan("no_changes"))
    code, _, err = run(["check", f"a={plan}", f"a={plan}"], capsys)
    assert code == 2 and "used twice" in err
    code, _, err = run(["check", "/nonexistent.json"], capsys)
    assert code == 2 and "not found" in err


def test_bad_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", "--format", "yaml", "x"])
    assert exc.value.code == 2


def test_internal_error_is_exit_3_never_0(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gatekeeper.commands.check as check

    def boom(*_a: object) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(check, "decide_offline", boom)
    code, _, err = run(["check", str(fixture_plan("no_changes"))], capsys)
    assert code == 3 and "internal error" in err and "Traceback" not in err


def _entry(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper", *args], input=stdin, capture_output=True, timeout=60
    )


def test_stdin_through_the_real_entrypoint() -> None:
    proc = _entry(
        "check", "--plan", "-", "--format", "json", stdin=fixture_plan("count_shrink").read_bytes()
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["plans"][0]["label"] == "stdin"
    empty = _entry("check", "-", stdin=b"")
    assert empty.returncode == 2
    assert empty.stderr.decode().startswith("error: <stdin>: the plan is empty")


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_deeply_nested_values_are_not_a_crash(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    depth = 900  # under msgspec's limit: a valid plan, so it must be gated, not refused
    before = "[" * depth + "1" + "]" * depth
    doc = (
        '{"format_version":"1.0","resource_changes":[{"address":"aws_db_instance.a",'
        '"type":"aws_db_instance","name":"a","change":{"actions":["delete"],"before":{"x":'
        + before
        + "}}}]}"
    )
    path = tmp_path / "deep.json"
    path.write_text(doc)
    code, out, err = run(["check", str(path), "--format", fmt], capsys)
    assert code == 1, err
    assert "aws_db_instance.a" in out


def test_unwritable_output_is_exit_2_and_leaves_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "out"
    target.mkdir()  # a directory where the file should go: os.replace fails
    code, _, err = run(["check", str(fixture_plan("no_changes")), "--output", str(target)], capsys)
    assert code == 2 and f"error: {target}: cannot write" in err
    assert list(tmp_path.iterdir()) == [target] and list(target.iterdir()) == []


# Control characters a plan log can carry into an error message: ANSI (conceal, colour,
# cursor movement), C1 CSI, bidi overrides and isolates, zero-width characters.
HOSTILE = "\x1b[8mconcealed\x1b[0m \x1b[2K\x1b[1A \x9b31m \u202eevil\u202c \u2066x\u2069 a\u200bb"


def _hostile_log(tmp_path: Path) -> Path:
    lines = [
        {"@level": "info", "type": "version", "terraform": "1.9.0", "ui": "1.2"},
        {
            "@level": "error",
            "type": "diagnostic",
            "diagnostic": {
                "severity": "error",
                "summary": f"Invalid value {HOSTILE}",
                "detail": f"detail {HOSTILE}\r\nfake: line",
                "address": "aws_db_instance.\x1b]0;title\x07db",
            },
        },
    ]
    path = tmp_path / "plan.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines))
    return path


def test_an_error_message_from_a_plan_cannot_drive_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["check", str(_hostile_log(tmp_path))], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and err.count("\n") == 2 and "\nhint: " in err
    for c in "\x1b\x9b\x07\r\u202e\u202c\u2066\u2069\u200b":
        assert c not in err, repr(c)
    assert "\\x1b[8mconcealed\\x1b[0m" in err and "\\u202eevil\\u202c" in err
    assert "a\\u200bb" in err and "\\x9b31m" in err and "fake: line" in err


def test_a_hint_cannot_drive_the_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gatekeeper.commands.check as check
    from gatekeeper.errors import ConfigError

    def fail(*_a: object) -> None:
        raise ConfigError("bad \x1b[31mred\x1b[0m", f"hint {HOSTILE}")

    monkeypatch.setattr(check, "decide_offline", fail)
    code, _, err = run(["check", str(fixture_plan("no_changes"))], capsys)
    assert code == 2
    assert err.splitlines()[0] == "error: bad \\x1b[31mred\\x1b[0m"
    assert err.splitlines()[1].startswith("hint: hint \\x1b[8mconcealed")
    assert "\x1b" not in err and "\u202e" not in err and "\u200b" not in err


def test_an_internal_error_cannot_drive_the_terminal(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import gatekeeper.commands.check as check

    def boom(*_a: object) -> None:
        raise ValueError(f"bug {HOSTILE}")

    monkeypatch.setattr(check, "decide_offline", boom)
    code, _, err = run(["check", str(fixture_plan("no_changes"))], capsys)
    assert code == 3 and "\x1b" not in err and "\u202e" not in err and "\\x1b[8m" in err


@pytest.mark.parametrize(
    ("argv", "shown"),
    [
        (["--format", "\x1b[8mx\u202e"], "'\\x1b[8mx\\u202e'"),  # argparse quotes with repr
        (["--x\x1b[8m\u202e\u200b"], "--x\\x1b[8m\\u202e\\u200b"),  # it does not: raw
    ],
)
def test_a_bad_argument_cannot_drive_the_terminal(
    argv: list[str], shown: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["check", *argv])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\u202e" not in err and "\u200b" not in err
    assert shown in err
