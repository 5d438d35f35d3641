"""GitHub I/O for `gatekeeper sign`: the PR's head and base, base-branch files, the comment.

Built on the gate's client (`adapters.github.GitHubClient`: retries, pagination, contents
API, errors as ApiError), so both sides read the trust root the same way. Posting the
comment is the one write, through the client's one comment path (`create_comment`): sent
once, and after an answer that may have been lost it is retried only when a fresh listing
shows the comment is really not there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gatekeeper.adapters.github import GitHubClient
from gatekeeper.adapters.github_errors import NotFound
from gatekeeper.adapters.github_facts import file_facts
from gatekeeper.errors import ApiError, OverrideError
from gatekeeper.pr.facts import ChangedFile

DEFAULT_API_URL = "https://api.github.com"
_REPO = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}")
_SHA = re.compile(r"[0-9a-f]{40}")
_PASTE = "paste the comment printed above into the PR yourself"
_TOKEN_HINT = "export GITHUB_TOKEN (or GH_TOKEN), e.g. `export GH_TOKEN=$(gh auth token)`"


@dataclass(frozen=True, slots=True)
class PullHead:
    """What `sign` binds from the PR, read from the API (never from a bot comment)."""

    repository: str  # owner/name as GitHub spells it
    number: int
    head_sha: str
    base_sha: str
    state: str
    merged: bool
    html_url: str
    changed_files: tuple[ChangedFile, ...]
    files_truncated: bool  # GitHub lists at most 3000 changed files
    default_branch: str | None = None  # as the PR object names it (the trust root's branch)


def token_from_env(env: Mapping[str, str]) -> str:
    """$GITHUB_TOKEN, else $GH_TOKEN; OverrideError when neither is set."""
    for name in ("GITHUB_TOKEN", "GH_TOKEN"):
        value = env.get(name, "").strip()
        if value:
            return value
    raise OverrideError("no GitHub token: GITHUB_TOKEN and GH_TOKEN are unset", _TOKEN_HINT)


def api_url_from(option: str | None, env: Mapping[str, str]) -> str:
    """The API URL: --api-url, else $GITHUB_API_URL, else api.github.com (no trailing /)."""
    url = (option or env.get("GITHUB_API_URL", "") or DEFAULT_API_URL).strip().rstrip("/")
    if not re.match(r"https?://[^/\s]+", url):
        raise OverrideError(
            f"bad GitHub API URL {url!r}",
            "pass --api-url https://HOST/api/v3 for GitHub Enterprise Server",
        )
    return url


def check_repository(text: str) -> str:
    """`text` when it is OWNER/NAME; else OverrideError."""
    if not _REPO.fullmatch(text):
        raise OverrideError(f"--repo {text!r} is not OWNER/NAME", "e.g. --repo acme/infra")
    return text


def open_client(token: str, api_url: str) -> GitHubClient:
    """The gate's own client (retries, pagination, errors as ApiError)."""
    return GitHubClient(token, api_url)


def for_sign(exc: ApiError) -> ApiError:
    """The gate's client words errors for the gate (and exits 1 when GitHub is down, which
    blocks the check). For `sign` every failure is exit 2 with a hint for a human."""
    message = exc.message
    if "(401)" in message:
        return ApiError(message, f"the token is invalid or expired; {_TOKEN_HINT}")
    if "(403)" in message:
        return ApiError(
            message, "the token needs read access to the repository (and write for --post)"
        )
    if "unavailable" in message.lower():
        return ApiError(message, "GitHub did not answer in time; nothing was posted, retry later")
    return ApiError(message, exc.hint)


def _sha(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _SHA.fullmatch(value.lower()):
        raise ApiError(f"unexpected GitHub response: {what} is not a commit SHA")
    return value.lower()


def read_pull(client: GitHubClient, repo: str, number: int) -> PullHead:
    """The PR's head and base commits and its changed files. Raises ApiError/OverrideError."""
    try:
        pr = client.get_json(f"/repos/{repo}/pulls/{number}", what=f"read PR #{number}")
        if not isinstance(pr, dict):
            raise ApiError(f"unexpected GitHub response for PR #{number}: not an object")
        head, base = pr.get("head"), pr.get("base")
        if not isinstance(head, dict) or not isinstance(base, dict):
            raise ApiError(f"unexpected GitHub response for PR #{number}: no head or base")
        full_name = (base.get("repo") or {}).get("full_name")
        files = client.paginate(
            f"/repos/{repo}/pulls/{number}/files", what=f"list files of PR #{number}"
        )
    except NotFound:
        raise OverrideError(
            f"PR #{number} not found in {repo}",
            "check --repo and --pr, and that the token can read the repository "
            "(for GitHub Enterprise Server, pass --api-url or GITHUB_API_URL)",
        ) from None
    except ApiError as exc:
        raise for_sign(exc) from None
    listed = tuple(file_facts(f) for f in files)
    count = pr.get("changed_files")
    default = (base.get("repo") or {}).get("default_branch")
    return PullHead(
        repository=full_name if isinstance(full_name, str) and _REPO.fullmatch(full_name) else repo,
        number=number,
        head_sha=_sha(head.get("sha"), "head.sha"),
        base_sha=_sha(base.get("sha"), "base.sha"),
        state=str(pr.get("state") or ""),
        merged=pr.get("merged") is True,
        html_url=str(pr.get("html_url") or ""),
        changed_files=listed,
        files_truncated=isinstance(count, int) and count > len(listed),
        default_branch=default if isinstance(default, str) else None,
    )


def read_head_sha(client: GitHubClient, repo: str, number: int) -> str:
    """The PR's current head commit, read again just before posting."""
    try:
        pr = client.get_json(f"/repos/{repo}/pulls/{number}", what=f"read PR #{number}")
    except ApiError as exc:
        raise for_sign(exc) from None
    head = pr.get("head") if isinstance(pr, dict) else None
    return _sha(head.get("sha") if isinstance(head, dict) else None, "head.sha")


def _norm(body: str) -> str:
    return body.replace("\r\n", "\n").strip()


def post_comment(client: GitHubClient, repo: str, number: int, body: str) -> str:
    """Post `body` as a PR (issue) comment; return its URL. Never posts it twice knowingly."""
    return _post(client, f"/repos/{repo}/issues/{number}/comments", f"PR #{number}", body)


def post_commit_comment(client: GitHubClient, repo: str, sha: str, body: str) -> str:
    """Post `body` as a comment on commit `sha` (an apply override); return its URL."""
    return _post(client, f"/repos/{repo}/commits/{sha}/comments", f"commit {sha[:12]}", body)


def _post(client: GitHubClient, url: str, target: str, body: str) -> str:
    def find() -> dict[str, Any] | None:
        want = _norm(body)
        for c in client.paginate(url, what=f"list comments of {target}"):
            if isinstance(c, dict) and isinstance(c.get("body"), str) and _norm(c["body"]) == want:
                return c
        return None

    try:
        data = client.create_comment(url, body, what=f"posting the override on {target}", find=find)
    except ApiError as exc:
        failed = for_sign(exc)
        if "(401)" in exc.message or "unavailable" in exc.message.lower():
            raise ApiError(failed.message, f"{failed.hint}; {_PASTE}") from None
        raise ApiError(
            exc.message,
            "the token needs `pull-requests: write` (or `issues: write`); or " + _PASTE,
        ) from None
    if data.get("html_url"):
        return str(data["html_url"])
    return f"{url} (id {data.get('id', '?')})"
