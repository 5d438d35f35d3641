"""The trust root: the policy and allowed_signers files on the default branch's current head.

Never the PR's base commit: anyone who can push a branch can open a PR into it, so a base
branch is only as trustworthy as whoever controls it. The default branch (protected by the
ruleset) is resolved through the API at evaluation time and its head SHA recorded; the gate,
`sign` and `doctor` read the trust root through this one module.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gatekeeper.adapters.github import GitHubClient
from gatekeeper.errors import ConfigError
from gatekeeper.policy import defaults
from gatekeeper.policy.load import parse_policy
from gatekeeper.policy.model import Mode, Policy


@dataclass(frozen=True, slots=True)
class TrustRoot:
    repository: str
    branch: str  # the default branch
    sha: str  # its head when read
    policy: Policy

    def where(self, path: str) -> str:
        """How errors and reports name a file of the trust root: `path@sha12`."""
        return f"{path}@{self.sha[:12]}"

    def record(self) -> dict[str, str]:
        """Where the trust root was read, for the report and the decision record."""
        return {"branch": self.branch, "sha": self.sha, "policy": self.policy.source}


def default_head(
    client: GitHubClient, repo: str, default_branch: str | None = None
) -> tuple[str, str]:
    """(default branch, its current head SHA). `default_branch` as the PR object named it;
    None: asked from the repository (one more request)."""
    branch = default_branch or client.default_branch(repo)
    return branch, client.branch_head(repo, branch)


def read_trust_root(
    client: GitHubClient,
    repo: str,
    *,
    policy_path: str = defaults.POLICY_PATH,
    default_branch: str | None = None,
    mode: str | None = None,
) -> TrustRoot:
    """The policy on the default branch's head. Only the default path may be absent (the
    built-in defaults); a configured path that is not there is a mistake. `mode` "enforce"
    (the action's input) makes the policy's mode the stricter of the two."""
    branch, sha = default_head(client, repo, default_branch)
    data = client.read_file(repo, policy_path, sha)
    where = f"{policy_path}@{sha[:12]}"
    if data is None and policy_path != defaults.POLICY_PATH:
        raise ConfigError(
            f"{where}: the configured policy file does not exist on the default branch ({branch})",
            f"fix the `config` input (or --config), or omit it to use {defaults.POLICY_PATH}",
        )
    if data is None:
        policy = Policy(source=f"built-in defaults (no {where} on {branch})", path=policy_path)
    else:
        policy = parse_policy(data, source=where, path=policy_path)
    if mode == "enforce" and policy.mode != "enforce":
        policy = replace(policy, mode=Mode.ENFORCE)
    return TrustRoot(repo, branch, sha, policy)


def read_allowed_signers_text(client: GitHubClient, root: TrustRoot) -> str | None:
    """The allowed_signers file at the same commit as the policy, as text; None when absent.

    The one decode rule for the gate, `sign`, `verify` and `doctor`: strict UTF-8. A file
    that is not UTF-8 is never guessed at (a replaced byte could turn into a different
    principal or option): ConfigError, which makes overrides unavailable in the gate and
    is an error (exit 2) in `sign`."""
    path = root.policy.overrides.allowed_signers_path
    data = client.read_file(root.repository, path, root.sha)
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{root.where(path)}: not UTF-8 text (byte {exc.start})",
            "save allowed_signers as UTF-8 (plain ASCII) on the default branch",
        ) from None
