"""State objects rendered as the JSON GitHub sends (full shapes, URLs on this server).

Field lists follow the spec's examples and the webhook payloads in
tests/data/webhooks; every builder's output is validated against the operation's
response schema by the server (strict mode).
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

from .state import (
    App,
    Artifact,
    CheckRun,
    Comment,
    Commit,
    FileChange,
    Job,
    Label,
    Pull,
    Repo,
    Review,
    State,
    Status,
    Team,
    User,
    WorkflowRun,
    b64_lines,
    blob_sha,
)

LEGACY_ROLE = {
    "admin": "admin",
    "maintain": "write",
    "write": "write",
    "triage": "read",
    "read": "read",
}
REPO_URL_TEMPLATES = {
    "archive_url": "/{archive_format}{/ref}",
    "assignees_url": "/assignees{/user}",
    "blobs_url": "/git/blobs{/sha}",
    "branches_url": "/branches{/branch}",
    "collaborators_url": "/collaborators{/collaborator}",
    "comments_url": "/comments{/number}",
    "commits_url": "/commits{/sha}",
    "compare_url": "/compare/{base}...{head}",
    "contents_url": "/contents/{+path}",
    "contributors_url": "/contributors",
    "deployments_url": "/deployments",
    "downloads_url": "/downloads",
    "events_url": "/events",
    "forks_url": "/forks",
    "git_commits_url": "/git/commits{/sha}",
    "git_refs_url": "/git/refs{/sha}",
    "git_tags_url": "/git/tags{/sha}",
    "hooks_url": "/hooks",
    "issue_comment_url": "/issues/comments{/number}",
    "issue_events_url": "/issues/events{/number}",
    "issues_url": "/issues{/number}",
    "keys_url": "/keys{/key_id}",
    "labels_url": "/labels{/name}",
    "languages_url": "/languages",
    "merges_url": "/merges",
    "milestones_url": "/milestones{/number}",
    "notifications_url": "/notifications{?since,all,participating}",
    "pulls_url": "/pulls{/number}",
    "releases_url": "/releases{/id}",
    "stargazers_url": "/stargazers",
    "statuses_url": "/statuses/{sha}",
    "subscribers_url": "/subscribers",
    "subscription_url": "/subscription",
    "tags_url": "/tags",
    "teams_url": "/teams",
    "trees_url": "/git/trees{/sha}",
}


def node_id(kind: str, ident: int | str) -> str:
    return base64.b64encode(f"{len(kind):02d}:{kind}{ident}".encode()).decode()


class Shapes:
    def __init__(self, state: State, api: str, html: str) -> None:
        self.state = state
        self.api = api  # e.g. http://127.0.0.1:PORT or http://127.0.0.1:PORT/api/v3
        self.html = html  # e.g. https://github.com

    # -- users ----------------------------------------------------------------------
    def user(self, u: User) -> dict[str, Any]:
        login_q = urllib.parse.quote(u.login)
        base = f"{self.api}/users/{login_q}"
        html = (
            f"{self.html}/apps/{u.login.removesuffix('[bot]')}"
            if u.type == "Bot"
            else f"{self.html}/{u.login}"
        )
        return {
            "login": u.login,
            "id": u.id,
            "node_id": node_id(u.type if u.type != "Organization" else "Organization", u.id),
            "avatar_url": f"https://avatars.githubusercontent.com/u/{u.id}?v=4",
            "gravatar_id": "",
            "url": base,
            "html_url": html,
            "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "type": u.type,
            "user_view_type": "public",
            "site_admin": u.site_admin,
        }

    def maybe_user(self, u: User | None) -> dict[str, Any] | None:
        return None if u is None else self.user(u)

    def public_user(self, u: User) -> dict[str, Any]:
        return {
            **self.user(u),
            "name": u.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": u.email,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": sum(
                1 for r in self.state.repos.values() if r.owner is u and not r.private
            ),
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": u.created_at,
            "updated_at": u.created_at,
        }

    def private_user(self, u: User) -> dict[str, Any]:
        return {
            **self.public_user(u),
            "notification_email": u.email,
            "private_gists": 0,
            "total_private_repos": 0,
            "owned_private_repos": 0,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": True,
            "plan": {
                "name": "free",
                "space": 976562499,
                "collaborators": 0,
                "private_repos": 10000,
            },
        }

    def collaborator(self, repo: Repo, u: User) -> dict[str, Any]:
        role = repo.role_of(u) or ("read" if not repo.private else "none")
        rank = ["none", "read", "triage", "write", "maintain", "admin"].index(role)
        return {
            **self.user(u),
            "permissions": {
                "pull": rank >= 1,
                "triage": rank >= 2,
                "push": rank >= 3,
                "maintain": rank >= 4,
                "admin": rank >= 5,
            },
            "role_name": role,
        }

    def permission(self, repo: Repo, u: User) -> dict[str, Any]:
        role = repo.role_of(u) or ("read" if not repo.private else "none")
        return {
            "permission": LEGACY_ROLE.get(role, "none"),
            "role_name": role,
            "user": self.collaborator(repo, u),
        }

    def app(self, a: App) -> dict[str, Any]:
        return {
            "id": a.id,
            "slug": a.slug,
            "node_id": node_id("App", a.id),
            "client_id": f"Iv1.{a.id:016x}",
            "owner": self.user(a.owner),
            "name": a.name,
            "description": "Automate your workflow from idea to production",
            "external_url": "https://help.github.com/en/actions",
            "html_url": f"{self.html}/apps/{a.slug}",
            "created_at": "2018-07-30T09:30:17Z",
            "updated_at": "2024-04-10T20:33:16Z",
            "permissions": {
                "actions": "write",
                "checks": "write",
                "contents": "write",
                "issues": "write",
                "metadata": "read",
                "pull_requests": "write",
                "statuses": "write",
            },
            "events": ["check_run", "check_suite", "pull_request", "push"],
        }

    # -- repositories ---------------------------------------------------------------
    def repo(self, r: Repo, *, full: bool = False, viewer: User | None = None) -> dict[str, Any]:
        api = f"{self.api}/repos/{r.full_name}"
        html = f"{self.html}/{r.full_name}"
        host = urllib.parse.urlsplit(self.html).netloc
        out: dict[str, Any] = {
            "id": r.id,
            "node_id": node_id("Repository", r.id),
            "name": r.name,
            "full_name": r.full_name,
            "private": r.private,
            "owner": self.user(r.owner),
            "html_url": html,
            "description": r.description,
            "fork": False,
            "url": api,
            **{k: api + v for k, v in REPO_URL_TEMPLATES.items()},
            "created_at": r.created_at,
            "updated_at": r.created_at,
            "pushed_at": r.created_at,
            "git_url": f"git://{host}/{r.full_name}.git",
            "ssh_url": f"git@{host}:{r.full_name}.git",
            "clone_url": f"{html}.git",
            "svn_url": html,
            "homepage": None,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": "HCL",
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "has_discussions": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": sum(1 for p in r.pulls.values() if p.state == "open"),
            "license": None,
            "allow_forking": True,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if r.private else "public",
            "forks": 0,
            "open_issues": sum(1 for p in r.pulls.values() if p.state == "open"),
            "watchers": 0,
            "default_branch": r.default_branch,
        }
        if viewer is not None:
            perms = self.collaborator(r, viewer)["permissions"]
            out["permissions"] = perms
        if full:
            out.update(
                {
                    "allow_squash_merge": True,
                    "allow_merge_commit": True,
                    "allow_rebase_merge": True,
                    "allow_auto_merge": False,
                    "delete_branch_on_merge": False,
                    "allow_update_branch": False,
                    "use_squash_pr_title_as_default": False,
                    "squash_merge_commit_message": "COMMIT_MESSAGES",
                    "squash_merge_commit_title": "COMMIT_OR_PR_TITLE",
                    "merge_commit_message": "PR_TITLE",
                    "merge_commit_title": "MERGE_MESSAGE",
                    "network_count": 0,
                    "subscribers_count": 0,
                }
            )
            if r.owner.type == "Organization":
                out["organization"] = self.user(r.owner)
        return out

    # -- pull requests --------------------------------------------------------------
    def association(self, repo: Repo, u: User, override: str | None = None) -> str:
        if override:
            return override
        if u is repo.owner:
            return "OWNER"
        if any(
            t.members.get(u.login.lower(), (None, None, None))[2] == "active"
            for t in self.state.teams.values()
            if t.org.lower() == repo.owner.login.lower()
        ):
            return "MEMBER"  # an active member of the owning organization (a pending one: not)
        if repo.role_of(u) not in (None, "none"):
            return "COLLABORATOR"
        if any(c.author_user is u for c in repo.commits.values()):
            return "CONTRIBUTOR"
        return "NONE"

    def label(self, repo: Repo, name: str) -> dict[str, Any]:
        lab = repo.labels.get(name.lower()) or Label(0, name)
        return {
            "id": lab.id,
            "node_id": node_id("Label", lab.id),
            "url": f"{self.api}/repos/{repo.full_name}/labels/{urllib.parse.quote(lab.name)}",
            "name": lab.name,
            "color": lab.color,
            "default": lab.default,
            "description": lab.description,
        }

    def team(self, t: Team, *, simple: bool = False) -> dict[str, Any]:
        out = {
            "id": t.id,
            "node_id": node_id("Team", t.id),
            "url": f"{self.api}/organizations/{t.org}/team/{t.id}",
            "html_url": f"{self.html}/orgs/{t.org}/teams/{t.slug}",
            "name": t.name,
            "slug": t.slug,
            "description": t.description,
            "privacy": "closed",
            "notification_setting": "notifications_enabled",
            "permission": t.repo_permission,
            "members_url": f"{self.api}/organizations/{t.org}/team/{t.id}/members{{/member}}",
            "repositories_url": f"{self.api}/organizations/{t.org}/team/{t.id}/repos",
            "type": "organization",
        }
        if not simple:
            out["parent"] = None
        return out

    def _pr_urls(self, pr: Pull) -> dict[str, str]:
        api = f"{self.api}/repos/{pr.repo.full_name}"
        html = f"{self.html}/{pr.repo.full_name}/pull/{pr.number}"
        return {
            "url": f"{api}/pulls/{pr.number}",
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": f"{api}/issues/{pr.number}",
            "commits_url": f"{api}/pulls/{pr.number}/commits",
            "review_comments_url": f"{api}/pulls/{pr.number}/comments",
            "review_comment_url": f"{api}/pulls/comments{{/number}}",
            "comments_url": f"{api}/issues/{pr.number}/comments",
            "statuses_url": f"{api}/statuses/{pr.head_sha}",
        }

    def _branch(self, repo: Repo, ref: str, sha: str) -> dict[str, Any]:
        return {
            "label": f"{repo.owner.login}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(repo.owner),
            "repo": self.repo(repo),
        }

    def pull(self, pr: Pull, *, simple: bool = False) -> dict[str, Any]:
        urls = self._pr_urls(pr)
        out: dict[str, Any] = {
            **{k: urls[k] for k in ("url",)},
            "id": pr.id,
            "node_id": node_id("PullRequest", pr.id),
            **{k: v for k, v in urls.items() if k != "url"},
            "number": pr.number,
            "state": pr.state,
            "locked": pr.locked,
            "title": pr.title,
            "user": self.user(pr.user),
            "body": pr.body,
            "created_at": pr.created_at,
            "updated_at": pr.updated_at,
            "closed_at": pr.closed_at,
            "merged_at": pr.merged_at,
            "merge_commit_sha": pr.merge_commit_sha,
            "assignee": self.maybe_user(pr.assignees[0] if pr.assignees else None),
            "assignees": [self.user(u) for u in pr.assignees],
            "requested_reviewers": [self.user(u) for u in pr.requested_reviewers],
            "requested_teams": [self.team(t, simple=True) for t in pr.requested_teams],
            "labels": [self.label(pr.repo, n) for n in pr.labels],
            "milestone": None,
            "draft": pr.draft,
            "head": self._branch(pr.head_repo, pr.head_ref, pr.head_sha),
            "base": self._branch(pr.repo, pr.base_ref, pr.base_sha),
            "_links": {
                "self": {"href": urls["url"]},
                "html": {"href": urls["html_url"]},
                "issue": {"href": urls["issue_url"]},
                "comments": {"href": urls["comments_url"]},
                "review_comments": {"href": urls["review_comments_url"]},
                "review_comment": {"href": urls["review_comment_url"]},
                "commits": {"href": urls["commits_url"]},
                "statuses": {"href": urls["statuses_url"]},
            },
            "author_association": self.association(pr.repo, pr.user, pr.author_association),
            "auto_merge": None,
            "active_lock_reason": None,
        }
        if simple:
            return out
        out.update(
            {
                "merged": pr.merged_at is not None,
                "mergeable": pr.mergeable,
                "rebaseable": pr.mergeable,
                "mergeable_state": pr.mergeable_state,
                "merged_by": self.maybe_user(pr.merged_by),
                "comments": sum(
                    1 for c in pr.repo.comments.values() if c.issue_number == pr.number
                ),
                "review_comments": 0,
                "maintainer_can_modify": pr.maintainer_can_modify,
                "commits": len(pr.commits),
                "additions": sum(f.additions for f in pr.files),
                "deletions": sum(f.deletions for f in pr.files),
                "changed_files": len(pr.files),
            }
        )
        return out

    def pull_minimal(self, pr: Pull) -> dict[str, Any]:
        def side(repo: Repo, ref: str, sha: str) -> dict[str, Any]:
            return {
                "ref": ref,
                "sha": sha,
                "repo": {
                    "id": repo.id,
                    "url": f"{self.api}/repos/{repo.full_name}",
                    "name": repo.name,
                },
            }

        return {
            "url": f"{self.api}/repos/{pr.repo.full_name}/pulls/{pr.number}",
            "id": pr.id,
            "number": pr.number,
            "head": side(pr.head_repo, pr.head_ref, pr.head_sha),
            "base": side(pr.repo, pr.base_ref, pr.base_sha),
        }

    def issue(self, pr: Pull) -> dict[str, Any]:
        api = f"{self.api}/repos/{pr.repo.full_name}"
        urls = self._pr_urls(pr)
        return {
            "url": f"{api}/issues/{pr.number}",
            "repository_url": api,
            "labels_url": f"{api}/issues/{pr.number}/labels{{/name}}",
            "comments_url": urls["comments_url"],
            "events_url": f"{api}/issues/{pr.number}/events",
            "html_url": urls["html_url"],
            "id": pr.id + 1,
            "node_id": node_id("Issue", pr.id + 1),
            "number": pr.number,
            "title": pr.title,
            "user": self.user(pr.user),
            "labels": [self.label(pr.repo, n) for n in pr.labels],
            "state": pr.state,
            "locked": pr.locked,
            "assignee": self.maybe_user(pr.assignees[0] if pr.assignees else None),
            "assignees": [self.user(u) for u in pr.assignees],
            "milestone": None,
            "comments": sum(1 for c in pr.repo.comments.values() if c.issue_number == pr.number),
            "created_at": pr.created_at,
            "updated_at": pr.updated_at,
            "closed_at": pr.closed_at,
            "author_association": self.association(pr.repo, pr.user, pr.author_association),
            "active_lock_reason": None,
            "draft": pr.draft,
            "pull_request": {
                "url": urls["url"],
                "html_url": urls["html_url"],
                "diff_url": urls["diff_url"],
                "patch_url": urls["patch_url"],
                "merged_at": pr.merged_at,
            },
            "body": pr.body,
            "closed_by": None,
            "timeline_url": f"{api}/issues/{pr.number}/timeline",
            "performed_via_github_app": None,
            "state_reason": None,
        }

    # -- commits, files, contents ---------------------------------------------------
    def commit(self, repo: Repo, c: Commit, *, detail: bool = False) -> dict[str, Any]:
        api = f"{self.api}/repos/{repo.full_name}"
        out: dict[str, Any] = {
            "sha": c.sha,
            "node_id": node_id("Commit", c.sha),
            "commit": {
                "author": {"name": c.author.name, "email": c.author.email, "date": c.author.date},
                "committer": {
                    "name": c.committer.name,
                    "email": c.committer.email,
                    "date": c.committer.date,
                },
                "message": c.message,
                "tree": {"sha": c.tree_sha, "url": f"{api}/git/trees/{c.tree_sha}"},
                "url": f"{api}/git/commits/{c.sha}",
                "comment_count": 0,
                "verification": {
                    "verified": c.verified,
                    "reason": c.verification_reason,
                    "signature": c.signature,
                    "payload": None,
                    "verified_at": c.committer.date if c.verified else None,
                },
            },
            "url": f"{api}/commits/{c.sha}",
            "html_url": f"{self.html}/{repo.full_name}/commit/{c.sha}",
            "comments_url": f"{api}/commits/{c.sha}/comments",
            "author": self.maybe_user(c.author_user),
            "committer": self.maybe_user(c.committer_user),
            "parents": [
                {
                    "sha": p,
                    "url": f"{api}/commits/{p}",
                    "html_url": f"{self.html}/{repo.full_name}/commit/{p}",
                }
                for p in c.parents
            ],
        }
        if detail:
            adds = sum(f.additions for f in c.files)
            dels = sum(f.deletions for f in c.files)
            out["stats"] = {"total": adds + dels, "additions": adds, "deletions": dels}
            out["files"] = [self.diff_entry(repo, c.sha, f) for f in c.files]
        return out

    def diff_entry(self, repo: Repo, sha: str, f: FileChange) -> dict[str, Any]:
        q = urllib.parse.quote(f.filename)
        out: dict[str, Any] = {
            "sha": f.sha or blob_sha(f.filename.encode() + sha.encode()),
            "filename": f.filename,
            "status": f.status,
            "additions": f.additions,
            "deletions": f.deletions,
            "changes": f.additions + f.deletions,
            "blob_url": f"{self.html}/{repo.full_name}/blob/{sha}/{q}",
            "raw_url": f"{self.html}/{repo.full_name}/raw/{sha}/{q}",
            "contents_url": f"{self.api}/repos/{repo.full_name}/contents/{q}?ref={sha}",
        }
        if f.patch is not None:
            out["patch"] = f.patch
        if f.previous_filename is not None:
            out["previous_filename"] = f.previous_filename
        return out

    def content_file(self, repo: Repo, path: str, data: bytes, ref: str) -> dict[str, Any]:
        sha = blob_sha(data)
        q_path, q_ref = urllib.parse.quote(path), urllib.parse.quote(ref)
        self_url = f"{self.api}/repos/{repo.full_name}/contents/{q_path}?ref={q_ref}"
        git = f"{self.api}/repos/{repo.full_name}/git/blobs/{sha}"
        html = f"{self.html}/{repo.full_name}/blob/{ref}/{path}"
        too_big = len(data) > 1024 * 1024  # 1-100 MB: no content, encoding "none"
        return {
            "type": "file",
            "encoding": "none" if too_big else "base64",
            "size": len(data),
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "content": "" if too_big else b64_lines(data),
            "sha": sha,
            "url": self_url,
            "git_url": git,
            "html_url": html,
            "download_url": f"{self.html}/{repo.full_name}/raw/{ref}/{path}",
            "_links": {"self": self_url, "git": git, "html": html},
        }

    def content_dir(
        self, repo: Repo, path: str, files: dict[str, bytes], ref: str
    ) -> list[dict[str, Any]]:
        prefix = f"{path.rstrip('/')}/" if path.strip("/") else ""
        entries: dict[str, dict[str, Any]] = {}
        for p, data in sorted(files.items()):
            if not p.startswith(prefix):
                continue
            rest = p[len(prefix) :]
            name = rest.split("/", 1)[0]
            full = prefix + name
            if "/" in rest:
                if full not in entries:
                    sha = blob_sha(full.encode())
                    entries[full] = self._dir_entry(repo, full, "dir", 0, sha, ref)
            else:
                entries[full] = self._dir_entry(repo, full, "file", len(data), blob_sha(data), ref)
        return list(entries.values())

    def _dir_entry(
        self, repo: Repo, path: str, kind: str, size: int, sha: str, ref: str
    ) -> dict[str, Any]:
        self_url = (
            f"{self.api}/repos/{repo.full_name}/contents/{urllib.parse.quote(path)}?ref={ref}"
        )
        git = f"{self.api}/repos/{repo.full_name}/git/{'trees' if kind == 'dir' else 'blobs'}/{sha}"
        html = f"{self.html}/{repo.full_name}/{'tree' if kind == 'dir' else 'blob'}/{ref}/{path}"
        return {
            "type": kind,
            "size": size,
            "name": path.rsplit("/", 1)[-1],
            "path": path,
            "sha": sha,
            "url": self_url,
            "git_url": git,
            "html_url": html,
            "download_url": None
            if kind == "dir"
            else f"{self.html}/{repo.full_name}/raw/{ref}/{path}",
            "_links": {"self": self_url, "git": git, "html": html},
        }

    # -- reviews, comments, reactions -----------------------------------------------
    def review(self, pr: Pull, rv: Review) -> dict[str, Any]:
        pr_url = f"{self.api}/repos/{pr.repo.full_name}/pulls/{pr.number}"
        html = f"{self.html}/{pr.repo.full_name}/pull/{pr.number}#pullrequestreview-{rv.id}"
        out: dict[str, Any] = {
            "id": rv.id,
            "node_id": node_id("PullRequestReview", rv.id),
            "user": self.user(rv.user),
            "body": rv.body,
            "state": rv.state,
            "html_url": html,
            "pull_request_url": pr_url,
            "author_association": self.association(pr.repo, rv.user, rv.author_association),
            "_links": {"html": {"href": html}, "pull_request": {"href": pr_url}},
            "commit_id": rv.commit_id,
        }
        if rv.submitted_at is not None:
            out["submitted_at"] = rv.submitted_at
        return out

    def comment(self, repo: Repo, cm: Comment) -> dict[str, Any]:
        api = f"{self.api}/repos/{repo.full_name}"
        counts = {
            k: 0 for k in ("+1", "-1", "laugh", "confused", "heart", "hooray", "eyes", "rocket")
        }
        for r in cm.reactions:
            counts[r.content] += 1
        return {
            "url": f"{api}/issues/comments/{cm.id}",
            "html_url": f"{self.html}/{repo.full_name}/pull/{cm.issue_number}#issuecomment-{cm.id}",
            "issue_url": f"{api}/issues/{cm.issue_number}",
            "id": cm.id,
            "node_id": node_id("IssueComment", cm.id),
            "user": self.user(cm.user),
            "created_at": cm.created_at,
            "updated_at": cm.updated_at,
            "author_association": self.association(repo, cm.user, cm.author_association),
            "body": cm.body,
            "reactions": {
                "url": f"{api}/issues/comments/{cm.id}/reactions",
                "total_count": len(cm.reactions),
                **counts,
            },
            "performed_via_github_app": self.app(cm.performed_via_github_app)
            if cm.performed_via_github_app
            else None,
            "pin": None,
            "minimized": None,
        }

    def reaction(self, r: Any) -> dict[str, Any]:
        return {
            "id": r.id,
            "node_id": node_id("Reaction", r.id),
            "user": self.user(r.user),
            "content": r.content,
            "created_at": r.created_at,
        }

    # -- checks and statuses --------------------------------------------------------
    def check_run(self, repo: Repo, cr: CheckRun) -> dict[str, Any]:
        api = f"{self.api}/repos/{repo.full_name}"
        prs = [
            self.pull_minimal(p)
            for p in repo.pulls.values()
            if p.state == "open" and p.head_sha == cr.head_sha and p.head_repo is repo
        ]
        return {
            "id": cr.id,
            "name": cr.name,
            "node_id": node_id("CheckRun", cr.id),
            "head_sha": cr.head_sha,
            "external_id": cr.external_id,
            "url": f"{api}/check-runs/{cr.id}",
            "html_url": f"{self.html}/{repo.full_name}/runs/{cr.id}",
            "details_url": cr.details_url or f"{self.html}/{repo.full_name}/runs/{cr.id}",
            "status": cr.status,
            "conclusion": cr.conclusion,
            "started_at": cr.started_at,
            "completed_at": cr.completed_at,
            "output": {
                "title": cr.output.get("title"),
                "summary": cr.output.get("summary"),
                "text": cr.output.get("text"),
                "annotations_count": len(cr.annotations),
                "annotations_url": f"{api}/check-runs/{cr.id}/annotations",
            },
            "check_suite": {"id": cr.check_suite_id},
            "app": self.app(cr.app),
            "pull_requests": prs,
        }

    def status(self, repo: Repo, st: Status, *, simple: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "url": f"{self.api}/repos/{repo.full_name}/statuses/{st.sha}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{st.creator.id}?v=4",
            "id": st.id,
            "node_id": node_id("StatusContext", st.id),
            "state": st.state,
            "description": st.description,
            "target_url": st.target_url,
            "context": st.context,
            "created_at": st.created_at,
            "updated_at": st.updated_at,
        }
        if not simple:
            out["creator"] = self.user(st.creator)
        return out

    # -- actions --------------------------------------------------------------------
    def minimal_repo(self, r: Repo) -> dict[str, Any]:
        full = self.repo(r)
        keep = {
            "id",
            "node_id",
            "name",
            "full_name",
            "private",
            "owner",
            "html_url",
            "description",
            "fork",
            "url",
        }
        return {k: v for k, v in full.items() if k in keep or k.endswith("_url")}

    def workflow_run(
        self, repo: Repo, run: WorkflowRun, *, exclude_prs: bool = False
    ) -> dict[str, Any]:
        api = f"{self.api}/repos/{repo.full_name}/actions/runs/{run.id}"
        commit = repo.commits.get(run.head_sha)
        if run.pull_requests is not None:
            prs = run.pull_requests
        else:
            prs = [
                p
                for p in repo.pulls.values()
                if p.state == "open" and p.head_sha == run.head_sha and p.head_repo is repo
            ]
        return {
            "id": run.id,
            "name": run.name,
            "node_id": node_id("WorkflowRun", run.id),
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": run.path,
            "display_title": run.display_title,
            "run_number": run.run_number,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": run.workflow_id,
            "check_suite_id": run.id + 1,
            "check_suite_node_id": node_id("CheckSuite", run.id + 1),
            "url": api,
            "html_url": f"{self.html}/{repo.full_name}/actions/runs/{run.id}",
            "pull_requests": [] if exclude_prs else [self.pull_minimal(p) for p in prs],
            "created_at": run.created_at,
            "updated_at": run.updated_at,
            "actor": self.user(run.actor),
            "run_attempt": run.run_attempt,
            "referenced_workflows": [],
            "run_started_at": run.created_at,
            "triggering_actor": self.user(run.triggering_actor),
            "jobs_url": f"{api}/jobs",
            "logs_url": f"{api}/logs",
            "check_suite_url": f"{self.api}/repos/{repo.full_name}/check-suites/{run.id + 1}",
            "artifacts_url": f"{api}/artifacts",
            "cancel_url": f"{api}/cancel",
            "rerun_url": f"{api}/rerun",
            "previous_attempt_url": None,
            "workflow_url": f"{self.api}/repos/{repo.full_name}/actions/workflows/"
            f"{run.workflow_id}",
            "head_commit": None
            if commit is None
            else {
                "id": commit.sha,
                "tree_id": commit.tree_sha,
                "message": commit.message,
                "timestamp": commit.committer.date,
                "author": {"name": commit.author.name, "email": commit.author.email},
                "committer": {"name": commit.committer.name, "email": commit.committer.email},
            },
            "repository": self.minimal_repo(repo),
            "head_repository": self.minimal_repo(run.head_repo),
            "head_repository_id": run.head_repo.id,
        }

    def artifact(self, repo: Repo, art: Artifact) -> dict[str, Any]:
        api = f"{self.api}/repos/{repo.full_name}/actions/artifacts/{art.id}"
        run = repo.workflow_runs.get(art.run_id)
        return {
            "id": art.id,
            "node_id": node_id("Artifact", art.id),
            "name": art.name,
            "size_in_bytes": len(art.data),
            "url": api,
            "archive_download_url": f"{api}/zip",
            "expired": art.expired,
            "digest": art.digest,
            "created_at": art.created_at,
            "updated_at": art.created_at,
            "expires_at": art.expires_at,
            "workflow_run": None
            if run is None
            else {
                "id": run.id,
                "repository_id": repo.id,
                "head_repository_id": run.head_repo.id,
                "head_branch": run.head_branch or "",
                "head_sha": run.head_sha,
            },
        }

    # -- issue 16: workflow jobs (the legs of a matrix) --------------------------------
    def job(self, repo: Repo, run: WorkflowRun, job: Job) -> dict[str, Any]:
        api = f"{self.api}/repos/{repo.full_name}"
        return {
            "id": job.id,
            "run_id": run.id,
            "run_url": f"{api}/actions/runs/{run.id}",
            "run_attempt": job.run_attempt,
            "node_id": node_id("Job", job.id),
            "head_sha": run.head_sha,
            "url": f"{api}/actions/jobs/{job.id}",
            "html_url": f"{self.html}/{repo.full_name}/actions/runs/{run.id}/job/{job.id}",
            "status": job.status,
            "conclusion": job.conclusion,
            "created_at": job.created_at,
            "started_at": job.started_at,
            "completed_at": job.completed_at,
            "name": job.name,
            "steps": [],
            "check_run_url": f"{api}/check-runs/{job.id}",
            "labels": ["ubuntu-latest"],
            "runner_id": 1,
            "runner_name": "GitHub Actions 1",
            "runner_group_id": 1,
            "runner_group_name": "GitHub Actions",
            "workflow_name": run.name,
            "head_branch": run.head_branch,
        }
