"""Shared pytest configuration: the local GitHub test server fixtures, and an environment
free of the variables GitHub Actions sets (tests that want them set them explicitly)."""

from __future__ import annotations

import pytest

pytest_plugins = ["tests.ghserver.fixture"]

_RUNNER_VARS = (
    "GITHUB_ACTIONS",
    "GITHUB_EVENT_PATH",
    "GITHUB_EVENT_NAME",
    "GITHUB_REPOSITORY",
    "GITHUB_API_URL",
    "GITHUB_SERVER_URL",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GITHUB_OUTPUT",
    "GITHUB_STEP_SUMMARY",
    "GITHUB_RUN_ID",
    "GITHUB_SHA",
    "GITHUB_WORKSPACE",
)


@pytest.fixture(autouse=True)
def _clean_runner_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _RUNNER_VARS:
        monkeypatch.delenv(name, raising=False)
