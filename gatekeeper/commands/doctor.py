"""`gatekeeper doctor`: check the repository's setup through the API, read-only.

An admin runs it with a token (`GH_TOKEN=$(gh auth token) gatekeeper doctor --repo o/r`);
the action can run it advisory (input `doctor: true`). Each item prints PASS or FAIL with
the fix. Exit 0 only when every item passes, 1 when one fails, 2 on bad input or when
GitHub did not answer (an item that could not be read is not a pass).
"""

from __future__ import annotations

import argparse
import os
import urllib.parse
from dataclasses import dataclass
from typing import Any

from gatekeeper import setupcheck as sc
from gatekeeper.adapters.github import GitHubClient
from gatekeeper.adapters.github_errors import NotFound
from gatekeeper.adapters.trustroot import TrustRoot, read_allowed_signers_text, read_trust_root
from gatekeeper.errors import EXIT_INPUT, ApiError, ConfigError, EventError, GatekeeperError
from gatekeeper.policy import defaults
from gatekeeper.render.escape import terminal

DEFAULT_ENVIRONMENT = "gatekeeper"
CHECK_NAME = "gatekeeper"


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "doctor",
        help="check the repository's setup (rules, App identity, environment, permissions)",
        description="Read-only checks, through the GitHub API, that nothing an agent controls "
        "can turn the check green. Exit 0 when every item passes, 1 when one fails, 2 on bad "
        "input or API errors. Token: GITHUB_TOKEN or GH_TOKEN (a repository admin's, to see "
        "bypass actors and workflow permissions).",
    )
    p.add_argument("--repo", required=True, metavar="OWNER/NAME")
    p.add_argument("--api-url", metavar="URL", help="GitHub Enterprise Server: https://HOST/api/v3")
    p.add_argument(
        "--environment",
        default=DEFAULT_ENVIRONMENT,
        metavar="NAME",
        help=f"the environment holding the gate App's key (default {DEFAULT_ENVIRONMENT})",
    )
    p.add_argument("--check-name", default=CHECK_NAME, metavar="NAME")
    p.add_argument("--config", default=defaults.POLICY_PATH, metavar="PATH")
    p.set_defaults(run=run)


@dataclass
class Diagnosis:
    items: list[sc.Item]
    api_errors: list[str]
    trust_root: TrustRoot | None = None

    @property
    def exit_code(self) -> int:
        return sc.exit_code(self.items, len(self.api_errors))

    def lines(self) -> list[str]:
        out = [line for item in self.items for line in item.lines()]
        out += [f"ERROR could not read: {e}" for e in self.api_errors]
        return out


