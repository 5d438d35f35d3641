"""Was this pull request written by an AI agent? And who drove it (the operators)?

Agent authorship holds when any piece of evidence does; each piece says where it came from.
Evidence from GitHub account data (the PR author, commit authors and committers linked to
accounts) is authenticated. Evidence from text (Co-authored-by trailers, git names and
emails, the branch name, labels, the PR body) is self-reported: it can only make a PR
agent-authored, never make it human-authored.

The operators are everyone who wrote or pushed the change: the PR author, every commit
author and committer, everyone who pushed to the head branch, and every Co-authored-by
human. None of them is a second person.

A Co-authored-by human is git text: often a corporate email no account is linked to. So
besides its email it is matched by alias: a reviewer whose login equals the trailer's name
or its email's local part (case-insensitive, ignoring everything but letters and digits,
and a `+tag`) is that co-author. An unresolved co-author therefore excludes every reviewer
such a match names, and nobody else; it never counts for anyone.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from gatekeeper import globs
from gatekeeper.policy.model import AgentPolicy
from gatekeeper.pr.facts import Actor, PullRequestFacts, noreply_identity
from gatekeeper.pr.trailers import CoAuthor, co_authors


class EvidenceKind(enum.StrEnum):
    """What a piece of agent evidence is; the value is the report's `kind`."""

    PR_AUTHOR = "pr_author"
    PUSHER = "pusher"
    COMMIT_AUTHOR = "commit_author"
    COMMIT_COMMITTER = "commit_committer"
    GIT_IDENTITY = "git_identity"
    UNSEEN_COMMITS = "unseen_commits"
    CO_AUTHOR = "co_author"
    BRANCH = "branch"
    LABEL = "label"
    BODY_MARKER = "body_marker"


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: EvidenceKind
    source: str  # where it was found, e.g. "commit 1a2b3c4 author"
    text: str  # what was found
    self_reported: bool  # True: text anyone can write; may only make the outcome stricter

    def line(self) -> str:
        tag = " (self-reported)" if self.self_reported else ""
        return f"{self.source}: {self.text}{tag}"


@dataclass(frozen=True, slots=True)
class Operator:
    """One person (or account) who wrote or pushed the change, with every role they had."""

    display: str
    roles: tuple[str, ...]
    id: int | None = None
    login: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class Authorship:
    agent_authored: bool
    evidence: tuple[Evidence, ...]
    operators: tuple[Operator, ...]
    # Lookup tables for `operator_reason`: key -> first role seen.
    _by_id: dict[int, str] = field(default_factory=dict, repr=False, compare=False)
    _by_login: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _by_email: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    _by_alias: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def operator_reason(self, actor: Actor) -> str | None:
        """Why `actor` (a reviewer) is one of the operators, or None.

        Matched by account id first (the reliable key), then by login and email, which
        cover co-authors and commits whose git identity is not linked to an account."""
        if actor.id is not None and actor.id in self._by_id:
            return self._by_id[actor.id]
        if actor.login and actor.login.casefold() in self._by_login:
            return self._by_login[actor.login.casefold()]
        if actor.email and actor.email.casefold() in self._by_email:
            return self._by_email[actor.email.casefold()]
        alias = alias_key(actor.login or "")
        if alias and alias in self._by_alias:
            return self._by_alias[alias]
        return None


def alias_key(text: str) -> str:
    """A name, email local part or login reduced for matching: casefolded, letters and
    digits only (`Olga.Petrova`, `olga-petrova` and `Olga Petrova` are one key)."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def co_author_aliases(name: str, email: str | None) -> tuple[str, ...]:
    """The keys a Co-authored-by human is matched by against reviewers' logins: its name
    and its email's local part (without a `+tag`)."""
    keys = [alias_key(name)]
    if email and "@" in email:
        local = email.rpartition("@")[0].partition("+")[0]
        keys.append(alias_key(local))
    return tuple(dict.fromkeys(k for k in keys if k))


def short_sha(sha: str) -> str:
    return sha[:7]


