"""Reading a policy file from the local disk (`gatekeeper check --config`). The gate and `sign`
read the policy from the default branch instead (adapters/trustroot.py); both parse it with
gatekeeper.policy.load."""

from __future__ import annotations

from gatekeeper.errors import ConfigError
from gatekeeper.policy.load import parse_policy
from gatekeeper.policy.model import Policy


def load_policy_file(path: str) -> Policy:
    """The policy in the local file `path` (`--config`); ConfigError with a hint if unreadable."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found", "check the path, or omit --config to use defaults"
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            f"{path}: is a directory, not a policy file",
            "give the policy file itself, e.g. --config .github/gatekeeper.yml",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read config file: {exc.strerror}",
            "check the path and its permissions, or omit --config to use defaults",
        ) from None
    return parse_policy(data, source=path)
