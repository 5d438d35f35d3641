"""The endpoint implementations, one function per OpenAPI operationId.

A handler gets a ``Ctx`` (state, typed path/query parameters, parsed JSON body, the
token) and returns a ``Reply`` or raises ``ApiError``. The server does routing, auth,
request validation, faults, response validation and logging around it.
"""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .shapes import Shapes
from .state import (
    ROLES,
    Comment,
    Pull,
    Reaction,
    Repo,
    State,
    Status,
    Token,
    User,
    parse_iso,
)

if TYPE_CHECKING:
    from .spec import Operation

PR_COMMITS_CAP = 250  # GitHub: "Lists a maximum of 250 commits for a pull request."
PR_FILES_CAP = 3000  # GitHub: "Responses include a maximum of 3000 files."


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        errors: list[Any] | None = None,
        headers: dict[str, str] | None = None,
        doc: str | None = None,
    ) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.errors = errors
        self.headers = headers or {}
        self.doc = doc

    def body(self, default_doc: str) -> dict[str, Any]:
        out: dict[str, Any] = {
            "message": self.message,
            "documentation_url": self.doc or default_doc,
        }
        if self.errors is not None:
            out["errors"] = self.errors
        out["status"] = str(self.status)
        return out


class NotImplementedOp(Exception):
    """The operation is in the spec, but this test server does not implement it."""


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # JSON-able; bytes are sent raw with content_type
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = None


@dataclass
class Ctx:
    state: State
    shapes: Shapes
    op: Operation
    params: dict[str, Any]
    query: dict[str, Any]
    raw_query: list[tuple[str, str]]
    body: Any
    token: Token
    request_headers: Any
    self_url: str  # absolute URL of this request without query
    options: dict[str, Any]

    @property
    def user(self) -> User:
        return self.token.user

    def not_found(self) -> ApiError:
        return ApiError(404, "Not Found", doc=self.op.doc_url)

    def repo(self) -> Repo:
        r = self.state.repos.get(f"{self.params['owner']}/{self.params['repo']}".lower())
        if r is None:
            raise self.not_found()
        if r.private and not self.token.is_app and r.role_of(self.user) in (None, "none"):
            raise self.not_found()
        return r

    def pull(self, repo: Repo | None = None) -> Pull:
        repo = repo or self.repo()
        number = self.params.get("pull_number", self.params.get("issue_number"))
        pr = repo.pulls.get(number) if number is not None else None
        if pr is None:
            raise self.not_found()
        return pr

    def role(self, repo: Repo) -> str:
        return repo.role_of(self.user) or ("read" if not repo.private else "none")

    def require_write(self, repo: Repo) -> None:
        if self.token.is_app:
            return
        if ROLES.index(self.role(repo)) > ROLES.index("write"):
            raise ApiError(403, "Must have push access to repository", doc=self.op.doc_url)

    def invalid(self, message: str, *, field: str | None = None, code: str = "invalid") -> ApiError:
        err: dict[str, Any] = {"resource": self.op.operation_id.split("/")[0], "code": code}
        if field:
            err["field"] = field
        err["message"] = message
        return ApiError(422, "Validation Failed", errors=[err], doc=self.op.doc_url)

    def paginate(
        self,
        items: list[Any],
        render: Callable[[Any], Any],
        *,
        wrap: Callable[[list[Any], int], Any] | None = None,
    ) -> Reply:
        per_page = self.query.get("per_page", 30)
        per_page = 30 if per_page < 1 else min(per_page, 100)
        page = max(1, self.query.get("page", 1))
        total = len(items)
        last = max(1, math.ceil(total / per_page))
        chunk = [render(x) for x in items[(page - 1) * per_page : page * per_page]]
        body = wrap(chunk, total) if wrap else chunk
        links = []
        if page > 1:
            links.append((min(page - 1, last), "prev"))
        if page < last:
            links += [(page + 1, "next"), (last, "last")]
        if page > 1:
            links.append((1, "first"))
        headers = {}
        if links:
            headers["Link"] = ", ".join(f'<{self.page_url(n)}>; rel="{rel}"' for n, rel in links)
        return Reply(200, body, headers)

    def page_url(self, page: int) -> str:
        pairs = [(k, v) for k, v in self.raw_query if k != "page"] + [("page", str(page))]
        return f"{self.self_url}?{urllib.parse.urlencode(pairs)}"


HANDLERS: dict[str, Callable[[Ctx], Reply]] = {}


def handles(*operation_ids: str) -> Callable[[Callable[[Ctx], Reply]], Callable[[Ctx], Reply]]:
    def register(fn: Callable[[Ctx], Reply]) -> Callable[[Ctx], Reply]:
        for op_id in operation_ids:
            HANDLERS[op_id] = fn
        return fn

    return register


def _body(ctx: Ctx) -> dict[str, Any]:
    return ctx.body if isinstance(ctx.body, dict) else {}


# -- users ----------------------------------------------------------------------------


@handles("users/get-authenticated")
def get_authenticated(ctx: Ctx) -> Reply:
    if ctx.token.is_app and not ctx.state.app_tokens_can_get_user:
        raise ApiError(403, "Resource not accessible by integration", doc=ctx.op.doc_url)
    return Reply(200, ctx.shapes.private_user(ctx.user))


@handles("users/get-by-username")
def get_user(ctx: Ctx) -> Reply:
    u = ctx.state.users.get(ctx.params["username"].lower())
    if u is None:
        raise ctx.not_found()
    return Reply(200, ctx.shapes.public_user(u))


def _known_user(ctx: Ctx) -> User:
    u = ctx.state.users.get(ctx.params["username"].lower())
    if u is None:
        raise ctx.not_found()
    return u


@handles("users/list-ssh-signing-keys-for-user")
def list_ssh_keys(ctx: Ctx) -> Reply:
    u = _known_user(ctx)
    return ctx.paginate(
        u.ssh_signing_keys,
        lambda k: {"key": k.key, "id": k.id, "title": k.title, "created_at": k.created_at},
    )


