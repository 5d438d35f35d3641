"""The errors a GitHub request ends in besides ApiError: kept apart so the client
(adapters.github) and the JSON converters (adapters.github_facts) share them."""

from __future__ import annotations

from gatekeeper.errors import EXIT_BLOCK, EXIT_INPUT, ApiError


class ApiUnavailable(ApiError):
    """GitHub kept failing (5xx, timeouts, rate limits) past the time budget: blocked."""

    exit_code = EXIT_BLOCK


class NotFound(ApiError):
    """404: the PR, file or object does not exist (or the token cannot see it)."""

    exit_code = EXIT_INPUT


class UnexpectedShape(ApiUnavailable):
    """An answer without the fields GitHub documents: treated like GitHub being down."""
