"""What the PR-facing renderers need to know about the pull request beyond the plan.

The gate fills this from its authorship/approval/override results; the renderers (markdown
comment, job summary, check run output) read only this, so they stay independent of GitHub.
Strings here are untrusted (logins, branch names, reasons) and must be escaped by renderers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Person:
    login: str
    why: str = ""  # for excluded/stale: the reason; for counted: empty


@dataclass(frozen=True, slots=True)
class PrView:
    repository: str  # owner/name
    pr_number: int
    head_sha: str
    server_url: str = "https://github.com"
    agent_authored: bool = False
    agent_evidence: tuple[str, ...] = ()  # one line each, with its source
    approvals_required: int = 0
    approvals_why: str = ""  # why that many (the policy rule that set it)
    approvals_counted: tuple[Person, ...] = ()
    approvals_excluded: tuple[Person, ...] = ()
    approvals_stale: tuple[Person, ...] = ()
    overrides: tuple[str, ...] = ()  # one line per override comment considered
    sign_command: str | None = None  # exact `gatekeeper sign ...` command, when available
    trust_root_changes: tuple[str, ...] = ()  # gated files (workflows, policy) in an agent PR
    full_report_url: str | None = None  # where the untruncated report is (run summary)
    run_url: str | None = None  # the workflow run that made this report
    # Markdown blocks shown first, above the decision (the tamper notice). Not escaped by the
    # renderer: each must come from a function that builds it with render.markdown_escape.
    notices: tuple[str, ...] = ()
