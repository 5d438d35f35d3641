"""One error base class: every expected failure carries a one-line message, a hint, an exit code."""

from __future__ import annotations

EXIT_ALLOW = 0
EXIT_BLOCK = 1
EXIT_INPUT = 2
EXIT_BUG = 3


class GatekeeperError(Exception):
    """An expected failure a user can act on. Rendered as `error: MESSAGE` plus `hint: HINT`."""

    exit_code: int = EXIT_INPUT

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        # Keep the user-facing line single-line whatever the cause text held.
        self.message = " ".join(message.split())
        self.hint = " ".join(hint.split()) if hint else None

    def __str__(self) -> str:
        return self.message


class PlanError(GatekeeperError):
    """A plan file that cannot be read or understood."""


class ConfigError(GatekeeperError):
    """A policy file that is missing, malformed or invalid."""


class SourceError(GatekeeperError):
    """Terraform source that cannot be read (never fatal to the gate: recorded as a reason)."""


class EventError(GatekeeperError):
    """A GitHub Actions event or environment that is missing or malformed."""


class ApiError(GatekeeperError):
    """The GitHub API failed after retries. The gate blocks; it never allows on this."""


class OverrideError(GatekeeperError):
    """A signed override that cannot be produced (the `sign` side)."""