def agent_kind(actor: Actor, policy: AgentPolicy) -> str | None:
    """What makes this GitHub account an agent, from account data only ("a known agent
    account", "a bot account (type Bot)"), or None. With `bots_are_agents: false` a bot
    that is not listed is not agent evidence (it still never counts as an approver)."""
    login = actor.login or ""
    if login and login.casefold() in {x.casefold() for x in policy.logins}:
        return "a known agent account"
    if not policy.bots_are_agents:
        return None
    if actor.type == "Bot":
        return "a bot account (type Bot)"
    if login.casefold().endswith("[bot]"):
        return "a bot account ([bot] login)"
    return None


def _is_agent_account(actor: Actor, policy: AgentPolicy) -> str | None:
    kind = agent_kind(actor, policy)
    return f"@{actor.login} is {kind}" if kind else None


def _agent_identity_reason(name: str, email: str | None, policy: AgentPolicy) -> str | None:
    """Does a git identity (trailer, git author) name an agent? Matched as `Name <email>`."""
    text = f"{name} <{email}>" if email is not None else name
    glob = globs.first_match(policy.trailers, text, casefold=True)
    if glob:
        return f"{text!r} matches agent pattern {glob!r}"
    nr = noreply_identity(email)
    if nr is not None:
        login = nr[1]
        if login.casefold() in {x.casefold() for x in policy.logins}:
            return f"{text!r} is the noreply address of agent account @{login}"
        if login.casefold().endswith("[bot]") and policy.bots_are_agents:
            return f"{text!r} is the noreply address of bot account @{login}"
    return None


class _Operators:
    def __init__(self) -> None:
        self.order: list[tuple[str, Operator]] = []
        self.by_id: dict[int, str] = {}
        self.by_login: dict[str, str] = {}
        self.by_email: dict[str, str] = {}
        self.by_alias: dict[str, str] = {}
        self._index: dict[str, int] = {}
        # Emails GitHub linked to an account in this PR's commits (a verified email).
        self.linked: dict[str, tuple[int | None, str]] = {}

    def add(
        self,
        role: str,
        *,
        id: int | None = None,
        login: str | None = None,
        email: str | None = None,
        name: str | None = None,
    ) -> None:
        nr = noreply_identity(email)
        if nr is not None:
            id = id if id is not None else nr[0]
            login = login or nr[1]
        if email and (id is None or login is None) and email.casefold() in self.linked:
            lid, llogin = self.linked[email.casefold()]
            id = id if id is not None else lid
            login = login or llogin
        if id is not None:
            self.by_id.setdefault(id, role)
        if login:
            self.by_login.setdefault(login.casefold(), role)
        if email:
            self.by_email.setdefault(email.casefold(), role)
        if id is not None:
            key = f"id:{id}"
        elif login:
            key = f"login:{login.casefold()}"
        else:
            key = f"email:{(email or name or '').casefold()}"
        display = f"@{login}" if login else (f"{name} <{email}>" if email else name or "?")
        if key in self._index:
            i = self._index[key]
            old = self.order[i][1]
            if role not in old.roles:
                self.order[i] = (
                    key,
                    Operator(old.display, (*old.roles, role), old.id, old.login, old.email),
                )
            return
        self._index[key] = len(self.order)
        self.order.append((key, Operator(display, (role,), id, login, email)))


