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


# `e2e`: a test that runs against the local GitHub server (any fixture built on gh_server) or
# lives in tests/e2e/ (the installed CLI, the image entrypoint, the README's commands). It is
# given here, from what the test uses, so a new server test cannot be left out of it.
_SERVER_FIXTURES = frozenset({"gh_server", "gh_server_module", "gh"})


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        uses = set(getattr(item, "fixturenames", ()))
        if item.path.parent.name == "e2e" or uses & _SERVER_FIXTURES:
            item.add_marker(pytest.mark.e2e)
