"""In-memory GitHub: the data model and the seeding API tests use.

Everything is plain dataclasses; a test may also mutate them directly (that is how the
"malformed state fails loudly" test works). All public ``State`` methods take the state
lock, so seeding while the server answers another thread is safe.

Identity strings: wherever a user is expected you may pass a ``User`` or a login; an
unknown login is created on the fly (type ``Bot`` when it ends in ``[bot]``).
Wherever a repository is expected you may pass a ``Repo``, ``"owner/name"`` or nothing
(the first repository added).
"""

from __future__ import annotations

import base64
import datetime as dt
import difflib
import functools
import hashlib
import io
import itertools
import threading
import zipfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

GITHUB_ACTIONS_BOT_ID = 41898282
GITHUB_ACTIONS_APP_ID = 15368
WEB_FLOW_ID = 19864447

BOT_TOKEN = "ghs_ghserverbottoken0000000000000000"  # GITHUB_TOKEN of github-actions[bot]
USER_TOKEN = "ghp_ghserverusertoken000000000000000"  # a personal token of the default user
DEFAULT_USER = "octocat"

REVIEW_STATES = ("APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING")
ROLES = ("admin", "maintain", "write", "triage", "read", "none")

F = TypeVar("F", bound=Callable[..., Any])


class _SameAsAuthor:
    def __repr__(self) -> str:
        return "SAME_AS_AUTHOR"


SAME_AS_AUTHOR = _SameAsAuthor()


