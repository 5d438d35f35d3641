"""scripts/check_fixture.py, the check make-fixtures.sh runs on Terraform's output, run here on
the committed fixtures of both sets (no Terraform needed): they must still match expected.json,
and a wrong expectation must be reported."""

from __future__ import annotations

import copy
import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.helpers import FIXTURES, ROOT

SETS = ("terraform", "terraform-1.15")
SCENARIOS = [
    f"{s}/{p.name}" for s in SETS for p in sorted((FIXTURES / s).iterdir()) if (p / "base").is_dir()
]
NOWHERE = "/nonexistent-gk-fixtures-work"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "check_fixture", ROOT / "scripts/check_fixture.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check_fixture = _load()


def _expected(scenario: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / scenario / "expected.json").read_text("utf-8"))
    return data


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_committed_fixture_matches_expected(scenario: str) -> None:
    assert check_fixture.check(_expected(scenario), str(FIXTURES / scenario), NOWHERE) == []


def test_both_sets_are_checked() -> None:
    assert sum(s.startswith("terraform/") for s in SCENARIOS) >= 16
    assert sum(s.startswith("terraform-1.15/") for s in SCENARIOS) >= 14


def _problems(scenario: str, change: Any) -> list[str]:
    exp = copy.deepcopy(_expected(scenario))
    change(exp)
    problems: list[str] = check_fixture.check(exp, str(FIXTURES / scenario), NOWHERE)
    return problems


def test_wrong_expectations_are_reported() -> None:
    web = "terraform_data.web (deposed)"

    def drop_deposed(e: dict[str, Any]) -> None:
        del e["resource_changes"][web]

    assert _problems("terraform-1.15/deposed_tainted_cbd", drop_deposed) == [
        f"resource {web}: expected None, got {{'actions': ['delete']}}"
    ]

    def one_log_message(e: dict[str, Any]) -> None:
        e["log_changes"]["terraform_data.web"] = ["replace"]

    assert _problems("terraform-1.15/deposed_tainted_cbd", one_log_message) == [
        "log terraform_data.web: expected ['replace'], got ['delete', 'replace']"
    ]

    def check_passes(e: dict[str, Any]) -> None:
        e["checks"]["check.prod_replicas"] = "pass"

    assert _problems("terraform-1.15/check_failing", check_passes) == [
        "check check.prod_replicas: expected pass, got fail"
    ]

    def secret_in_plan(e: dict[str, Any]) -> None:
        e["absent"] = ["terraform_data.jobs"]

    assert _problems("terraform-1.15/moved", secret_in_plan) == [
        "plan.json contains 'terraform_data.jobs', which must be absent",
        "plan.jsonl contains 'terraform_data.jobs', which must be absent",
    ]
    assert _problems("terraform-1.15/plan_errored", lambda e: e.pop("errored_plan")) == []

    def not_errored(e: dict[str, Any]) -> None:
        e.update(exit="ok")

    assert "plan.json errored is True" in _problems("terraform-1.15/plan_errored", not_errored)


def test_temp_path_in_output_is_reported(tmp_path: Path) -> None:
    out = tmp_path / "out"
    shutil.copytree(FIXTURES / "terraform-1.15" / "moved", out)
    text = (out / "plan.jsonl").read_text("utf-8")
    (out / "plan.jsonl").write_text(text.replace("terraform_data.jobs", f"{tmp_path}/x"), "utf-8")
    problems = check_fixture.check(_expected("terraform-1.15/moved"), str(out), str(tmp_path))
    assert f"plan.jsonl contains the temp dir path {tmp_path}" in problems