def assess(facts: PullRequestFacts, policy: AgentPolicy) -> Authorship:
    """Agent evidence and operators of a pull request."""
    evidence: list[Evidence] = []
    ops = _Operators()

    # Emails GitHub linked to accounts: the same email in a trailer names that account.
    for c in facts.commits:
        for a in (c.author, c.committer):
            if a.email and a.login and not a.is_web_flow:
                ops.linked.setdefault(a.email.casefold(), (a.id, a.login))

    # 1. The PR author (authenticated).
    why = _is_agent_account(facts.author, policy)
    if why:
        evidence.append(Evidence(EvidenceKind.PR_AUTHOR, "PR author", why, self_reported=False))
    ops.add("opened the PR", id=facts.author.id, login=facts.author.login)

    # 1b. Everyone who pushed to the head branch (authenticated: GitHub's activity API). An
    # agent holding a colleague's token pushes as that colleague: the colleague is an operator.
    for p in facts.pushers:
        why = _is_agent_account(p, policy) if p.login else None
        if why:
            evidence.append(Evidence(EvidenceKind.PUSHER, "pushed to the head branch", why, False))
        ops.add("pushed to the head branch", id=p.id, login=p.login)

    # 2. Every commit author and committer, and their trailers.
    for c in facts.commits:
        sha = short_sha(c.sha)
        same = c.committer == c.author
        for role, actor in (("author", c.author), ("committer", c.committer)):
            if actor.is_web_flow:
                continue  # GitHub's web committer: neither a person nor an agent
            if role == "committer" and same:
                ops.add(
                    f"committed commit {sha}",
                    id=actor.id,
                    login=actor.login,
                    email=actor.email,
                    name=actor.name,
                )
                continue  # one identity, one piece of evidence
            why = _is_agent_account(actor, policy) if actor.login else None
            if why:
                evidence.append(
                    Evidence(EvidenceKind(f"commit_{role}"), f"commit {sha} {role}", why, False)
                )
            elif actor.email or actor.name:
                # git text (self-reported): names an agent even when the commit is linked
                # to a human account, e.g. an agent committing with its operator's token.
                why = _agent_identity_reason(actor.name or "", actor.email, policy)
                if why:
                    evidence.append(
                        Evidence(EvidenceKind.GIT_IDENTITY, f"commit {sha} {role}", why, True)
                    )
            verb = "authored" if role == "author" else "committed"
            ops.add(
                f"{verb} commit {sha}",
                id=actor.id,
                login=actor.login,
                email=actor.email,
                name=actor.name,
            )
        for ca in co_authors(c.message):
            _co_author(ca, sha, policy, evidence, ops)

    if facts.commits_truncated:
        # Fail closed: the unseen commits may have been written by an agent.
        evidence.append(
            Evidence(
                EvidenceKind.UNSEEN_COMMITS,
                "commit list",
                f"the PR has {facts.commits_count} commits but GitHub lists only "
                f"{len(facts.commits)}: the rest are unseen, so it is treated as agent-authored",
                False,
            )
        )

    # 3. Self-reported signals on the PR itself.
    head = facts.head_ref
    prefix = next(
        (p for p in policy.branch_prefixes if head.casefold().startswith(p.casefold())), None
    )
    if prefix:
        evidence.append(
            Evidence(
                EvidenceKind.BRANCH,
                "head branch",
                f"{head!r} starts with agent prefix {prefix!r}",
                True,
            )
        )
    agent_labels = {x.casefold() for x in policy.labels}
    for label in facts.labels:
        if label.casefold() in agent_labels:
            evidence.append(
                Evidence(EvidenceKind.LABEL, "PR label", f"{label!r} marks an agent PR", True)
            )
    body = facts.body.casefold()
    for marker in policy.body_markers:
        if marker and marker.casefold() in body:
            evidence.append(
                Evidence(EvidenceKind.BODY_MARKER, "PR body", f"contains {marker!r}", True)
            )

    return Authorship(
        agent_authored=bool(evidence),
        evidence=tuple(evidence),
        operators=tuple(op for _, op in ops.order),
        _by_id=ops.by_id,
        _by_login=ops.by_login,
        _by_email=ops.by_email,
        _by_alias=ops.by_alias,
    )


def _co_author(
    ca: CoAuthor, sha: str, policy: AgentPolicy, evidence: list[Evidence], ops: _Operators
) -> None:
    why = _agent_identity_reason(ca.name, ca.email, policy)
    if why:
        evidence.append(
            Evidence(EvidenceKind.CO_AUTHOR, f"Co-authored-by in commit {sha}", why, True)
        )
        return
    # A human co-author: the operator who drove the agent (or a pair). Never a second person.
    role = f"co-authored commit {sha} (Co-authored-by)"
    ops.add(role, email=ca.email, name=ca.name)
    for key in co_author_aliases(ca.name, ca.email):
        ops.by_alias.setdefault(key, f"{role}: its name or email matches the login")