def locked(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(self: State, *args: Any, **kwargs: Any) -> Any:
        with self.lock:
            return fn(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def blob_sha(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class Clock:
    """A fake clock for object timestamps: every ``now()`` returns, then steps forward."""

    def __init__(self, start: str = "2024-05-01T12:00:00Z", step: float = 1.0) -> None:
        self._t = parse_iso(start)
        self.step = dt.timedelta(seconds=step)

    def now(self) -> str:
        out = iso(self._t)
        self._t += self.step
        return out

    def peek(self) -> str:
        return iso(self._t)

    def set(self, when: str) -> None:
        self._t = parse_iso(when)

    def advance(self, seconds: float) -> None:
        self._t += dt.timedelta(seconds=seconds)


# -- model ----------------------------------------------------------------------------


@dataclass(eq=False)
class App:
    id: int
    slug: str
    name: str
    owner: User


@dataclass(eq=False)
class User:
    login: str
    id: int
    type: str = "User"  # "User" | "Bot" | "Organization"
    name: str | None = None
    email: str | None = None  # public profile email
    site_admin: bool = False
    created_at: str = "2020-01-01T00:00:00Z"
    ssh_signing_keys: list[SigningKey] = field(default_factory=list)
    gpg_keys: list[GpgKey] = field(default_factory=list)

    @property
    def noreply_email(self) -> str:
        return f"{self.id}+{self.login}@users.noreply.github.com"

    @property
    def display_name(self) -> str:
        return self.name or self.login


@dataclass(eq=False)
class SigningKey:
    id: int
    key: str
    title: str
    created_at: str


@dataclass(eq=False)
class GpgKey:
    id: int
    key_id: str
    public_key: str
    raw_key: str
    emails: list[str]
    created_at: str
    can_sign: bool = True


@dataclass(eq=False)
class Token:
    value: str
    user: User
    app: App | None = None  # set: an installation token (GITHUB_TOKEN is one)

    @property
    def is_app(self) -> bool:
        return self.app is not None


@dataclass(eq=False)
class GitActor:
    name: str
    email: str
    date: str


@dataclass(eq=False)
class FileChange:
    filename: str
    status: str = "modified"  # added|removed|modified|renamed|copied|changed|unchanged
    additions: int = 1
    deletions: int = 0
    patch: str | None = None
    previous_filename: str | None = None
    sha: str | None = None


@dataclass(eq=False)
class Commit:
    sha: str
    message: str
    author: GitActor
    committer: GitActor
    author_user: User | None  # the GitHub account GitHub linked (None: unknown email)
    committer_user: User | None
    parents: list[str]
    tree_sha: str
    verified: bool = False
    verification_reason: str = "unsigned"
    signature: str | None = None
    files: list[FileChange] = field(default_factory=list)


@dataclass(eq=False)
class Label:
    id: int
    name: str
    color: str = "ededed"
    description: str | None = None
    default: bool = False


@dataclass(eq=False)
class Review:
    id: int
    user: User
    state: str
    body: str
    commit_id: str | None
    submitted_at: str | None
    author_association: str | None = None


@dataclass(eq=False)
class Reaction:
    id: int
    user: User
    content: str
    created_at: str


@dataclass(eq=False)
class Comment:
    id: int
    issue_number: int
    user: User
    body: str
    created_at: str
    updated_at: str
    history: list[str] = field(default_factory=list)  # earlier bodies, oldest first
    reactions: list[Reaction] = field(default_factory=list)
    author_association: str | None = None
    performed_via_github_app: App | None = None


@dataclass(eq=False)
class CommitComment:
    id: int
    commit_id: str
    user: User
    body: str
    created_at: str
    updated_at: str


@dataclass(eq=False)
class Team:
    id: int
    org: str
    slug: str
    name: str
    members: dict[str, tuple[User, str, str]] = field(default_factory=dict)  # login -> role,state
    repo_permission: str = "push"
    description: str | None = None


@dataclass(eq=False)
class Pull:
    repo: Repo
    number: int
    id: int
    user: User
    title: str
    body: str | None
    head_ref: str
    head_sha: str
    head_repo: Repo
    base_ref: str
    base_sha: str
    commits: list[str]
    created_at: str
    updated_at: str
    state: str = "open"
    draft: bool = False
    locked: bool = False
    labels: list[str] = field(default_factory=list)
    files: list[FileChange] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    requested_reviewers: list[User] = field(default_factory=list)
    requested_teams: list[Team] = field(default_factory=list)
    assignees: list[User] = field(default_factory=list)
    closed_at: str | None = None
    merged_at: str | None = None
    merged_by: User | None = None
    merge_commit_sha: str | None = None
    mergeable: bool | None = True
    mergeable_state: str = "clean"
    maintainer_can_modify: bool = False
    author_association: str | None = None
    landed_commits: list[str] = field(default_factory=list)  # merge_pull: its commits on base


@dataclass(eq=False)
class CheckRun:
    id: int
    head_sha: str
    name: str
    status: str
    conclusion: str | None
    started_at: str | None
    completed_at: str | None
    app: App
    check_suite_id: int
    output: dict[str, Any] = field(default_factory=dict)
    annotations: list[dict[str, Any]] = field(default_factory=list)
    details_url: str | None = None
    external_id: str | None = ""
    actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(eq=False)
class Status:
    id: int
    sha: str
    state: str
    context: str
    description: str | None
    target_url: str | None
    creator: User
    created_at: str
    updated_at: str


@dataclass(eq=False)
class Artifact:
    id: int
    name: str
    run_id: int
    data: bytes  # the zip archive
    created_at: str
    expires_at: str
    expired: bool = False
    blob_key: str = ""

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.data).hexdigest()


# -- issue 16: workflow jobs (the legs of a matrix) -----------------------------------


@dataclass(eq=False)
class Job:
    id: int
    run_id: int
    name: str  # GitHub names a matrix leg "<job name> (<matrix values>)"
    status: str  # queued | in_progress | completed | waiting | requested | pending
    conclusion: str | None
    created_at: str
    started_at: str
    completed_at: str | None
    run_attempt: int = 1


# -- end of issue 16 block -------------------------------------------------------------


@dataclass(eq=False)
class WorkflowRun:
    id: int
    name: str
    head_sha: str
    head_branch: str | None
    event: str
    status: str
    conclusion: str | None
    run_number: int
    workflow_id: int
    path: str
    actor: User
    triggering_actor: User
    created_at: str
    updated_at: str
    display_title: str
    head_repo: Repo
    run_attempt: int = 1
    pull_requests: list[Pull] | None = None  # None: computed like GitHub (same-repo PRs)
    artifacts: list[Artifact] = field(default_factory=list)
    jobs: list[Job] = field(default_factory=list)  # issue 16: its jobs (matrix legs)


@dataclass(eq=False)
class Activity:
    """One entry of GET /repos/{o}/{r}/activity: who moved a branch, from what to what."""

    id: int
    ref: str  # refs/heads/BRANCH
    before: str
    after: str
    activity_type: str  # push | force_push | branch_creation | branch_deletion | pr_merge
    actor: User | None
    timestamp: str


@dataclass(eq=False)
class Ruleset:
    id: int
    name: str
    rules: list[dict[str, Any]]  # as GitHub sends them: {"type": ..., "parameters": {...}}
    include: list[str] = field(default_factory=lambda: ["~DEFAULT_BRANCH"])
    exclude: list[str] = field(default_factory=list)
    bypass_actors: list[dict[str, Any]] = field(default_factory=list)
    enforcement: str = "active"
    target: str = "branch"
    created_at: str = "2024-01-01T00:00:00Z"


@dataclass(eq=False)
class Environment:
    id: int
    name: str
    # None: any branch deploys; else {"protected_branches": b, "custom_branch_policies": b}
    deployment_branch_policy: dict[str, bool] | None = None
    branch_policies: list[tuple[int, str, str]] = field(default_factory=list)  # id, name, type
    created_at: str = "2024-01-01T00:00:00Z"


@dataclass(eq=False)
class Repo:
    id: int
    owner: User
    name: str
    private: bool
    default_branch: str
    description: str | None
    created_at: str
    branches: dict[str, str] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)
    trees: dict[str, dict[str, bytes | None]] = field(default_factory=dict)  # sha -> path -> data
    pulls: dict[int, Pull] = field(default_factory=dict)
    comments: dict[int, Comment] = field(default_factory=dict)
    labels: dict[str, Label] = field(default_factory=dict)
    check_runs: dict[int, CheckRun] = field(default_factory=dict)
    statuses: list[Status] = field(default_factory=list)
    permissions: dict[str, str] = field(default_factory=dict)  # login(lower) -> role
    teams: list[Team] = field(default_factory=list)
    workflow_runs: dict[int, WorkflowRun] = field(default_factory=dict)
    artifacts: dict[int, Artifact] = field(default_factory=dict)
    actions_can_approve: bool = False  # "Allow GitHub Actions to ... approve pull requests"
    next_number: int = 1
    # -- pushes, rules, environments, workflow permissions (the setup check, pushers)
    activities: list[Activity] = field(default_factory=list)
    rulesets: dict[int, Ruleset] = field(default_factory=dict)
    environments: dict[str, Environment] = field(default_factory=dict)
    default_workflow_permissions: str = "read"  # "read" | "write"
    commit_comments: dict[int, CommitComment] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner.login}/{self.name}"

    def resolve(self, ref: str) -> str | None:
        """A ref (sha, branch, heads/branch, refs/heads/branch) to a commit sha."""
        for candidate in (ref, ref.removeprefix("refs/").removeprefix("heads/")):
            if candidate in self.branches:
                return self.branches[candidate]
        if ref in self.commits:
            return ref
        if len(ref) >= 7:
            hits = [s for s in self.commits if s.startswith(ref)]
            if len(hits) == 1:
                return hits[0]
        return None

    def first_parent_chain(self, sha: str) -> list[str]:
        chain, seen = [], set()
        cur: str | None = sha
        while cur is not None and cur not in seen and cur in self.commits:
            seen.add(cur)
            chain.append(cur)
            parents = self.commits[cur].parents
            cur = parents[0] if parents else None
        return chain

    def snapshot(self, sha: str) -> dict[str, bytes]:
        """All files visible at a commit: its tree entries over its first parents'."""
        files: dict[str, bytes | None] = {}
        for cur in reversed(self.first_parent_chain(sha)):
            files.update(self.trees.get(cur, {}))
        return {p: d for p, d in files.items() if d is not None}

    def role_of(self, user: User) -> str | None:
        if user is self.owner:
            return "admin"
        role = self.permissions.get(user.login.lower())
        for team in self.teams:
            if (
                user.login.lower() in team.members
                and team.members[user.login.lower()][2] == "active"
            ):
                team_role = {"pull": "read", "push": "write"}.get(
                    team.repo_permission, team.repo_permission
                )
                if role is None or ROLES.index(team_role) < ROLES.index(role):
                    role = team_role
        return role