def diagnose(
    client: GitHubClient,
    repo: str,
    *,
    environment: str = DEFAULT_ENVIRONMENT,
    check_name: str = CHECK_NAME,
    policy_path: str = defaults.POLICY_PATH,
) -> Diagnosis:
    d = Diagnosis([], [])

    def read(what: str, fn: Any, *, missing: Any = None) -> Any:
        try:
            return fn()
        except NotFound:
            return missing
        except ApiError as exc:
            d.api_errors.append(f"{what}: {exc.message}")
            return None

    branch = read("the repository", lambda: client.default_branch(repo))
    if branch is None:
        if not d.api_errors:
            d.api_errors.append(f"the repository {repo}: not found")
        return d

    # The trust root: the policy (with the expected identity) and allowed_signers.
    root: TrustRoot | None = None
    try:
        root = read_trust_root(client, repo, policy_path=policy_path, default_branch=branch)
        d.trust_root = root
        text = read_allowed_signers_text(client, root)
        path = root.policy.overrides.allowed_signers_path
        if text is not None:
            from gatekeeper.overrides.allowed_signers import parse_allowed_signers

            parse_allowed_signers(text, source=root.where(path))
            signers = f"{path} parses"
        else:
            signers = f"no {path} (no signed override can count)"
        d.items.append(
            sc.Item(
                f"the policy and allowed_signers on {branch} parse",
                True,
                f"{root.policy.source}; {signers}",
            )
        )
    except ConfigError as exc:  # the strict reader names a file that is not UTF-8 itself
        d.items.append(
            sc.Item(
                f"the policy and allowed_signers on {branch} parse",
                False,
                exc.message,
                "fix the file on the default branch (docs/config-reference.md, docs/overrides.md)",
            )
        )
    except ApiError as exc:
        d.api_errors.append(f"the policy on {branch}: {exc.message}")
    app_id = root.policy.identity.app_id if root is not None else None
    expected = root.policy.identity.check_app_id if root is not None else None
    d.items.append(sc.own_identity(app_id))

    q = urllib.parse.quote(branch, safe="")
    rules = read(
        f"the rules of {branch}",
        lambda: client.paginate(f"/repos/{repo}/rules/branches/{q}", what=f"rules of {branch}"),
        missing=[],
    )
    if rules is not None:
        d.items.append(sc.pull_request_rule(rules, branch))
        if expected is not None:
            d.items.append(sc.required_check_rule(rules, branch, check_name, expected))
        ids = sorted({r["ruleset_id"] for r in rules if isinstance(r.get("ruleset_id"), int)})
        rulesets = []
        for rid in ids:
            rs = read(
                f"ruleset {rid}",
                lambda rid=rid: client.get_json(
                    f"/repos/{repo}/rulesets/{rid}",
                    {"includes_parents": "true"},
                    what=f"ruleset {rid}",
                ),
            )
            if isinstance(rs, dict):
                rulesets.append(rs)
            elif not d.api_errors:  # not found, or not an object: never a pass
                d.api_errors.append(f"ruleset {rid}: not readable with this token")
        if len(rulesets) == len(ids) or not ids:
            d.items.append(sc.no_bypass(rulesets, branch))

    e = urllib.parse.quote(environment, safe="")
    before = len(d.api_errors)
    env = read(
        f"environment {environment}",
        lambda: client.get_json(
            f"/repos/{repo}/environments/{e}", what=f"environment {environment}"
        ),
    )
    policies = None
    if isinstance(env, dict) and dig_custom(env):
        policies = read(
            f"the deployment branches of {environment}",
            lambda: client.paginate(
                f"/repos/{repo}/environments/{e}/deployment-branch-policies",
                what=f"deployment branches of {environment}",
                key="branch_policies",
            ),
        )
    if len(d.api_errors) == before:
        d.items.append(sc.environment_branches(environment, env, policies, branch))

    perms = read(
        "workflow permissions",
        lambda: client.get_json(
            f"/repos/{repo}/actions/permissions/workflow", what="default workflow permissions"
        ),
    )
    if isinstance(perms, dict):
        d.items.append(sc.workflow_permissions(perms))
    return d


def dig_custom(env: dict[str, Any]) -> bool:
    dbp = env.get("deployment_branch_policy")
    return isinstance(dbp, dict) and dbp.get("custom_branch_policies") is True


def run(args: argparse.Namespace) -> int:
    from gatekeeper.adapters import sign_github as gh

    repo = gh.check_repository(args.repo)
    try:
        token = gh.token_from_env(os.environ)
    except GatekeeperError as exc:
        raise EventError(exc.message, exc.hint) from None
    client = GitHubClient(token, gh.api_url_from(args.api_url, os.environ))
    d = diagnose(
        client,
        repo,
        environment=args.environment,
        check_name=args.check_name,
        policy_path=args.config,
    )
    for line in d.lines():
        print(terminal(line))
    passed = sum(1 for i in d.items if i.ok)
    print(
        terminal(
            f"{passed} of {len(d.items)} checks pass"
            + (f"; {len(d.api_errors)} could not be read" if d.api_errors else "")
        )
    )
    code = d.exit_code
    return EXIT_INPUT if code == 2 else code
