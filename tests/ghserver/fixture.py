"""pytest fixtures for the GitHub test server.

Use as a plugin (``pytest_plugins = ["tests.ghserver.fixture"]`` in a conftest) or import
the fixtures by name (``from tests.ghserver.fixture import gh_server``).

Options per test: ``@pytest.mark.ghserver(enterprise=True, strict=False, ...)`` passes
keyword arguments to ``GHServer``. At teardown the fixture runs ``srv.verify()``: it
raises if a response failed schema validation, a handler crashed, or (unless
``fail_on_unexpected=False``) the client called something outside the spec and the test did
not acknowledge it with ``srv.take_unexpected()``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .server import GHServer


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "ghserver(**options): options for the gh_server fixture")


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker("ghserver")
    return dict(marker.kwargs) if marker else {}


@pytest.fixture
def gh_server(request: pytest.FixtureRequest) -> Iterator[GHServer]:
    """A fresh server per test (empty state plus the default bot and user tokens)."""
    with GHServer(**_options(request)) as srv:
        yield srv
        srv.verify()


@pytest.fixture(scope="module")
def gh_server_module() -> Iterator[GHServer]:
    """One server per module; reset ``faults``/``log`` yourself if tests share it."""
    with GHServer() as srv:
        yield srv
        srv.verify()


@pytest.fixture
def gh(gh_server: GHServer) -> Any:
    """PyGithub client on ``gh_server`` authenticated as github-actions[bot]."""
    return gh_server.github()