# -- the state ------------------------------------------------------------------------


class State:
    """The whole fake GitHub. Construct, then seed with the methods below."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.clock = Clock()
        self._ids = itertools.count(1_000_001)
        self._shas = itertools.count(1)
        self.users: dict[str, User] = {}
        self.tokens: dict[str, Token] = {}
        self.repos: dict[str, Repo] = {}
        self.teams: dict[tuple[str, str], Team] = {}
        self.blobs: dict[str, tuple[bytes, str]] = {}  # blob key -> (data, content type)
        # GITHUB_TOKEN cannot call GET /user (403 "Resource not accessible by integration").
        self.app_tokens_can_get_user = False
        github = self.add_user("github", type="Organization", id=9919)
        self.github_actions = App(GITHUB_ACTIONS_APP_ID, "github-actions", "GitHub Actions", github)
        self.bot = self.add_user("github-actions[bot]", type="Bot", id=GITHUB_ACTIONS_BOT_ID)
        self.add_token(BOT_TOKEN, self.bot, app=self.github_actions)
        self.default_user = self.add_user(DEFAULT_USER, id=583231, name="The Octocat")
        self.add_token(USER_TOKEN, self.default_user)

    def next_id(self) -> int:
        return next(self._ids)

    # -- users and tokens -----------------------------------------------------------
    @locked
    def add_user(
        self,
        login: str,
        type: str = "User",
        *,
        id: int | None = None,
        name: str | None = None,
        email: str | None = None,
        site_admin: bool = False,
    ) -> User:
        if login.lower() in self.users:
            raise ValueError(f"user {login!r} exists; use state.user({login!r})")
        user = User(login, id if id is not None else self.next_id(), type, name, email, site_admin)
        self.users[login.lower()] = user
        return user

    @locked
    def user(self, who: User | str) -> User:
        if isinstance(who, User):
            return who
        found = self.users.get(who.lower())
        if found is None:
            found = self.add_user(who, "Bot" if who.endswith("[bot]") else "User")
        return found

    @locked
    def add_token(self, value: str, user: User | str, *, app: App | None = None) -> Token:
        token = Token(value, self.user(user), app)
        self.tokens[value] = token
        return token

    @locked
    def add_app(self, slug: str, *, name: str | None = None, owner: User | str = "github") -> App:
        """A GitHub App; ``add_token(tok, f"{slug}[bot]", app=app)`` gives it a token."""
        return App(self.next_id(), slug, name or slug, self.user(owner))

    @locked
    def add_ssh_signing_key(self, user: User | str, key: str, title: str = "") -> SigningKey:
        k = SigningKey(self.next_id(), key, title or key[:20], self.clock.now())
        self.user(user).ssh_signing_keys.append(k)
        return k

    @locked
    def add_gpg_key(
        self, user: User | str, key_id: str, public_key: str, *, emails: Iterable[str] = ()
    ) -> GpgKey:
        k = GpgKey(self.next_id(), key_id, public_key, public_key, list(emails), self.clock.now())
        self.user(user).gpg_keys.append(k)
        return k

    # -- repositories ---------------------------------------------------------------
    @locked
    def add_repo(
        self,
        full_name: str,
        *,
        private: bool = False,
        default_branch: str = "main",
        description: str | None = None,
        files: Mapping[str, str | bytes] | None = None,
        owner_type: str | None = None,
        actions_can_approve: bool = False,
    ) -> Repo:
        """A repository with one initial commit on ``default_branch`` holding ``files``."""
        owner_login, name = full_name.split("/")
        if owner_login.lower() not in self.users:
            self.add_user(owner_login, owner_type or "Organization")
        owner = self.user(owner_login)
        repo = Repo(
            id=self.next_id(),
            owner=owner,
            name=name,
            private=private,
            default_branch=default_branch,
            description=description,
            created_at=self.clock.now(),
            actions_can_approve=actions_can_approve,
        )
        if full_name.lower() in self.repos:
            raise ValueError(f"repository {full_name} exists")
        self.repos[full_name.lower()] = repo
        author = owner if owner.type == "User" else self.default_user
        root = self.add_commit(repo, message="Initial commit", author=author, contents=files or {})
        repo.branches[default_branch] = root.sha
        return repo

    @locked
    def repo(self, which: Repo | str | None = None) -> Repo:
        if isinstance(which, Repo):
            return which
        if which is None:
            if not self.repos:
                raise LookupError("no repository yet: call state.add_repo('owner/name') first")
            return next(iter(self.repos.values()))
        try:
            return self.repos[which.lower()]
        except KeyError:
            raise LookupError(f"no repository {which!r}") from None

    @locked
    def set_permission(self, user: User | str, role: str, repo: Repo | str | None = None) -> None:
        """Collaborator role: admin, maintain, write, triage, read or none."""
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        self.repo(repo).permissions[self.user(user).login.lower()] = role

    @locked
    def add_team(
        self,
        org: str,
        slug: str,
        *,
        members: Iterable[User | str] = (),
        maintainers: Iterable[User | str] = (),
        pending: Iterable[User | str] = (),
        repos: Iterable[Repo | str] = (),
        repo_permission: str = "push",
        name: str | None = None,
    ) -> Team:
        team = Team(self.next_id(), org, slug, name or slug, repo_permission=repo_permission)
        self.teams[(org.lower(), slug.lower())] = team
        for who in members:
            self.add_team_member(team, who)
        for who in maintainers:
            self.add_team_member(team, who, role="maintainer")
        for who in pending:
            self.add_team_member(team, who, state="pending")
        for r in repos:
            self.repo(r).teams.append(team)
        return team

    @locked
    def add_team_member(
        self, team: Team, user: User | str, *, role: str = "member", state: str = "active"
    ) -> None:
        u = self.user(user)
        team.members[u.login.lower()] = (u, role, state)

    # -- commits and contents -------------------------------------------------------
    def _actor(
        self, who: User | str | None, name: str | None, email: str | None, date: str
    ) -> tuple[GitActor, User | None]:
        if who is None:
            return GitActor(name or "Unknown", email or "unknown@example.com", date), None
        user = self.user(who)
        return GitActor(name or user.display_name, email or user.noreply_email, date), user

    @locked
    def add_commit(
        self,
        repo: Repo | str | None = None,
        *,
        message: str = "Update infrastructure",
        author: User | str | None = DEFAULT_USER,
        author_name: str | None = None,
        author_email: str | None = None,
        committer: User | str | _SameAsAuthor | None = SAME_AS_AUTHOR,
        committer_name: str | None = None,
        committer_email: str | None = None,
        trailers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        parents: Iterable[str] | None = None,
        sha: str | None = None,
        date: str | None = None,
        verified: bool = False,
        contents: Mapping[str, str | bytes | None] | None = None,
        files: Iterable[FileChange | Mapping[str, Any] | str] | None = None,
    ) -> Commit:
        """A commit. ``author=None`` means an email GitHub cannot link to an account.

        ``committer`` defaults to the author. ``trailers`` are appended to the message
        (``{"Co-authored-by": "Claude <noreply@anthropic.com>"}``). ``contents`` sets file
        contents in this commit's tree (``None`` deletes); ``files`` is its diff listing,
        derived from ``contents`` when omitted.
        """
        r = self.repo(repo)
        when = date or self.clock.now()
        a_actor, a_user = self._actor(author, author_name, author_email, when)
        if isinstance(committer, _SameAsAuthor):
            c_actor = GitActor(
                committer_name or a_actor.name, committer_email or a_actor.email, when
            )
            c_user = a_user
        else:
            c_actor, c_user = self._actor(committer, committer_name, committer_email, when)
        items = list(trailers.items()) if isinstance(trailers, Mapping) else list(trailers)
        if items:
            message = message.rstrip("\n") + "\n\n" + "\n".join(f"{k}: {v}" for k, v in items)
        if sha is None:
            sha = hashlib.sha1(f"ghserver:{next(self._shas)}:{message}".encode()).hexdigest()
        parent_list = list(parents) if parents is not None else []
        tree = {p: (d.encode() if isinstance(d, str) else d) for p, d in (contents or {}).items()}
        commit = Commit(
            sha=sha,
            message=message,
            author=a_actor,
            committer=c_actor,
            author_user=a_user,
            committer_user=c_user,
            parents=parent_list,
            tree_sha=hashlib.sha1(f"tree:{sha}".encode()).hexdigest(),
            verified=verified,
            verification_reason="valid" if verified else "unsigned",
        )
        r.commits[sha] = commit
        if tree:
            r.trees[sha] = tree
        if files is not None:
            commit.files = [self._file(f) for f in files]
        elif tree:
            commit.files = self._diff(r, parent_list[0] if parent_list else None, tree)
        return commit

    def _diff(
        self, repo: Repo, base: str | None, tree: Mapping[str, bytes | None]
    ) -> list[FileChange]:
        before = repo.snapshot(base) if base else {}
        out = []
        for path, data in sorted(tree.items()):
            old = before.get(path)
            if data is None:
                if old is not None:
                    out.append(
                        FileChange(path, "removed", 0, old.count(b"\n") or 1, _patch(old, None))
                    )
                continue
            if old == data:
                continue
            patch = _patch(old, data)
            plus = minus = 0
            for line in (patch or "").splitlines():
                if line.startswith("+"):
                    plus += 1
                elif line.startswith("-"):
                    minus += 1
            status = "added" if old is None else "modified"
            out.append(FileChange(path, status, plus, minus, patch, sha=blob_sha(data)))
        return out

    @staticmethod
    def _file(f: FileChange | Mapping[str, Any] | str) -> FileChange:
        if isinstance(f, FileChange):
            return f
        if isinstance(f, str):
            return FileChange(f)
        return FileChange(**f)

    @locked
    def put_content(
        self, ref: str, path: str, data: str | bytes | None, repo: Repo | str | None = None
    ) -> None:
        """Set (or with ``None`` delete) a file in the tree of the commit ``ref`` names.

        Commits inherit their first parent's files, so content put on ``main`` before a
        pull request is created is visible at the PR's head too.
        """
        r = self.repo(repo)
        sha = r.resolve(ref)
        if sha is None:
            raise LookupError(f"{r.full_name}: unknown ref {ref!r}")
        r.trees.setdefault(sha, {})[path] = data.encode() if isinstance(data, str) else data

    @locked
    def get_content(self, ref: str, path: str, repo: Repo | str | None = None) -> bytes | None:
        r = self.repo(repo)
        sha = r.resolve(ref)
        return None if sha is None else r.snapshot(sha).get(path)

    # -- pull requests --------------------------------------------------------------
    def _commit_spec(
        self, repo: Repo, spec: Commit | Mapping[str, Any] | str, parent: str, default_author: User
    ) -> Commit:
        if isinstance(spec, Commit):
            if not spec.parents:
                spec.parents = [parent]
            if spec.sha not in repo.commits:
                repo.commits[spec.sha] = spec
            return spec
        kwargs: dict[str, Any] = {"message": spec} if isinstance(spec, str) else dict(spec)
        kwargs.setdefault("author", default_author)
        kwargs.setdefault("parents", [parent])
        return self.add_commit(repo, **kwargs)

    @locked
    def add_pull(
        self,
        repo: Repo | str | None = None,
        *,
        author: User | str = DEFAULT_USER,
        title: str = "Change infrastructure",
        body: str | None = "",
        number: int | None = None,
        head_ref: str | None = None,
        base_ref: str | None = None,
        commits: Iterable[Commit | Mapping[str, Any] | str] | None = None,
        files: Iterable[FileChange | Mapping[str, Any] | str] | None = None,
        labels: Iterable[str] = (),
        draft: bool = False,
        state: str = "open",
        head_repo: Repo | str | None = None,
        created_at: str | None = None,
        author_association: str | None = None,
        pusher: User | str | None = None,
    ) -> Pull:
        """A pull request from ``head_ref`` into ``base_ref`` (default branch).

        ``commits``: ``Commit`` objects, ``add_commit`` keyword dicts, or messages; parents
        are chained from the base automatically; the last is the head. Default: one commit
        by ``author``. ``files`` defaults to the combined diff of the commits' ``contents``.
        ``head_repo`` (a fork) changes what GitHub reports for check runs and workflow runs.
        """
        r = self.repo(repo)
        user = self.user(author)
        base_ref = base_ref or r.default_branch
        base_sha = r.branches[base_ref]
        num = number if number is not None else r.next_number
        r.next_number = max(r.next_number, num + 1)
        head_ref = head_ref or f"change-{num}"
        specs = list(commits) if commits is not None else [f"Change #{num}"]
        if not specs:
            raise ValueError("a pull request needs at least one commit")
        created = created_at or self.clock.now()
        chain: list[Commit] = []
        parent = base_sha
        for spec in specs:
            c = self._commit_spec(r, spec, parent, user)
            chain.append(c)
            parent = c.sha
        pr = Pull(
            repo=r,
            number=num,
            id=self.next_id(),
            user=user,
            title=title,
            body=body,
            head_ref=head_ref,
            head_sha=chain[-1].sha,
            head_repo=self.repo(head_repo) if head_repo is not None else r,
            base_ref=base_ref,
            base_sha=base_sha,
            commits=[c.sha for c in chain],
            created_at=created,
            updated_at=created,
            state=state,
            draft=draft,
            author_association=author_association,
        )
        r.pulls[num] = pr
        r.branches[head_ref] = pr.head_sha
        self.add_activity(r, head_ref, base_sha, pr.head_sha, "branch_creation", pusher or user)
        for name in labels:
            self.add_label(pr, name)
        pr.files = [self._file(f) for f in files] if files is not None else self._pr_diff(pr)
        if state == "closed":
            pr.closed_at = created
        return pr

    def _pr_diff(self, pr: Pull) -> list[FileChange]:
        repo = pr.repo
        changed: dict[str, bytes | None] = {}
        for sha in pr.commits:
            changed.update(repo.trees.get(sha, {}))
        return self._diff(repo, pr.base_sha, changed) if changed else []

    @locked
    def pull(self, number: int, repo: Repo | str | None = None) -> Pull:
        return self.repo(repo).pulls[number]

    @locked
    def push(
        self,
        pr: Pull,
        *commits: Commit | Mapping[str, Any] | str,
        force: bool = False,
        pusher: User | str | None = None,
    ) -> str:
        """Push commits to the PR's head branch; returns the new head sha.

        ``force=True`` replaces the PR's commits (the new ones start from the base).
        ``pusher``: the account GitHub's activity API names (default: the PR author).
        """
        before = pr.head_sha
        if not commits:
            raise ValueError("push at least one commit")
        parent = pr.base_sha if force else pr.head_sha
        new = []
        for spec in commits:
            c = self._commit_spec(pr.repo, spec, parent, pr.user)
            new.append(c.sha)
            parent = c.sha
        pr.commits = new if force else [*pr.commits, *new]
        pr.head_sha = parent
        pr.repo.branches[pr.head_ref] = parent
        kind = "force_push" if force else "push"
        self.add_activity(pr.repo, pr.head_ref, before, parent, kind, pusher or pr.user)
        pr.updated_at = self.clock.now()
        derived = self._pr_diff(pr)
        if derived:
            pr.files = derived
        return parent

    @locked
    def add_file(self, pr: Pull, filename: str, status: str = "modified", **kw: Any) -> FileChange:
        f = FileChange(filename, status, **kw)
        pr.files.append(f)
        return f

    @locked
    def add_label(self, pr: Pull, name: str, *, color: str = "ededed") -> Label:
        label = pr.repo.labels.get(name.lower())
        if label is None:
            label = Label(self.next_id(), name, color)
            pr.repo.labels[name.lower()] = label
        if name not in pr.labels:
            pr.labels.append(label.name)
        return label

    @locked
    def add_review(
        self,
        pr: Pull,
        user: User | str,
        state: str = "APPROVED",
        *,
        body: str = "",
        commit_id: str | None = None,
        submitted_at: str | None = None,
        author_association: str | None = None,
    ) -> Review:
        """A review; ``commit_id`` defaults to the PR's current head (stale after a push)."""
        if state not in REVIEW_STATES:
            raise ValueError(f"review state must be one of {REVIEW_STATES}")
        review = Review(
            id=self.next_id(),
            user=self.user(user),
            state=state,
            body=body,
            commit_id=commit_id or pr.head_sha,
            submitted_at=None if state == "PENDING" else (submitted_at or self.clock.now()),
            author_association=author_association,
        )
        pr.reviews.append(review)
        return review

    @locked
    def dismiss_review(self, review: Review) -> None:
        review.state = "DISMISSED"

    @locked
    def add_comment(
        self,
        pr: Pull | int,
        user: User | str,
        body: str,
        *,
        created_at: str | None = None,
        updated_at: str | None = None,
        repo: Repo | str | None = None,
        app: App | None = None,
    ) -> Comment:
        """An issue (conversation) comment on a pull request."""
        r = pr.repo if isinstance(pr, Pull) else self.repo(repo)
        number = pr.number if isinstance(pr, Pull) else pr
        created = created_at or self.clock.now()
        comment = Comment(
            id=self.next_id(),
            issue_number=number,
            user=self.user(user),
            body=body,
            created_at=created,
            updated_at=updated_at or created,
            performed_via_github_app=app,
        )
        r.comments[comment.id] = comment
        return comment

    @locked
    def edit_comment(self, comment: Comment, body: str, *, updated_at: str | None = None) -> None:
        comment.history.append(comment.body)
        comment.body = body
        comment.updated_at = updated_at or self.clock.now()

    @locked
    def delete_comment(self, comment: Comment) -> None:
        for r in self.repos.values():
            r.comments.pop(comment.id, None)

    @locked
    def comments(self, pr: Pull) -> list[Comment]:
        return sorted(
            (c for c in pr.repo.comments.values() if c.issue_number == pr.number),
            key=lambda c: c.id,
        )

    # -- checks, statuses -----------------------------------------------------------
    @locked
    def add_check_run(
        self,
        head_sha: str,
        name: str,
        *,
        status: str = "completed",
        conclusion: str | None = "success",
        app: App | None = None,
        output: Mapping[str, Any] | None = None,
        repo: Repo | str | None = None,
    ) -> CheckRun:
        r = self.repo(repo)
        now = self.clock.now()
        run = CheckRun(
            id=self.next_id(),
            head_sha=head_sha,
            name=name,
            status=status,
            conclusion=conclusion if status == "completed" else None,
            started_at=now,
            completed_at=now if status == "completed" else None,
            app=app or self.github_actions,
            check_suite_id=self.next_id(),
            output=dict(output or {}),
        )
        r.check_runs[run.id] = run
        return run

    @locked
    def add_status(
        self,
        sha: str,
        state: str,
        context: str = "default",
        *,
        creator: User | str = DEFAULT_USER,
        description: str | None = None,
        target_url: str | None = None,
        repo: Repo | str | None = None,
    ) -> Status:
        now = self.clock.now()
        st = Status(
            self.next_id(),
            sha,
            state,
            context,
            description,
            target_url,
            self.user(creator),
            now,
            now,
        )
        self.repo(repo).statuses.append(st)
        return st

    # -- actions --------------------------------------------------------------------
    @locked
    def add_workflow_run(
        self,
        head_sha: str,
        *,
        name: str = "plan",
        event: str = "pull_request",
        status: str = "completed",
        conclusion: str | None = "success",
        head_branch: str | None = None,
        actor: User | str | None = None,
        path: str = ".github/workflows/plan.yml",
        pull_requests: Iterable[Pull] | None = None,
        artifacts: Mapping[str, Mapping[str, str | bytes] | bytes] | None = None,
        repo: Repo | str | None = None,
        head_repo: Repo | str | None = None,
        run_attempt: int = 1,
    ) -> WorkflowRun:
        """A workflow run; ``artifacts={"plan": {"plan.json": b"..."}}`` zips each artifact.

        ``pull_requests=None`` lets the server compute them like GitHub does: open PRs of
        the same repository whose head is ``head_sha`` (fork PRs are not listed).
        """
        r = self.repo(repo)
        user = self.user(actor) if actor is not None else self.default_user
        now = self.clock.now()
        if head_branch is None:
            head_branch = next((b for b, s in r.branches.items() if s == head_sha), None)
        commit = r.commits.get(head_sha)
        run = WorkflowRun(
            id=self.next_id(),
            name=name,
            head_sha=head_sha,
            head_branch=head_branch,
            event=event,
            status=status,
            conclusion=conclusion if status == "completed" else None,
            run_number=len(r.workflow_runs) + 1,
            workflow_id=int(hashlib.sha1(path.encode()).hexdigest()[:6], 16),
            path=path,
            actor=user,
            triggering_actor=user,
            created_at=now,
            updated_at=now,
            display_title=commit.message.splitlines()[0] if commit else name,
            head_repo=self.repo(head_repo) if head_repo is not None else _pr_head_repo(r, head_sha),
            run_attempt=run_attempt,
            pull_requests=list(pull_requests) if pull_requests is not None else None,
        )
        r.workflow_runs[run.id] = run
        for art_name, files in (artifacts or {}).items():
            self.add_artifact(run, art_name, files, repo=r)
        return run

    @locked
    def add_artifact(
        self,
        run: WorkflowRun,
        name: str,
        files: Mapping[str, str | bytes] | bytes,
        *,
        expired: bool = False,
        repo: Repo | str | None = None,
    ) -> Artifact:
        """An artifact of ``run``: a {filename: content} mapping (zipped), or raw zip bytes."""
        r = self.repo(repo)
        data = files if isinstance(files, bytes) else make_zip(files)
        created = self.clock.now()
        expires = iso(parse_iso(created) + dt.timedelta(days=90))
        art = Artifact(self.next_id(), name, run.id, data, created, expires, expired)
        art.blob_key = hashlib.sha256(f"{art.id}:{name}".encode()).hexdigest()[:32]
        self.blobs[art.blob_key] = (data, "application/zip")
        run.artifacts.append(art)
        r.artifacts[art.id] = art
        return art

    # -- pushes, rules, environments, workflow permissions --------------------------
    @locked
    def add_activity(
        self,
        repo: Repo | str | None,
        branch: str,
        before: str,
        after: str,
        activity_type: str = "push",
        actor: User | str | None = DEFAULT_USER,
    ) -> Activity:
        """A push (or force push, branch creation) to ``branch`` by ``actor`` (None: a
        deleted account)."""
        a = Activity(
            self.next_id(),
            f"refs/heads/{branch}",
            before,
            after,
            activity_type,
            self.user(actor) if actor is not None else None,
            self.clock.now(),
        )
        self.repo(repo).activities.append(a)
        return a

    @locked
    def add_ruleset(
        self,
        name: str,
        rules: Iterable[Mapping[str, Any]],
        *,
        include: Iterable[str] = ("~DEFAULT_BRANCH",),
        bypass_actors: Iterable[Mapping[str, Any]] = (),
        enforcement: str = "active",
        repo: Repo | str | None = None,
    ) -> Ruleset:
        rs = Ruleset(
            self.next_id(),
            name,
            [dict(r) for r in rules],
            list(include),
            bypass_actors=[dict(b) for b in bypass_actors],
            enforcement=enforcement,
        )
        self.repo(repo).rulesets[rs.id] = rs
        return rs

    @locked
    def add_environment(
        self,
        name: str,
        *,
        deployment_branch_policy: Mapping[str, bool] | None = None,
        branches: Iterable[str] = (),
        repo: Repo | str | None = None,
    ) -> Environment:
        env = Environment(
            self.next_id(),
            name,
            dict(deployment_branch_policy) if deployment_branch_policy is not None else None,
            [(self.next_id(), b, "branch") for b in branches],
        )
        self.repo(repo).environments[name.lower()] = env
        return env

    # -- merges and commit comments (the apply guard, `gatekeeper verify`) -------------
    @locked
    def merge_pull(
        self, pr: Pull, method: str = "merge", *, merged_by: User | str = DEFAULT_USER
    ) -> str:
        """Land ``pr`` on its base branch as GitHub's merge button does; returns the new base
        head. ``merge``: a merge commit (parents: base head, PR head); ``squash``: one new
        commit; ``rebase``: a copy of each PR commit. The commits carry the PR's contents,
        and ``commits/{sha}/pulls`` lists the PR for each of them."""
        if method not in ("merge", "squash", "rebase"):
            raise ValueError("method must be merge, squash or rebase")
        r = pr.repo
        base = r.branches[pr.base_ref]
        user = self.user(merged_by)
        changed: dict[str, bytes | None] = {}
        for sha in pr.commits:
            changed.update(r.trees.get(sha, {}))
        landed: list[str] = []
        if method == "merge":
            c = self.add_commit(
                r,
                message=f"Merge pull request #{pr.number} from {pr.head_ref}",
                author=user,
                parents=[base, pr.head_sha],
                contents=changed,
            )
            landed = [c.sha]
        elif method == "squash":
            c = self.add_commit(
                r,
                message=f"{pr.title} (#{pr.number})",
                author=pr.user,
                parents=[base],
                contents=changed,
            )
            landed = [c.sha]
        else:
            parent = base
            for sha in pr.commits:
                old = r.commits[sha]
                c = self.add_commit(
                    r,
                    message=old.message,
                    author=old.author_user,
                    parents=[parent],
                    contents=dict(r.trees.get(sha, {})),
                )
                landed.append(c.sha)
                parent = c.sha
        r.branches[pr.base_ref] = landed[-1]
        now = self.clock.now()
        pr.state, pr.closed_at, pr.merged_at, pr.merged_by = "closed", now, now, user
        pr.merge_commit_sha = landed[-1]
        pr.landed_commits = landed
        return landed[-1]

    @locked
    def add_commit_comment(
        self, sha: str, user: User | str, body: str, *, repo: Repo | str | None = None
    ) -> CommitComment:
        r = self.repo(repo)
        now = self.clock.now()
        c = CommitComment(self.next_id(), sha, self.user(user), body, now, now)
        r.commit_comments[c.id] = c
        return c

    @locked
    def is_ancestor(self, repo: Repo, ancestor: str, sha: str) -> bool:
        """Whether ``ancestor`` is reachable from ``sha`` over all parents (or equal)."""
        return ancestor in self.reachable(repo, sha)

    @locked
    def reachable(self, repo: Repo, sha: str) -> list[str]:
        out: list[str] = []
        seen: set[str] = set()
        todo = [sha]
        while todo:
            cur = todo.pop(0)
            if cur in seen or cur not in repo.commits:
                continue
            seen.add(cur)
            out.append(cur)
            todo.extend(repo.commits[cur].parents)
        return out

    # -- issue 16: workflow jobs (the legs of a matrix) ----------------------------
    @locked
    def add_job(
        self,
        run: WorkflowRun,
        name: str,
        *,
        status: str = "completed",
        conclusion: str | None = "success",
    ) -> Job:
        """A job of ``run`` (a matrix leg: name it ``"plan (stack-a)"`` as GitHub does)."""
        now = self.clock.now()
        done = status == "completed"
        job = Job(
            id=self.next_id(),
            run_id=run.id,
            name=name,
            status=status,
            conclusion=conclusion if done else None,
            created_at=now,
            started_at=now,
            completed_at=now if done else None,
            run_attempt=run.run_attempt,
        )
        run.jobs.append(job)
        return job

    @locked
    def finish_job(self, run: WorkflowRun, job: Job, conclusion: str = "success") -> None:
        """The job completes; the run completes with it once no job is left running (its
        conclusion: failure if a job failed, cancelled if one was cancelled, else success)."""
        job.status, job.conclusion, job.completed_at = "completed", conclusion, self.clock.now()
        if all(j.status == "completed" for j in run.jobs):
            got = {j.conclusion for j in run.jobs}
            run.status = "completed"
            run.conclusion = next(
                (c for c in ("failure", "cancelled", "timed_out") if c in got), "success"
            )
            run.updated_at = self.clock.now()

    # -- end of issue 16 block ------------------------------------------------------

    # -- a ready-made scene ---------------------------------------------------------
    @locked
    def seed_basic(self, repo: str = "acme/infra") -> Scene:
        """acme/infra with policy on main, and PR #1 by ``alice`` (write) with one commit."""
        r = self.add_repo(repo, files={".gatekeeper.yml": "version: 1\n"})
        alice = self.add_user("alice", name="Alice Operator")
        bob = self.add_user("bob", name="Bob Reviewer")
        self.set_permission(alice, "write", r)
        self.set_permission(bob, "write", r)
        self.set_permission(self.default_user, "admin", r)
        pr = self.add_pull(
            r,
            author=alice,
            title="Recreate the database",
            commits=[{"message": "Replace db", "contents": {"main.tf": 'resource "x" "y" {}\n'}}],
        )
        return Scene(repo=r, pr=pr, author=alice, reviewer=bob)


def _pr_head_repo(repo: Repo, sha: str) -> Repo:
    for pr in repo.pulls.values():
        if pr.head_sha == sha:
            return pr.head_repo
    return repo


def _patch(old: bytes | None, new: bytes | None) -> str | None:
    """A unified-diff hunk body like the ``patch`` field GitHub sends (None for binary)."""
    try:
        a = (old or b"").decode().splitlines()
        b = (new or b"").decode().splitlines()
    except UnicodeDecodeError:
        return None
    lines = list(difflib.unified_diff(a, b, lineterm="", n=3))[2:]
    return "\n".join(lines)


@dataclass
class Scene:
    repo: Repo
    pr: Pull
    author: User
    reviewer: User


def make_zip(files: Mapping[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data.encode() if isinstance(data, str) else data)
    return buf.getvalue()


def b64_lines(data: bytes) -> str:
    """Base64 the way the contents API sends it: wrapped at 60 characters, trailing newline."""
    text = base64.b64encode(data).decode()
    return "".join(text[i : i + 60] + "\n" for i in range(0, len(text), 60))