@handles("users/list-gpg-keys-for-user")
def list_gpg_keys(ctx: Ctx) -> Reply:
    u = _known_user(ctx)

    def render(k: Any) -> dict[str, Any]:
        return {
            "id": k.id,
            "name": None,
            "primary_key_id": None,
            "key_id": k.key_id,
            "public_key": k.public_key,
            "emails": [{"email": e, "verified": True} for e in k.emails],
            "subkeys": [],
            "can_sign": k.can_sign,
            "can_encrypt_comms": False,
            "can_encrypt_storage": False,
            "can_certify": True,
            "created_at": k.created_at,
            "expires_at": None,
            "revoked": False,
            "raw_key": k.raw_key,
        }

    return ctx.paginate(u.gpg_keys, render)


@handles("rate-limit/get")
def rate_limit(ctx: Ctx) -> Reply:
    if ctx.options.get("enterprise"):
        raise ApiError(404, "Rate limiting is not enabled.", doc=ctx.op.doc_url)
    core = ctx.options["rate"](ctx.token)
    small = {"limit": 30, "used": 0, "remaining": 30, "reset": core["reset"]}
    return Reply(200, {"resources": {"core": core, "search": small, "graphql": core}, "rate": core})


# -- repositories, collaborators, teams -----------------------------------------------


@handles("repos/get")
def get_repo(ctx: Ctx) -> Reply:
    r = ctx.repo()
    return Reply(200, ctx.shapes.repo(r, full=True, viewer=None if ctx.token.is_app else ctx.user))


@handles("repos/get-collaborator-permission-level")
def get_permission(ctx: Ctx) -> Reply:
    r = ctx.repo()
    u = _known_user(ctx)
    return Reply(200, ctx.shapes.permission(r, u))


@handles("repos/list-collaborators")
def list_collaborators(ctx: Ctx) -> Reply:
    r = ctx.repo()
    users = [r.owner] if r.owner.type == "User" else []
    users += [ctx.state.users[login] for login in r.permissions if r.permissions[login] != "none"]
    wanted = ctx.query.get("permission")
    legacy = {"pull": "read", "push": "write"}
    if wanted:
        floor = ROLES.index(legacy.get(wanted, wanted))
        users = [u for u in users if ROLES.index(r.role_of(u) or "none") <= floor]
    return ctx.paginate(users, lambda u: ctx.shapes.collaborator(r, u))


@handles("repos/list-teams")
def list_teams(ctx: Ctx) -> Reply:
    r = ctx.repo()
    return ctx.paginate(list(r.teams), ctx.shapes.team)


def _team(ctx: Ctx) -> Any:
    if ctx.token.is_app and not ctx.options.get("app_tokens_can_read_teams", True):
        raise ApiError(403, "Resource not accessible by integration", doc=ctx.op.doc_url)
    team = ctx.state.teams.get((ctx.params["org"].lower(), ctx.params["team_slug"].lower()))
    if team is None:
        raise ctx.not_found()
    return team


def _membership(ctx: Ctx, team: Any, login: str) -> dict[str, Any]:
    _, role, state = team.members[login.lower()]
    return {
        "url": f"{ctx.shapes.api}/organizations/{team.org}/team/{team.id}/memberships/{login}",
        "role": role,
        "state": state,
    }


@handles("teams/get-membership-for-user-in-org")
def get_membership(ctx: Ctx) -> Reply:
    team = _team(ctx)
    login = ctx.params["username"]
    if login.lower() not in team.members:
        raise ctx.not_found()
    return Reply(200, _membership(ctx, team, login))


@handles("teams/add-or-update-membership-for-user-in-org")
def put_membership(ctx: Ctx) -> Reply:
    team = _team(ctx)
    user = _known_user(ctx)
    ctx.state.add_team_member(team, user, role=_body(ctx).get("role", "member"))
    return Reply(200, _membership(ctx, team, user.login))


@handles("teams/remove-membership-for-user-in-org")
def delete_membership(ctx: Ctx) -> Reply:
    team = _team(ctx)
    team.members.pop(ctx.params["username"].lower(), None)
    return Reply(204)


# -- contents and commits -------------------------------------------------------------


@handles("repos/get-content")
def get_content(ctx: Ctx) -> Reply:
    r = ctx.repo()
    ref = ctx.query.get("ref") or r.default_branch
    sha = r.resolve(ref)
    if sha is None:
        raise ApiError(404, f"No commit found for the ref {ref}", doc=ctx.op.doc_url)
    files = r.snapshot(sha)
    path = ctx.params["path"].strip("/")
    accept = ctx.request_headers.get("Accept", "") or ""
    if path in files:
        data = files[path]
        if "raw" in accept:
            return Reply(200, data, content_type="application/vnd.github.raw")
        return Reply(200, ctx.shapes.content_file(r, path, data, ref))
    listing = ctx.shapes.content_dir(r, path, files, ref)
    if listing:
        return Reply(200, listing)
    raise ctx.not_found()


def _commit_or_422(ctx: Ctx, repo: Repo, ref: str) -> Any:
    sha = repo.resolve(ref)
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ref}", doc=ctx.op.doc_url)
    return repo.commits[sha]


@handles("repos/get-commit")
def get_commit(ctx: Ctx) -> Reply:
    r = ctx.repo()
    c = _commit_or_422(ctx, r, ctx.params["ref"])
    return Reply(200, ctx.shapes.commit(r, c, detail=True))


@handles("repos/list-commits")
def list_commits(ctx: Ctx) -> Reply:
    r = ctx.repo()
    start = r.resolve(ctx.query.get("sha") or r.default_branch)
    if start is None:
        raise ApiError(404, "Not Found", doc=ctx.op.doc_url)
    commits = [r.commits[s] for s in r.first_parent_chain(start)]
    who = ctx.query.get("author")
    if who:
        commits = [
            c
            for c in commits
            if (c.author_user and c.author_user.login.lower() == who.lower())
            or c.author.email == who
        ]
    path = ctx.query.get("path")
    if path:
        commits = [c for c in commits if any(f.filename.startswith(path) for f in c.files)]
    if ctx.query.get("since"):
        since = parse_iso(ctx.query["since"])
        commits = [c for c in commits if parse_iso(c.committer.date) >= since]
    if ctx.query.get("until"):
        until = parse_iso(ctx.query["until"])
        commits = [c for c in commits if parse_iso(c.committer.date) <= until]
    return ctx.paginate(commits, lambda c: ctx.shapes.commit(r, c))


