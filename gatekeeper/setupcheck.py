"""`gatekeeper doctor`: is this repository set up so that nothing an agent controls can turn
the check green? Pure: GitHub's JSON answers in, one pass/fail item (with the fix) out.

The items, and why each matters:
- the default branch's rules require a pull request (else a push skips the gate) and the
  `gatekeeper` check from the gate's own integration id (else any check of that name, from
  any App or workflow, satisfies them);
- the gate has an identity of its own (a GitHub App): with GITHUB_TOKEN every workflow in
  the repository posts as the same GitHub Actions app;
- nobody can bypass those rules;
- the environment holding the App's key deploys only from the default branch (a workflow
  the agent pushes elsewhere cannot read the key);
- the default GITHUB_TOKEN is read-only and cannot approve pull requests;
- the policy and allowed_signers on the default branch parse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gatekeeper.policy.model import GITHUB_ACTIONS_APP_ID
from gatekeeper.pr.facts import dig


@dataclass(frozen=True, slots=True)
class Item:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        out = [f"{'PASS' if self.ok else 'FAIL'}  {self.name}: {self.detail}"]
        if not self.ok and self.fix:
            out.append(f"      fix: {self.fix}")
        return out


def _rules_of(rules: Iterable[Any], kind: str) -> list[Mapping[str, Any]]:
    return [r for r in rules if isinstance(r, dict) and r.get("type") == kind]


def pull_request_rule(rules: Sequence[Any], branch: str) -> Item:
    """Whether a ruleset on `branch` requires a pull request."""
    name = f"{branch} requires a pull request"
    if _rules_of(rules, "pull_request"):
        return Item(name, True, "a ruleset requires a pull request before merging")
    return Item(
        name,
        False,
        f"no active ruleset on {branch} requires a pull request: a direct push skips the gate",
        "import examples/ruleset.json (Settings > Rules > Rulesets > Import a ruleset)",
    )


def required_check_rule(rules: Sequence[Any], branch: str, check: str, app_id: int) -> Item:
    """Whether a ruleset on `branch` requires the `check` from the gate's integration."""
    name = f"{branch} requires the {check!r} check from integration {app_id}"
    found: list[Any] = []
    for rule in _rules_of(rules, "required_status_checks"):
        for c in dig(rule, "parameters", "required_status_checks") or []:
            if isinstance(c, dict) and c.get("context") == check:
                found.append(c.get("integration_id"))
    if app_id in found:
        return Item(name, True, f"required, pinned to integration {app_id}")
    if found:
        pins = ", ".join("any source" if x is None else str(x) for x in found)
        detail = f"required, but pinned to {pins}: a check of that name from elsewhere counts"
    else:
        detail = f"no active ruleset on {branch} requires a {check!r} check"
    return Item(
        name,
        False,
        detail,
        f'require the status check "{check}" with integration_id {app_id} '
        "(examples/ruleset.json; put the gate App's id in place of the placeholder)",
    )


def own_identity(app_id: int | None) -> Item:
    """Whether the gate posts as an App of its own (else any workflow can imitate it)."""
    name = "the gate posts as a GitHub App of its own"
    if app_id is not None and app_id != GITHUB_ACTIONS_APP_ID:
        return Item(name, True, f"identity.app_id is {app_id}")
    return Item(
        name,
        False,
        "identity.app_id is unset: the gate posts as GitHub Actions (15368), and any workflow "
        "in the repository can post a check run as GitHub Actions too",
        "create the App from examples/gatekeeper-app-manifest.json, set identity.app_id in the "
        "policy on the default branch, and mint its token in the gate job (examples/gate.yml)",
    )


def no_bypass(rulesets: Sequence[Mapping[str, Any]], branch: str) -> Item:
    """Whether nobody can bypass the rulesets on `branch`."""
    name = f"nobody can bypass the rules on {branch}"
    if not rulesets:
        return Item(name, False, f"no ruleset applies to {branch}", "import examples/ruleset.json")
    bypass: list[str] = []
    hidden: list[str] = []
    for rs in rulesets:
        label = f"{rs.get('name')!r} ({rs.get('id')})"
        actors = rs.get("bypass_actors")
        if actors is None:
            hidden.append(label)
        elif actors:
            kinds = ", ".join(
                f"{dig(a, 'actor_type')} {dig(a, 'actor_id') or ''}".strip() for a in actors
            )
            bypass.append(f"{label}: {kinds}")
    if bypass:
        return Item(
            name,
            False,
            "bypass actors in " + "; ".join(bypass),
            "remove every bypass actor from the ruleset (an admin who must merge in an "
            "emergency uses a signed override instead)",
        )
    if hidden:
        return Item(
            name,
            False,
            "GitHub does not show the bypass actors of " + ", ".join(hidden) + " to this token",
            "run doctor with a token of a repository admin",
        )
    return Item(name, True, f"{len(rulesets)} ruleset(s), no bypass actors")


def environment_branches(
    environment: str,
    env: Mapping[str, Any] | None,
    policies: Sequence[Mapping[str, Any]] | None,
    default_branch: str,
) -> Item:
    """Whether `environment` deploys only from `default_branch` (an Item to show)."""
    name = f"environment {environment!r} deploys only from {default_branch}"
    fix = (
        f"create the environment {environment!r} with 'Deployment branches and tags: Selected "
        f"branches' and the single rule {default_branch}, and keep the App's private key there"
    )
    if env is None:
        return Item(name, False, "no such environment", fix)
    dbp = env.get("deployment_branch_policy")
    if not isinstance(dbp, dict):
        return Item(name, False, "every branch may deploy to it (no deployment branch rule)", fix)
    if dbp.get("protected_branches") is True:
        return Item(name, False, "every protected branch may deploy to it", fix)
    names = [(dig(p, "name"), dig(p, "type") or "branch") for p in policies or []]
    if names == [(default_branch, "branch")]:
        return Item(name, True, f"only {default_branch} may deploy")
    shown = ", ".join(f"{t} {n}" for n, t in names) or "none"
    return Item(name, False, f"deployment rules: {shown}", fix)


def workflow_permissions(doc: Mapping[str, Any]) -> Item:
    """Whether the default GITHUB_TOKEN is read-only and cannot approve PRs."""
    name = "the default GITHUB_TOKEN is read-only and cannot approve pull requests"
    perms = doc.get("default_workflow_permissions")
    approve = doc.get("can_approve_pull_request_reviews")
    problems = []
    if perms != "read":
        problems.append(f"default workflow permissions are {perms!r}")
    if approve is not False:
        problems.append("GitHub Actions may approve pull requests")
    if not problems:
        return Item(name, True, "read, and no approvals")
    return Item(
        name,
        False,
        "; ".join(problems),
        "Settings > Actions > General > Workflow permissions: 'Read repository contents and "
        "packages permissions', and untick 'Allow GitHub Actions to create and approve pull "
        "requests'",
    )


def exit_code(items: Sequence[Item], api_errors: int) -> int:
    """0 every item passes, 1 one fails, 2 something could not be read."""
    if api_errors:
        return 2
    return 0 if all(i.ok for i in items) else 1
