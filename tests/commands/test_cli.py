"""The entry point itself (gatekeeper/cli.py): where `--debug` may go, and that every expected
error ends with a hint line."""

from __future__ import annotations

import pytest

from gatekeeper import cli
from gatekeeper.errors import ConfigError, GatekeeperError, PlanError
from tests.helpers import fixture_plan


@pytest.mark.parametrize(
    "argv",
    [
        ["--debug", "check", "missing.json"],
        ["check", "--debug", "missing.json"],
        ["check", "missing.json", "--debug"],
    ],
)
def test_debug_before_or_after_the_subcommand(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" in err  # --debug shows the traceback wherever it stands
    assert "error: " in err and "\nhint: " in err


def test_without_debug_no_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", "missing.json"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: ") and err.splitlines()[1].startswith("hint: ")


def test_debug_after_the_subcommand_does_not_change_the_result(
    capsys: pytest.CaptureFixture[str],
) -> None:
    plan = str(fixture_plan("no_changes"))
    assert cli.main(["check", plan, "--debug"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_every_subcommand_accepts_debug() -> None:
    parser = cli.build_parser()
    required = {"check": ["x.json"], "gate": [], "sign": ["--repo", "a/b", "--pr", "1"]}
    required["sign"] += ["--key", "k", "--reason", "r"]
    required["doctor"] = ["--repo", "a/b"]
    required["verify"] = ["--plan", "x.json"]
    assert set(required) == set(cli.COMMANDS)
    for name, rest in required.items():
        assert parser.parse_args([name, "--debug", *rest]).debug is True, name
        assert parser.parse_args([name, *rest]).debug is False, name


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (PlanError("bad plan"), "terraform show -json"),
        (ConfigError("bad policy"), "docs/config-reference.md"),
        (GatekeeperError("anything"), "gatekeeper --help"),
        (PlanError("bad plan", "the raiser's own hint"), "the raiser's own hint"),
    ],
)
def test_an_error_without_its_own_hint_still_gets_one(
    exc: GatekeeperError,
    expected: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import gatekeeper.commands.check as check

    def fail(_args: object) -> int:
        raise exc

    monkeypatch.setattr(check, "run", fail)
    assert cli.main(["check", "x.json"]) == exc.exit_code
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"error: {exc.message}"
    assert lines[1].startswith("hint: ") and expected in lines[1]
    assert len(lines) == 2