@handles("repos/list-pull-requests-associated-with-commit")
def pulls_for_commit(ctx: Ctx) -> Reply:
    r = ctx.repo()
    sha = r.resolve(ctx.params["commit_sha"])
    prs = [
        p
        for p in r.pulls.values()
        if sha is not None
        and (sha in p.commits or p.merge_commit_sha == sha or sha in p.landed_commits)
    ]
    return ctx.paginate(prs, lambda p: ctx.shapes.pull(p, simple=True))


# -- pull requests --------------------------------------------------------------------


@handles("pulls/list")
def list_pulls(ctx: Ctx) -> Reply:
    r = ctx.repo()
    state = ctx.query.get("state", "open")
    prs = [p for p in r.pulls.values() if state == "all" or p.state == state]
    if ctx.query.get("head"):
        owner, _, ref = ctx.query["head"].rpartition(":")
        prs = [
            p
            for p in prs
            if p.head_ref == ref and (not owner or p.head_repo.owner.login.lower() == owner.lower())
        ]
    if ctx.query.get("base"):
        prs = [p for p in prs if p.base_ref == ctx.query["base"]]
    by_updated = ctx.query.get("sort") == "updated"
    desc = ctx.query.get("direction", "desc") == "desc"
    prs.sort(key=lambda p: (p.updated_at if by_updated else p.created_at, p.number), reverse=desc)
    return ctx.paginate(prs, lambda p: ctx.shapes.pull(p, simple=True))


@handles("pulls/create")
def create_pull(ctx: Ctx) -> Reply:
    r = ctx.repo()
    body = _body(ctx)
    head = str(body.get("head", "")).rpartition(":")[2]
    base = body.get("base", "")
    if head not in r.branches:
        raise ctx.invalid(f"head {head!r} does not exist", field="head")
    if base not in r.branches:
        raise ctx.invalid(f"base {base!r} does not exist", field="base")
    if not body.get("title"):
        raise ctx.invalid("title is required", field="title", code="missing_field")
    base_chain = set(r.first_parent_chain(r.branches[base]))
    new = [s for s in r.first_parent_chain(r.branches[head]) if s not in base_chain]
    if not new:
        raise ctx.invalid(f"No commits between {base} and {head}", field="head")
    pr = ctx.state.add_pull(
        r,
        author=ctx.user,
        title=body["title"],
        body=body.get("body"),
        head_ref=head,
        base_ref=base,
        commits=[r.commits[s] for s in reversed(new)],
        draft=bool(body.get("draft", False)),
    )
    return Reply(201, ctx.shapes.pull(pr))


@handles("pulls/get")
def get_pull(ctx: Ctx) -> Reply:
    return Reply(200, ctx.shapes.pull(ctx.pull()))


@handles("pulls/update")
def update_pull(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    body = _body(ctx)
    if pr.user is not ctx.user:
        ctx.require_write(pr.repo)
    for key in ("title", "body", "maintainer_can_modify"):
        if key in body:
            setattr(pr, key, body[key])
    if "base" in body:
        if body["base"] not in pr.repo.branches:
            raise ctx.invalid("Proposed base branch was not found", field="base")
        pr.base_ref = body["base"]
        pr.base_sha = pr.repo.branches[body["base"]]
    if "state" in body and body["state"] != pr.state:
        pr.state = body["state"]
        pr.closed_at = ctx.state.clock.now() if pr.state == "closed" else None
    pr.updated_at = ctx.state.clock.now()
    return Reply(200, ctx.shapes.pull(pr))


@handles("pulls/list-commits")
def list_pr_commits(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    commits = [pr.repo.commits[s] for s in pr.commits[:PR_COMMITS_CAP]]
    return ctx.paginate(commits, lambda c: ctx.shapes.commit(pr.repo, c))


@handles("pulls/list-files")
def list_pr_files(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    return ctx.paginate(
        pr.files[:PR_FILES_CAP], lambda f: ctx.shapes.diff_entry(pr.repo, pr.head_sha, f)
    )


@handles("pulls/list-reviews")
def list_reviews(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    visible = [rv for rv in pr.reviews if rv.state != "PENDING" or rv.user is ctx.user]
    return ctx.paginate(visible, lambda rv: ctx.shapes.review(pr, rv))


@handles("pulls/create-review")
def create_review(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    body = _body(ctx)
    event = body.get("event")
    text = body.get("body", "")
    if event in ("REQUEST_CHANGES", "COMMENT") and not text:
        raise ApiError(
            422,
            "Unprocessable Entity",
            errors=[f"Body is required when using {event}"],
            doc=ctx.op.doc_url,
        )
    if ctx.user is pr.user and event in ("APPROVE", "REQUEST_CHANGES"):
        what = "approve" if event == "APPROVE" else "request changes on"
        raise ApiError(
            422,
            "Unprocessable Entity",
            errors=[f"Can not {what} your own pull request"],
            doc=ctx.op.doc_url,
        )
    if ctx.token.is_app and event == "APPROVE" and not pr.repo.actions_can_approve:
        raise ApiError(
            422,
            "Unprocessable Entity",
            errors=["GitHub Actions is not permitted to approve pull requests."],
            doc=ctx.op.doc_url,
        )
    commit_id = body.get("commit_id") or pr.head_sha
    if commit_id not in pr.repo.commits:
        raise ctx.invalid(f"No commit found for SHA: {commit_id}", field="commit_id")
    state = {
        "APPROVE": "APPROVED",
        "REQUEST_CHANGES": "CHANGES_REQUESTED",
        "COMMENT": "COMMENTED",
    }.get(event or "", "PENDING")
    rv = ctx.state.add_review(pr, ctx.user, state, body=text, commit_id=commit_id)
    return Reply(200, ctx.shapes.review(pr, rv))


@handles("pulls/dismiss-review")
def dismiss_review(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    rv = next((x for x in pr.reviews if x.id == ctx.params["review_id"]), None)
    if rv is None:
        raise ctx.not_found()
    ctx.require_write(pr.repo)
    if rv.state == "PENDING":
        raise ctx.invalid("Can not dismiss a pending pull request review", code="custom")
    if rv.state == "COMMENTED":
        raise ctx.invalid("Can not dismiss a commented pull request review", code="custom")
    rv.state = "DISMISSED"
    return Reply(200, ctx.shapes.review(pr, rv))


@handles("pulls/list-requested-reviewers")
def list_requested(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    return Reply(
        200,
        {
            "users": [ctx.shapes.user(u) for u in pr.requested_reviewers],
            "teams": [ctx.shapes.team(t) for t in pr.requested_teams],
        },
    )


def _teams_by_slug(ctx: Ctx, repo: Repo, slugs: Iterable[str]) -> list[Any]:
    out = []
    for slug in slugs:
        team = ctx.state.teams.get((repo.owner.login.lower(), slug.lower()))
        if team is None:
            raise ctx.invalid(
                f"Could not resolve to a node with the global id of '{slug}'",
                field="team_reviewers",
            )
        out.append(team)
    return out


@handles("pulls/request-reviewers")
def request_reviewers(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    body = _body(ctx)
    for login in body.get("reviewers", []):
        u = ctx.state.users.get(login.lower())
        if u is None or pr.repo.role_of(u) in (None, "none"):
            raise ctx.invalid("Reviews may only be requested from collaborators.", code="custom")
        if u is pr.user:
            raise ctx.invalid("Review cannot be requested from pull request author.", code="custom")
        if u not in pr.requested_reviewers:
            pr.requested_reviewers.append(u)
    for team in _teams_by_slug(ctx, pr.repo, body.get("team_reviewers", [])):
        if team not in pr.requested_teams:
            pr.requested_teams.append(team)
    return Reply(201, ctx.shapes.pull(pr, simple=True))


@handles("pulls/remove-requested-reviewers")
def remove_requested(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    body = _body(ctx)
    drop = {x.lower() for x in body.get("reviewers", [])}
    pr.requested_reviewers = [u for u in pr.requested_reviewers if u.login.lower() not in drop]
    drop_t = {x.lower() for x in body.get("team_reviewers", [])}
    pr.requested_teams = [t for t in pr.requested_teams if t.slug.lower() not in drop_t]
    return Reply(200, ctx.shapes.pull(pr, simple=True))


# -- issues, comments, labels, reactions ----------------------------------------------


@handles("issues/get")
def get_issue(ctx: Ctx) -> Reply:
    return Reply(200, ctx.shapes.issue(ctx.pull()))


def _label_names(items: Any) -> list[str]:
    if isinstance(items, dict):
        items = items.get("labels", [])
    if isinstance(items, str):
        items = [items]
    return [x["name"] if isinstance(x, dict) else str(x) for x in items or []]


@handles("issues/update")
def update_issue(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    body = _body(ctx)
    if pr.user is not ctx.user:
        ctx.require_write(pr.repo)
    if "title" in body and body["title"] is not None:
        pr.title = str(body["title"])
    if "body" in body:
        pr.body = body["body"]
    if "state" in body and body["state"] != pr.state:
        pr.state = body["state"]
        pr.closed_at = ctx.state.clock.now() if pr.state == "closed" else None
    if "labels" in body:
        pr.labels = []
        for name in _label_names(body["labels"]):
            ctx.state.add_label(pr, name)
    pr.updated_at = ctx.state.clock.now()
    return Reply(200, ctx.shapes.issue(pr))


@handles("issues/list-comments")
def list_comments(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    comments = ctx.state.comments(pr)
    if ctx.query.get("since"):
        since = parse_iso(ctx.query["since"])
        comments = [c for c in comments if parse_iso(c.updated_at) >= since]
    return ctx.paginate(comments, lambda c: ctx.shapes.comment(pr.repo, c))


@handles("issues/create-comment")
def create_comment(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    body = _body(ctx)
    if len(body["body"]) > 65536:
        raise ctx.invalid(
            "Body is too long (maximum is 65536 characters)", field="body", code="custom"
        )
    c = ctx.state.add_comment(pr, ctx.user, body["body"])
    return Reply(
        201, ctx.shapes.comment(pr.repo, c), {"Location": ctx.shapes.comment(pr.repo, c)["url"]}
    )


def _comment(ctx: Ctx) -> tuple[Repo, Comment]:
    r = ctx.repo()
    c = r.comments.get(ctx.params["comment_id"])
    if c is None:
        raise ctx.not_found()
    return r, c


def _may_edit(ctx: Ctx, repo: Repo, c: Comment) -> None:
    if c.user is ctx.user or ctx.token.is_app:
        return
    if ROLES.index(ctx.role(repo)) > ROLES.index("write"):
        raise ApiError(403, "Must have admin rights to Repository.", doc=ctx.op.doc_url)


@handles("issues/get-comment")
def get_comment(ctx: Ctx) -> Reply:
    r, c = _comment(ctx)
    return Reply(200, ctx.shapes.comment(r, c))


@handles("issues/update-comment")
def update_comment(ctx: Ctx) -> Reply:
    r, c = _comment(ctx)
    _may_edit(ctx, r, c)
    text = _body(ctx)["body"]
    if len(text) > 65536:
        raise ctx.invalid(
            "Body is too long (maximum is 65536 characters)", field="body", code="custom"
        )
    ctx.state.edit_comment(c, text)
    return Reply(200, ctx.shapes.comment(r, c))


@handles("issues/delete-comment")
def delete_comment(ctx: Ctx) -> Reply:
    r, c = _comment(ctx)
    _may_edit(ctx, r, c)
    ctx.state.delete_comment(c)
    return Reply(204)


@handles("issues/list-labels-on-issue")
def list_labels(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    return ctx.paginate(list(pr.labels), lambda n: ctx.shapes.label(pr.repo, n))


@handles("issues/add-labels", "issues/set-labels")
def add_labels(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    ctx.require_write(pr.repo)
    if ctx.op.operation_id == "issues/set-labels":
        pr.labels = []
    for name in _label_names(ctx.body):
        ctx.state.add_label(pr, name)
    return Reply(200, [ctx.shapes.label(pr.repo, n) for n in pr.labels])


@handles("issues/remove-all-labels")
def remove_labels(ctx: Ctx) -> Reply:
    pr = ctx.pull()
    ctx.require_write(pr.repo)
    pr.labels = []
    return Reply(204)


@handles("reactions/list-for-issue-comment")
def list_reactions(ctx: Ctx) -> Reply:
    _, c = _comment(ctx)
    items = [
        r for r in c.reactions if not ctx.query.get("content") or r.content == ctx.query["content"]
    ]
    return ctx.paginate(items, ctx.shapes.reaction)


@handles("reactions/create-for-issue-comment")
def create_reaction(ctx: Ctx) -> Reply:
    _, c = _comment(ctx)
    content = _body(ctx)["content"]
    for r in c.reactions:
        if r.user is ctx.user and r.content == content:
            return Reply(200, ctx.shapes.reaction(r))
    r = Reaction(ctx.state.next_id(), ctx.user, content, ctx.state.clock.now())
    c.reactions.append(r)
    return Reply(201, ctx.shapes.reaction(r))


# -- statuses and check runs ----------------------------------------------------------


@handles("repos/create-commit-status")
def create_status(ctx: Ctx) -> Reply:
    r = ctx.repo()
    ctx.require_write(r)
    body = _body(ctx)
    sha = r.resolve(ctx.params["sha"])
    if sha is None or sha != ctx.params["sha"]:
        raise ctx.invalid(f"No commit found for SHA: {ctx.params['sha']}", field="sha")
    context = body.get("context") or "default"
    if sum(1 for s in r.statuses if s.sha == sha and s.context == context) >= 1000:
        raise ctx.invalid(
            "This SHA and context has reached the maximum number of statuses.", code="custom"
        )
    st = ctx.state.add_status(
        sha,
        body["state"],
        context,
        creator=ctx.user,
        description=body.get("description"),
        target_url=body.get("target_url"),
        repo=r,
    )
    return Reply(201, ctx.shapes.status(r, st))


@handles("repos/get-combined-status-for-ref")
def combined_status(ctx: Ctx) -> Reply:
    r = ctx.repo()
    sha = r.resolve(ctx.params["ref"])
    if sha is None:
        raise ctx.not_found()
    latest: dict[str, Status] = {}
    for st in sorted((s for s in r.statuses if s.sha == sha), key=lambda s: s.id):
        latest[st.context.lower()] = st
    statuses = sorted(latest.values(), key=lambda s: s.id, reverse=True)
    states = {s.state for s in statuses}
    if states & {"error", "failure"}:
        overall = "failure"
    elif not statuses or "pending" in states:
        overall = "pending"
    else:
        overall = "success"
    reply = ctx.paginate(statuses, lambda s: ctx.shapes.status(r, s, simple=True))
    reply.body = {
        "state": overall,
        "statuses": reply.body,
        "sha": sha,
        "total_count": len(statuses),
        "repository": ctx.shapes.minimal_repo(r),
        "commit_url": f"{ctx.shapes.api}/repos/{r.full_name}/commits/{sha}",
        "url": f"{ctx.shapes.api}/repos/{r.full_name}/commits/{sha}/status",
    }
    return reply


def _apply_check_fields(ctx: Ctx, run: Any, body: dict[str, Any], creating: bool) -> None:
    for key in ("name", "details_url", "external_id", "started_at"):
        if key in body:
            setattr(run, key, body[key])
    if "output" in body:
        out = body["output"]
        for key in ("title", "summary", "text"):
            if key in out:
                run.output[key] = out[key]
        run.annotations.extend(out.get("annotations", []))
    if "actions" in body:
        run.actions = list(body["actions"])
    status = body.get("status")
    conclusion = body.get("conclusion")
    if conclusion is not None:
        status = "completed"
    if status == "completed" and conclusion is None and run.conclusion is None:
        raise ctx.invalid(
            "conclusion is required when status is completed",
            field="conclusion",
            code="missing_field",
        )
    if body.get("completed_at") and conclusion is None and run.conclusion is None:
        raise ctx.invalid(
            "conclusion is required when completed_at is given",
            field="conclusion",
            code="missing_field",
        )
    if status is not None:
        run.status = status
    if conclusion is not None:
        run.conclusion = conclusion
    if run.status == "completed":
        run.completed_at = body.get("completed_at") or run.completed_at or ctx.state.clock.now()
    elif creating:
        run.conclusion = None
    if run.status == "in_progress" and run.started_at is None:
        run.started_at = ctx.state.clock.now()


@handles("checks/create")
def create_check_run(ctx: Ctx) -> Reply:
    r = ctx.repo()
    if not ctx.token.is_app:
        raise ApiError(403, "You must authenticate via a GitHub App.", doc=ctx.op.doc_url)
    body = _body(ctx)
    if body["head_sha"] not in r.commits:
        raise ctx.invalid(f"No commit found for SHA: {body['head_sha']}", field="head_sha")
    run = ctx.state.add_check_run(
        body["head_sha"], body["name"], status="queued", conclusion=None, app=ctx.token.app, repo=r
    )
    run.started_at = body.get("started_at") or run.started_at
    _apply_check_fields(ctx, run, body, creating=True)
    return Reply(201, ctx.shapes.check_run(r, run))


def _check_run(ctx: Ctx) -> tuple[Repo, Any]:
    r = ctx.repo()
    run = r.check_runs.get(ctx.params["check_run_id"])
    if run is None:
        raise ctx.not_found()
    return r, run


@handles("checks/get")
def get_check_run(ctx: Ctx) -> Reply:
    r, run = _check_run(ctx)
    return Reply(200, ctx.shapes.check_run(r, run))


@handles("checks/update")
def update_check_run(ctx: Ctx) -> Reply:
    r, run = _check_run(ctx)
    if ctx.token.app is None:
        raise ApiError(403, "You must authenticate via a GitHub App.", doc=ctx.op.doc_url)
    if ctx.token.app is not run.app:
        raise ApiError(
            403,
            f"Invalid app_id `{ctx.token.app.id}` - check run can only be modified by the "
            "GitHub App that created it.",
            doc=ctx.op.doc_url,
        )
    _apply_check_fields(ctx, run, _body(ctx), creating=False)
    return Reply(200, ctx.shapes.check_run(r, run))


@handles("checks/list-for-ref")
def list_check_runs(ctx: Ctx) -> Reply:
    r = ctx.repo()
    sha = r.resolve(ctx.params["ref"])
    if sha is None:
        raise ApiError(422, f"No commit found for SHA: {ctx.params['ref']}", doc=ctx.op.doc_url)
    runs = sorted(
        (c for c in r.check_runs.values() if c.head_sha == sha), key=lambda c: c.id, reverse=True
    )
    if ctx.query.get("check_name"):
        runs = [c for c in runs if c.name == ctx.query["check_name"]]
    if ctx.query.get("status"):
        runs = [c for c in runs if c.status == ctx.query["status"]]
    if ctx.query.get("app_id"):
        runs = [c for c in runs if c.app.id == ctx.query["app_id"]]
    if ctx.query.get("filter", "latest") == "latest":
        seen: set[tuple[str, int]] = set()
        kept = []
        for c in runs:
            if (c.name, c.app.id) not in seen:
                seen.add((c.name, c.app.id))
                kept.append(c)
        runs = kept
    return ctx.paginate(
        runs,
        lambda c: ctx.shapes.check_run(r, c),
        wrap=lambda page, n: {"total_count": n, "check_runs": page},
    )


# -- actions --------------------------------------------------------------------------


@handles("actions/list-workflow-runs-for-repo")
def list_runs(ctx: Ctx) -> Reply:
    r = ctx.repo()
    runs = sorted(r.workflow_runs.values(), key=lambda w: w.id, reverse=True)
    q = ctx.query
    if q.get("actor"):
        runs = [w for w in runs if w.actor.login.lower() == q["actor"].lower()]
    if q.get("branch"):
        runs = [w for w in runs if w.head_branch == q["branch"]]
    if q.get("event"):
        runs = [w for w in runs if w.event == q["event"]]
    if q.get("status"):
        runs = [w for w in runs if q["status"] in (w.status, w.conclusion)]
    if q.get("head_sha"):
        runs = [w for w in runs if w.head_sha == q["head_sha"]]
    if q.get("check_suite_id"):
        runs = [w for w in runs if w.id + 1 == q["check_suite_id"]]
    exclude = bool(q.get("exclude_pull_requests"))
    return ctx.paginate(
        runs,
        lambda w: ctx.shapes.workflow_run(r, w, exclude_prs=exclude),
        wrap=lambda page, n: {"total_count": n, "workflow_runs": page},
    )


def _run(ctx: Ctx) -> tuple[Repo, Any]:
    r = ctx.repo()
    run = r.workflow_runs.get(ctx.params["run_id"])
    if run is None:
        raise ctx.not_found()
    return r, run


@handles("actions/get-workflow-run")
def get_run(ctx: Ctx) -> Reply:
    r, run = _run(ctx)
    return Reply(
        200,
        ctx.shapes.workflow_run(r, run, exclude_prs=bool(ctx.query.get("exclude_pull_requests"))),
    )


@handles("actions/delete-workflow-run")
def delete_run(ctx: Ctx) -> Reply:
    r, run = _run(ctx)
    ctx.require_write(r)
    del r.workflow_runs[run.id]
    for art in run.artifacts:
        r.artifacts.pop(art.id, None)
    return Reply(204)


def _artifact_list(ctx: Ctx, r: Repo, arts: list[Any]) -> Reply:
    if ctx.query.get("name"):
        arts = [a for a in arts if a.name == ctx.query["name"]]
    arts = sorted(arts, key=lambda a: a.id, reverse=ctx.query.get("direction", "desc") == "desc")
    return ctx.paginate(
        arts,
        lambda a: ctx.shapes.artifact(r, a),
        wrap=lambda page, n: {"total_count": n, "artifacts": page},
    )


@handles("actions/list-workflow-run-artifacts")
def list_run_artifacts(ctx: Ctx) -> Reply:
    r, run = _run(ctx)
    return _artifact_list(ctx, r, list(run.artifacts))


@handles("actions/list-artifacts-for-repo")
def list_repo_artifacts(ctx: Ctx) -> Reply:
    r = ctx.repo()
    return _artifact_list(ctx, r, list(r.artifacts.values()))


def _artifact(ctx: Ctx) -> tuple[Repo, Any]:
    r = ctx.repo()
    art = r.artifacts.get(ctx.params["artifact_id"])
    if art is None:
        raise ctx.not_found()
    return r, art


@handles("actions/get-artifact")
def get_artifact(ctx: Ctx) -> Reply:
    r, art = _artifact(ctx)
    return Reply(200, ctx.shapes.artifact(r, art))


@handles("actions/delete-artifact")
def delete_artifact(ctx: Ctx) -> Reply:
    r, art = _artifact(ctx)
    ctx.require_write(r)
    del r.artifacts[art.id]
    for run in r.workflow_runs.values():
        run.artifacts = [a for a in run.artifacts if a is not art]
    return Reply(204)


@handles("actions/download-artifact")
def download_artifact(ctx: Ctx) -> Reply:
    _, art = _artifact(ctx)
    if ctx.params["archive_format"] != "zip":
        raise ctx.not_found()
    if art.expired:
        raise ApiError(410, "Artifact has expired", doc=ctx.op.doc_url)
    location = f"{ctx.options['blob_url']}/{art.blob_key}?sig=ghserver&se=2099-01-01"
    return Reply(302, None, {"Location": location})


# -- pushes, branch rules, rulesets, environments, workflow permissions, statuses ------
# (the gate's pushers and tamper check, and `gatekeeper doctor`)


def _ref_matches(repo: Repo, branch: str, pattern: str) -> bool:
    import fnmatch

    if pattern == "~ALL":
        return True
    if pattern == "~DEFAULT_BRANCH":
        return branch == repo.default_branch
    return fnmatch.fnmatchcase(f"refs/heads/{branch}", pattern) or fnmatch.fnmatchcase(
        branch, pattern
    )


def _rulesets_for(repo: Repo, branch: str) -> list[Any]:
    out = []
    for rs in repo.rulesets.values():
        if rs.enforcement != "active" or rs.target != "branch":
            continue
        if any(_ref_matches(repo, branch, p) for p in rs.include) and not any(
            _ref_matches(repo, branch, p) for p in rs.exclude
        ):
            out.append(rs)
    return out


@handles("repos/list-activities")
def list_activities(ctx: Ctx) -> Reply:
    r = ctx.repo()
    items = list(reversed(r.activities))  # newest first (direction desc)
    ref = ctx.query.get("ref")
    if ref:
        full = ref if ref.startswith("refs/") else f"refs/heads/{ref}"
        items = [a for a in items if a.ref == full]
    if ctx.query.get("actor"):
        who = ctx.query["actor"].lower()
        items = [a for a in items if a.actor is not None and a.actor.login.lower() == who]
    if ctx.query.get("activity_type"):
        items = [a for a in items if a.activity_type == ctx.query["activity_type"]]
    if ctx.query.get("direction") == "asc":
        items.reverse()
    return ctx.paginate(
        items,
        lambda a: {
            "id": a.id,
            "node_id": f"PUSH_{a.id}",
            "before": a.before,
            "after": a.after,
            "ref": a.ref,
            "timestamp": a.timestamp,
            "activity_type": a.activity_type,
            "actor": ctx.shapes.maybe_user(a.actor),
        },
    )


@handles("repos/get-branch")
def get_branch(ctx: Ctx) -> Reply:
    r = ctx.repo()
    name = ctx.params["branch"]
    sha = r.branches.get(name)
    if sha is None:
        raise ApiError(404, "Branch not found", doc=ctx.op.doc_url)
    base = f"{ctx.shapes.api}/repos/{r.full_name}/branches/{urllib.parse.quote(name, safe='')}"
    protected = bool(_rulesets_for(r, name))
    return Reply(
        200,
        {
            "name": name,
            "commit": ctx.shapes.commit(r, r.commits[sha]),
            "_links": {"self": base, "html": f"{ctx.shapes.html}/{r.full_name}/tree/{name}"},
            "protected": protected,
            "protection": {
                "enabled": protected,
                "required_status_checks": {
                    "enforcement_level": "off",
                    "contexts": [],
                    "checks": [],
                },
            },
            "protection_url": f"{base}/protection",
        },
    )


@handles("repos/get-branch-rules")
def get_branch_rules(ctx: Ctx) -> Reply:
    r = ctx.repo()
    rules = []
    for rs in _rulesets_for(r, ctx.params["branch"]):
        for rule in rs.rules:
            rules.append(
                {
                    **rule,
                    "ruleset_source_type": "Repository",
                    "ruleset_source": r.full_name,
                    "ruleset_id": rs.id,
                }
            )
    return ctx.paginate(rules, lambda x: x)


def _ruleset(ctx: Ctx, r: Repo, rs: Any, *, detail: bool) -> dict[str, Any]:
    admin = ctx.role(r) == "admin"
    out: dict[str, Any] = {
        "id": rs.id,
        "name": rs.name,
        "target": rs.target,
        "source_type": "Repository",
        "source": r.full_name,
        "enforcement": rs.enforcement,
        "node_id": f"RRS_{rs.id}",
        "_links": {
            "self": {"href": f"{ctx.shapes.api}/repos/{r.full_name}/rulesets/{rs.id}"},
            "html": {"href": f"{ctx.shapes.html}/{r.full_name}/rules/{rs.id}"},
        },
        "created_at": rs.created_at,
        "updated_at": rs.created_at,
    }
    if detail:
        out["current_user_can_bypass"] = "always" if admin and rs.bypass_actors else "never"
        out["conditions"] = {"ref_name": {"include": rs.include, "exclude": rs.exclude}}
        out["rules"] = rs.rules
        if admin:  # GitHub shows bypass actors only to those who may edit the ruleset
            out["bypass_actors"] = rs.bypass_actors
    return out


@handles("repos/get-repo-rulesets")
def list_rulesets(ctx: Ctx) -> Reply:
    r = ctx.repo()
    return ctx.paginate(list(r.rulesets.values()), lambda rs: _ruleset(ctx, r, rs, detail=False))


@handles("repos/get-repo-ruleset")
def get_ruleset(ctx: Ctx) -> Reply:
    r = ctx.repo()
    rs = r.rulesets.get(ctx.params["ruleset_id"])
    if rs is None:
        raise ctx.not_found()
    return Reply(200, _ruleset(ctx, r, rs, detail=True))


def _environment(ctx: Ctx, r: Repo, env: Any) -> dict[str, Any]:
    q = urllib.parse.quote(env.name, safe="")
    return {
        "id": env.id,
        "node_id": f"EN_{env.id}",
        "name": env.name,
        "url": f"{ctx.shapes.api}/repos/{r.full_name}/environments/{q}",
        "html_url": (
            f"{ctx.shapes.html}/{r.full_name}/deployments/activity_log?environments_filter={q}"
        ),
        "created_at": env.created_at,
        "updated_at": env.created_at,
        "protection_rules": [],
        "deployment_branch_policy": env.deployment_branch_policy,
    }


@handles("repos/get-all-environments")
def list_environments(ctx: Ctx) -> Reply:
    r = ctx.repo()
    envs = list(r.environments.values())
    return ctx.paginate(
        envs,
        lambda e: _environment(ctx, r, e),
        wrap=lambda page, n: {"total_count": n, "environments": page},
    )


def _env(ctx: Ctx) -> tuple[Repo, Any]:
    r = ctx.repo()
    env = r.environments.get(str(ctx.params["environment_name"]).lower())
    if env is None:
        raise ctx.not_found()
    return r, env


@handles("repos/get-environment")
def get_environment(ctx: Ctx) -> Reply:
    r, env = _env(ctx)
    return Reply(200, _environment(ctx, r, env))


@handles("repos/list-deployment-branch-policies")
def list_branch_policies(ctx: Ctx) -> Reply:
    _, env = _env(ctx)
    return ctx.paginate(
        env.branch_policies,
        lambda p: {"id": p[0], "node_id": f"DBP_{p[0]}", "name": p[1], "type": p[2]},
        wrap=lambda page, n: {"total_count": n, "branch_policies": page},
    )


@handles("actions/get-github-actions-default-workflow-permissions-repository")
def get_workflow_permissions(ctx: Ctx) -> Reply:
    r = ctx.repo()
    return Reply(
        200,
        {
            "default_workflow_permissions": r.default_workflow_permissions,
            "can_approve_pull_request_reviews": r.actions_can_approve,
        },
    )


@handles("repos/list-commit-statuses-for-ref")
def list_statuses(ctx: Ctx) -> Reply:
    r = ctx.repo()
    sha = r.resolve(ctx.params["ref"])
    if sha is None:
        raise ctx.not_found()
    statuses = sorted((s for s in r.statuses if s.sha == sha), key=lambda s: s.id, reverse=True)
    return ctx.paginate(statuses, lambda s: ctx.shapes.status(r, s))


# -- the apply guard (`gatekeeper verify`): compare, commit comments --------------------


@handles("repos/compare-commits-with-basehead")
def compare_commits(ctx: Ctx) -> Reply:
    r = ctx.repo()
    base_ref, sep, head_ref = ctx.params["basehead"].partition("...")
    base, head = r.resolve(base_ref), r.resolve(head_ref) if sep else None
    if base is None or head is None:
        raise ctx.not_found()
    st = ctx.state
    from_head, from_base = st.reachable(r, head), st.reachable(r, base)
    ahead = [s for s in from_head if s not in set(from_base)]
    behind = [s for s in from_base if s not in set(from_head)]
    merge_base = next((s for s in from_head if s in set(from_base)), base)
    status = (
        "identical"
        if base == head
        else "ahead"
        if not behind
        else "behind"
        if not ahead
        else "diverged"
    )
    api = f"{ctx.shapes.api}/repos/{r.full_name}"
    html = f"{ctx.shapes.html}/{r.full_name}"
    body = {
        "url": f"{api}/compare/{base_ref}...{head_ref}",
        "html_url": f"{html}/compare/{base_ref}...{head_ref}",
        "permalink_url": f"{html}/compare/{r.owner.login}:{base}...{r.owner.login}:{head}",
        "diff_url": f"{html}/compare/{base_ref}...{head_ref}.diff",
        "patch_url": f"{html}/compare/{base_ref}...{head_ref}.patch",
        "base_commit": ctx.shapes.commit(r, r.commits[base]),
        "merge_base_commit": ctx.shapes.commit(r, r.commits[merge_base]),
        "status": status,
        "ahead_by": len(ahead),
        "behind_by": len(behind),
        "total_commits": len(ahead),
        "commits": [ctx.shapes.commit(r, r.commits[s]) for s in reversed(ahead[:250])],
    }
    return Reply(200, body)


def _commit_comment(ctx: Ctx, r: Repo, c: Any) -> dict[str, Any]:
    api = f"{ctx.shapes.api}/repos/{r.full_name}"
    return {
        "html_url": f"{ctx.shapes.html}/{r.full_name}/commit/{c.commit_id}#commitcomment-{c.id}",
        "url": f"{api}/comments/{c.id}",
        "id": c.id,
        "node_id": f"CC_{c.id}",
        "body": c.body,
        "path": None,
        "position": None,
        "line": None,
        "commit_id": c.commit_id,
        "user": ctx.shapes.user(c.user),
        "created_at": c.created_at,
        "updated_at": c.updated_at,
        "author_association": ctx.shapes.association(r, c.user, None),
    }


def _commented_commit(ctx: Ctx) -> tuple[Repo, str]:
    r = ctx.repo()
    sha = r.resolve(ctx.params["commit_sha"])
    if sha is None:
        raise ApiError(
            422, f"No commit found for SHA: {ctx.params['commit_sha']}", doc=ctx.op.doc_url
        )
    return r, sha


@handles("repos/list-comments-for-commit")
def list_commit_comments(ctx: Ctx) -> Reply:
    r, sha = _commented_commit(ctx)
    items = sorted(
        (c for c in r.commit_comments.values() if c.commit_id == sha), key=lambda c: c.id
    )
    return ctx.paginate(items, lambda c: _commit_comment(ctx, r, c))


@handles("repos/create-commit-comment")
def create_commit_comment(ctx: Ctx) -> Reply:
    r, sha = _commented_commit(ctx)
    text = _body(ctx)["body"]
    if len(text) > 65536:
        raise ctx.invalid(
            "Body is too long (maximum is 65536 characters)", field="body", code="custom"
        )
    c = ctx.state.add_commit_comment(sha, ctx.user, text, repo=r)
    return Reply(201, _commit_comment(ctx, r, c), {"Location": _commit_comment(ctx, r, c)["url"]})


# -- issue 16: workflow jobs (the legs of a matrix) -----------------------------------


@handles("actions/list-jobs-for-workflow-run")
def list_run_jobs(ctx: Ctx) -> Reply:
    r, run = _run(ctx)
    jobs = list(run.jobs)
    if ctx.query.get("filter", "latest") == "latest":
        # the latest attempt's jobs (GitHub carries over the jobs a re-run did not repeat)
        jobs = [j for j in jobs if j.run_attempt <= run.run_attempt]
        newest: dict[str, Any] = {}
        for j in sorted(jobs, key=lambda j: (j.run_attempt, j.id)):
            newest[j.name] = j
        jobs = list(newest.values())
    jobs.sort(key=lambda j: j.id)
    return ctx.paginate(
        jobs,
        lambda j: ctx.shapes.job(r, run, j),
        wrap=lambda page, n: {"total_count": n, "jobs": page},
    )
