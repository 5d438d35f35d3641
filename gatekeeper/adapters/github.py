"""GitHub REST API through PyGithub: one PR snapshot, the base-branch files, the result.

- Every request goes through `GitHubClient._call`: retries with exponential backoff and
  jitter on 5xx, timeouts, connection resets and truncated bodies; honours `Retry-After` and
  `x-ratelimit-reset` on 403/429 rate limits; stops at a bounded total time. After that:
  `ApiUnavailable` (the gate blocks, exit 1), never "allow".
- PyGithub's own retries and throttling are off (`retry=None`): one policy, ours.
- Lists are read at per_page=100 by following `Link: rel="next"`, as raw JSON through
  PyGithub's requester: no lazy completion of objects, so no hidden requests.
- A create that fails ambiguously (timeout, reset, 5xx: it may have been applied) is never
  blindly repeated: the caller's probe looks for it first (check runs by external_id,
  comments by `create_comment`'s `find`: the one write path for comments).
- Library exceptions never escape: they become ApiError (or its subclasses).
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from gatekeeper import __version__
from gatekeeper.adapters.github_errors import ApiUnavailable, NotFound
from gatekeeper.adapters.github_facts import actor, need, pr_facts
from gatekeeper.errors import ApiError
from gatekeeper.pr.facts import Actor, PullRequestFacts, dig

if TYPE_CHECKING:
    from github.Requester import Requester

T = TypeVar("T")
PER_PAGE = 100
MAX_ARTIFACT_BYTES = 64 * 1024 * 1024
# Activity types that put commits on a branch: whoever did one is an operator.
PUSH_ACTIVITIES = frozenset({"push", "force_push", "branch_creation"})
# Seconds to wait, after a comment create whose answer was lost, before looking whether it
# landed anyway; one entry per retry (so 1 + len attempts in all).
COMMENT_RETRY_WAITS = (2.0, 5.0)
DOWNLOAD_WORKERS = 8  # parallel artifact downloads (one bundle per matrix leg)
_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class _Retry(Exception):
    def __init__(self, why: str, wait: float | None = None, ambiguous: bool = True) -> None:
        super().__init__(why)
        self.why = why
        self.wait = wait  # None: exponential backoff; else the server told us how long
        self.ambiguous = ambiguous  # the request may have been applied


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    timeout: int = 20  # seconds per request (PyGithub wants an int)
    total_seconds: float = 180.0  # the whole run's budget for waiting on GitHub
    max_attempts: int = 6  # per request
    backoff: float = 1.0  # first backoff, doubled each time
    max_backoff: float = 30.0
    secondary_wait: float = 60.0  # a secondary rate limit with no Retry-After


def _message(data: Any) -> str:
    if isinstance(data, dict):
        msg = data.get("message") or data.get("data") or ""
        return " ".join(str(msg).split())[:200]
    return ""


def rate_limit_wait(status: int, headers: Mapping[str, Any], data: Any, now: float) -> float | None:
    """Seconds to wait if this answer is a rate limit, else None.

    GitHub: primary limits are 403/429 with x-ratelimit-remaining: 0 and x-ratelimit-reset
    (epoch seconds); secondary limits are 403/429 with Retry-After, or only a message."""
    if status not in (403, 429):
        return None
    h = {str(k).lower(): str(v) for k, v in headers.items()}
    if "retry-after" in h:
        try:
            return max(0.0, float(h["retry-after"]))
        except ValueError:
            return 60.0
    if h.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in h:
        try:
            return max(0.0, float(h["x-ratelimit-reset"]) - now) + 1.0
        except ValueError:
            return 60.0
    msg = _message(data).lower()
    if status == 429 or "rate limit" in msg:
        return 60.0
    return None


class GitHubClient:
    def __init__(
        self,
        token: str,
        api_url: str = "https://api.github.com",
        *,
        retry: RetryPolicy | None = None,
        seconds_between_writes: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        import github

        self.retry = retry or RetryPolicy()
        self.api_url = api_url.rstrip("/")
        self._sleep = sleep
        self._clock = clock
        self._wall = wall_clock
        self._deadline = clock() + self.retry.total_seconds

        def make() -> github.Github:
            return github.Github(
                base_url=self.api_url,
                auth=github.Auth.Token(token),
                timeout=self.retry.timeout,
                retry=None,
                per_page=PER_PAGE,
                user_agent=f"plan-gatekeeper/{__version__}",
                seconds_between_requests=None,
                seconds_between_writes=seconds_between_writes or None,
                lazy=True,
            )

        self.gh = make()
        self._make = make
        self._main_req = self.gh.requester
        self._owner = threading.get_ident()
        self._local = threading.local()
        self._count_lock = threading.Lock()
        self.requests = 0  # requests sent, retries included

    @property
    def _req(self) -> Requester:
        """PyGithub's requester for this thread. Its connection object holds the request in
        flight, so it must not be shared: a worker thread (parallel artifact downloads) gets
        its own, made with the same settings."""
        if threading.get_ident() == self._owner:
            return self._main_req
        req = getattr(self._local, "req", None)
        if req is None:
            req = self._local.req = self._make().requester
        return req

    # ------------------------------------------------------------------ the retry loop
    def _call(
        self,
        what: str,
        fn: Callable[[], T],
        *,
        idempotent: bool = True,
        probe: Callable[[], T | None] | None = None,
        waits: Sequence[float] | None = None,
    ) -> T:
        """Run one API request with retries. `what` names it in errors ("read PR #4").

        Non-idempotent requests (`idempotent=False`) are retried only when the failure
        shows the request was not applied (rate limits), or after `probe()` found nothing.
        `waits`: fixed waits before each retry (so 1 + len(waits) attempts) instead of the
        policy's exponential backoff; a rate limit's own wait still wins."""
        max_attempts = self.retry.max_attempts if waits is None else 1 + len(waits)
        attempt = 0
        while True:
            attempt += 1
            with self._count_lock:
                self.requests += 1
            try:
                return self._once(what, fn)
            except _Retry as r:
                if attempt >= max_attempts:
                    raise ApiUnavailable(
                        f"GitHub API unavailable: {what}: {r.why} (gave up after {attempt} "
                        "attempts)",
                        "the check stays blocked; it is re-evaluated on the next event or re-run",
                    ) from None
                if r.wait is not None:
                    wait = r.wait
                elif waits is not None:
                    wait = waits[attempt - 1]
                else:
                    wait = min(self.retry.max_backoff, self.retry.backoff * 2 ** (attempt - 1))
                    wait *= 0.5 + random.random() / 2
                left = self._deadline - self._clock()
                if wait > left:
                    raise ApiUnavailable(
                        f"GitHub API unavailable: {what}: {r.why}; waiting {wait:.0f}s more "
                        f"would exceed the {self.retry.total_seconds:.0f}s time budget",
                        "the check stays blocked; it is re-evaluated on the next event or re-run",
                    ) from None
                self._sleep(wait)
                if not idempotent and r.ambiguous and probe is not None:
                    found = self._probe(what, probe)
                    if found is not None:
                        return found

    def _probe(self, what: str, probe: Callable[[], T | None]) -> T | None:
        return self._call(f"{what} (looking for an earlier attempt)", probe)

    def _once(self, what: str, fn: Callable[[], T]) -> T:
        import github
        import requests
        import urllib3

        try:
            return fn()
        except github.GithubException as exc:
            status = exc.status
            headers = exc.headers or {}
            data = exc.data
            wait = rate_limit_wait(status, headers, data, self._wall())
            if wait is not None:
                raise _Retry(f"rate limited (HTTP {status})", wait, ambiguous=False) from None
            if status >= 500:
                raise _Retry(f"HTTP {status} {_message(data)}".strip()) from None
            msg = _message(data)
            if status == 404:
                raise NotFound(
                    f"{what}: not found (404)", "check the repository, number or path"
                ) from None
            if status == 401:
                raise ApiError(
                    f"{what}: bad credentials (401)",
                    "the token is invalid or expired; pass github-token",
                ) from None
            if status == 403:
                raise ApiError(
                    f"{what}: forbidden (403): {msg}",
                    "give the workflow token the permissions the README lists "
                    "(pull-requests: read, checks: write, contents: read, actions: read, "
                    "statuses: read)",
                ) from None
            raise ApiError(f"{what}: HTTP {status}: {msg}") from None
        except (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError) as exc:
            raise _Retry(f"timed out ({type(exc).__name__})") from None
        except (
            requests.exceptions.RequestException,
            urllib3.exceptions.HTTPError,
            http.client.HTTPException,
            ConnectionError,
        ) as exc:
            raise _Retry(f"connection failed ({type(exc).__name__})") from None
        except (ValueError, UnicodeDecodeError) as exc:  # a truncated or garbled JSON body
            raise _Retry(f"unreadable response ({type(exc).__name__})") from None

    # --------------------------------------------------------------------- primitives
    def get_json(self, url: str, params: Mapping[str, Any] | None = None, *, what: str) -> Any:
        """GitHub's JSON for one GET request (with the retries of `_call`)."""
        _, data = self._call(
            what, lambda: self._req.requestJsonAndCheck("GET", url, parameters=dict(params or {}))
        )
        return data

    def paginate(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        what: str,
        key: str | None = None,
    ) -> list[Any]:
        """Every item of a list endpoint, following Link rel="next" (per_page=100).
        `key`: the list sits under this key of an object (workflow runs, artifacts)."""
        out: list[Any] = []
        query = {**(params or {}), "per_page": PER_PAGE}
        next_url: str | None = url
        page = 0
        while next_url is not None:
            page += 1
            current, q = next_url, query if page == 1 else None

            def fetch(u: str = current, p: dict[str, Any] | None = q) -> tuple[dict[str, Any], Any]:
                return self._req.requestJsonAndCheck("GET", u, parameters=p)

            headers, data = self._call(f"{what} (page {page})", fetch)
            items = data.get(key) if key and isinstance(data, dict) else data
            if not isinstance(items, list):
                raise ApiUnavailable(f"{what}: page {page} is not a list", "a GitHub API change?")
            out.extend(items)
            m = _NEXT.search(str((headers or {}).get("link", "")))
            next_url = m.group(1) if m else None
            if page > 1000:
                raise ApiError(f"{what}: more than 1000 pages")
        return out

    # ------------------------------------------------------------------- the snapshot
    def fetch_snapshot(self, repo: str, number: int) -> PullRequestFacts:
        """PR, every commit, review, issue comment and changed file: one consistent view.

        If the head moves while the lists are read, read again (once); still moving:
        ApiUnavailable rather than a view mixing two heads."""
        for _ in range(2):
            pr = self.get_json(f"/repos/{repo}/pulls/{number}", what=f"read PR #{number}")
            base = f"/repos/{repo}/pulls/{number}"
            commits = self.paginate(f"{base}/commits", what=f"list commits of PR #{number}")
            reviews = self.paginate(f"{base}/reviews", what=f"list reviews of PR #{number}")
            comments = self.paginate(
                f"/repos/{repo}/issues/{number}/comments", what=f"list comments of PR #{number}"
            )
            files = self.paginate(f"{base}/files", what=f"list files of PR #{number}")
            facts = pr_facts(repo, pr, commits, reviews, comments, files)
            if facts.commits_truncated or facts.head_sha in {c.sha for c in facts.commits}:
                return facts
        raise ApiUnavailable(
            f"PR #{number} changed while it was being read (head {facts.head_sha[:7]} is not "
            "among its listed commits)",
            "a new push triggers a new evaluation",
        )

    def lookup_reviewers(
        self,
        repo: str,
        logins: Iterable[str],
        *,
        permission: bool,
        teams: Iterable[str],
    ) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
        """Repository permission and team membership of the given reviewers. A lookup
        that is refused (403) or finds nothing leaves the reviewer out: not counted."""
        perms: dict[str, str] = {}
        members: dict[str, set[str]] = {t: set() for t in teams}
        for login in logins:
            key = login.casefold()
            q = urllib.parse.quote(login, safe="")
            if permission:
                try:
                    data = self.get_json(
                        f"/repos/{repo}/collaborators/{q}/permission",
                        what=f"read @{login}'s permission",
                    )
                except NotFound:
                    data = {"permission": "none"}
                # `permission` is admin/write/read/none; maintain reads as write, triage as
                # read, custom roles as their base role.
                perm = data.get("permission") if isinstance(data, dict) else None
                if isinstance(perm, str):
                    perms[key] = perm
            for team in members:
                org, _, slug = team.partition("/")
                try:
                    data = self.get_json(
                        f"/orgs/{urllib.parse.quote(org)}/teams/{urllib.parse.quote(slug)}"
                        f"/memberships/{q}",
                        what=f"read @{login}'s membership of {team}",
                    )
                except NotFound:
                    continue
                if isinstance(data, dict) and data.get("state") == "active":
                    members[team].add(key)
        return perms, {t: frozenset(m) for t, m in members.items()}

    def find_pulls_by_head(self, repo: str, owner: str, branch: str, sha: str) -> list[int]:
        """Open PRs of `repo` whose head is owner:branch at `sha` (fork PRs of a workflow_run)."""
        pulls = self.paginate(
            f"/repos/{repo}/pulls",
            {"state": "open", "head": f"{owner}:{branch}"},
            what=f"find the PR for {owner}:{branch}",
        )
        return [
            p["number"]
            for p in pulls
            if isinstance(p, dict)
            and dig(p, "head", "sha") == sha
            and isinstance(p.get("number"), int)
        ]

    # ------------------------------------------- the head commit, its PRs and its checks
    def default_branch(self, repo: str) -> str:
        """The repository's default branch (when the PR object did not name it)."""
        data = self.get_json(f"/repos/{repo}", what=f"read repository {repo}")
        return str(need(data, str, "default_branch"))

    def branch_head(self, repo: str, branch: str) -> str:
        """The commit a branch points at now (GET /repos/{o}/{r}/branches/{branch})."""
        q = urllib.parse.quote(branch, safe="")
        data = self.get_json(f"/repos/{repo}/branches/{q}", what=f"read branch {branch}")
        return str(need(data, str, "commit", "sha"))

    def open_pulls_for_head(self, repo: str, sha: str) -> list[tuple[int, str]]:
        """(number, base ref) of every open PR of `repo` whose head commit is `sha`."""
        pulls = self.paginate(
            f"/repos/{repo}/commits/{sha}/pulls", what=f"list the pull requests of {sha[:12]}"
        )
        out: list[tuple[int, str]] = []
        for p in pulls:
            if dig(p, "state") != "open" or dig(p, "head", "sha") != sha:
                continue
            out.append((need(p, int, "number"), need(p, str, "base", "ref")))
        return sorted(set(out))

    def check_runs_named(self, repo: str, sha: str, name: str) -> list[dict[str, Any]]:
        """Every check run called `name` on `sha` (all of them, not only the latest)."""
        runs = self.paginate(
            f"/repos/{repo}/commits/{sha}/check-runs",
            {"check_name": name, "filter": "all"},
            what=f"list the {name!r} check runs of {sha[:12]}",
            key="check_runs",
        )
        return [r for r in runs if isinstance(r, dict) and r.get("name") == name]

    def statuses(self, repo: str, sha: str) -> list[dict[str, Any]]:
        """Every commit status on `sha`, with its creator."""
        items = self.paginate(
            f"/repos/{repo}/commits/{sha}/statuses", what=f"list the statuses of {sha[:12]}"
        )
        return [s for s in items if isinstance(s, dict)]

    def pushers(self, repo: str, branch: str) -> list[Actor]:
        """Every account that pushed, force-pushed or created `branch` (activity API)."""
        items = self.paginate(
            f"/repos/{repo}/activity",
            {"ref": f"refs/heads/{branch}"},
            what=f"list the pushes to {branch}",
        )
        out: dict[int | str, Actor] = {}
        for item in items:
            if dig(item, "activity_type") not in PUSH_ACTIVITIES:
                continue
            who = dig(item, "actor")
            a = actor(who) if isinstance(who, dict) else None
            if a is None:  # a deleted account pushed: it cannot be told apart from anyone
                raise ApiUnavailable(
                    f"a push to {branch} has no actor (deleted account)",
                    "the pushers cannot all be named, so no approval counts",
                )
            out.setdefault(a.id if a.id is not None else f"login:{a.login}", a)
        return list(out.values())

    # ------------------------------------------------------------- files at the base
    def read_file(self, repo: str, path: str, ref: str) -> bytes | None:
        """A file's bytes at `ref` through the contents API; None when it does not exist."""
        q = urllib.parse.quote(path.lstrip("/"), safe="/")
        try:
            data = self.get_json(
                f"/repos/{repo}/contents/{q}", {"ref": ref}, what=f"read {path} at {ref[:12]}"
            )
        except NotFound:
            return None
        if isinstance(data, list) or not isinstance(data, dict) or data.get("type") != "file":
            raise ApiError(f"{path} at {ref[:12]} is not a file", "point the setting at a file")
        if data.get("encoding") != "base64" or not isinstance(data.get("content"), str):
            raise ApiError(f"{path} at {ref[:12]} is too large for the contents API (1 MB)")
        try:
            return base64.b64decode(data["content"], validate=False)
        except (ValueError, TypeError):
            raise ApiUnavailable(f"{path} at {ref[:12]}: undecodable content") from None

    # ----------------------------------------------------------------- actions runs
    def workflow_runs(self, repo: str, head_sha: str, event: str) -> list[dict[str, Any]]:
        """The workflow runs of `event` for `head_sha`, every page."""
        runs = self.paginate(
            f"/repos/{repo}/actions/runs",
            {"head_sha": head_sha, "event": event},
            what=f"list workflow runs for {head_sha[:12]}",
            key="workflow_runs",
        )
        return [r for r in runs if isinstance(r, dict)]

    def run_artifacts(self, repo: str, run_id: int, name: str | None) -> list[dict[str, Any]]:
        """The run's artifacts: those named `name`, or every one (None: the caller matches a
        pattern), read page by page."""
        arts = self.paginate(
            f"/repos/{repo}/actions/runs/{run_id}/artifacts",
            {"name": name} if name is not None else {},
            what=f"list artifacts of run {run_id}",
            key="artifacts",
        )
        return [a for a in arts if isinstance(a, dict)]

    def run_jobs(self, repo: str, run_id: int) -> list[dict[str, Any]]:
        """The jobs of the run's latest attempt (one per matrix leg), page by page."""
        jobs = self.paginate(
            f"/repos/{repo}/actions/runs/{run_id}/jobs",
            {"filter": "latest"},
            what=f"list jobs of run {run_id}",
            key="jobs",
        )
        return [j for j in jobs if isinstance(j, dict)]

    def download_artifacts(
        self, repo: str, artifact_ids: Sequence[int], *, workers: int = DOWNLOAD_WORKERS
    ) -> Iterator[tuple[int, bytes]]:
        """Each artifact's zip, as it arrives: at most `workers` downloads at a time (GitHub
        counts concurrent requests against its secondary rate limit). None starts after the
        time budget is spent: ApiUnavailable instead. Stopping early (the caller refused a
        bundle) cancels the downloads not started yet."""
        from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

        todo = list(artifact_ids)
        if len(todo) <= 1:
            for art_id in todo:
                yield art_id, self.download_artifact(repo, art_id)
            return

        def one(art_id: int) -> bytes:
            if self._clock() > self._deadline:
                raise ApiUnavailable(
                    f"GitHub API unavailable: downloading {len(todo)} plan bundles took longer "
                    f"than the {self.retry.total_seconds:.0f}s time budget",
                    "the check stays blocked; raise time-budget, or re-run the gate",
                )
            return self.download_artifact(repo, art_id)

        pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="artifact")
        try:
            pending: dict[Future[bytes], int] = {}
            queue = iter(todo)
            for art_id in queue:
                pending[pool.submit(one, art_id)] = art_id
                if len(pending) >= workers:
                    break
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    art_id = pending.pop(fut)
                    data = fut.result()
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(one, nxt)] = nxt
                    yield art_id, data
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    def download_artifact(self, repo: str, artifact_id: int) -> bytes:
        """The artifact's zip: the API answers 302 to a pre-signed blob URL, fetched without
        our token (the blob store is another host)."""
        import requests

        what = f"download artifact {artifact_id}"
        headers, _ = self._call(
            what,
            lambda: self._req.requestJsonAndCheck(
                "GET", f"/repos/{repo}/actions/artifacts/{artifact_id}/zip"
            ),
        )
        location = {str(k).lower(): v for k, v in (headers or {}).items()}.get("location")
        if not location:
            raise ApiUnavailable(f"{what}: no redirect to the artifact's blob")

        def fetch() -> bytes:
            with requests.get(str(location), stream=True, timeout=self.retry.timeout) as resp:
                if resp.status_code >= 500:
                    raise _BlobStatus(resp.status_code)
                if resp.status_code != 200:
                    raise ApiError(f"{what}: the blob store answered HTTP {resp.status_code}")
                buf = bytearray()
                for chunk in resp.iter_content(65536):
                    buf += chunk
                    if len(buf) > MAX_ARTIFACT_BYTES:
                        raise ApiError(f"{what}: larger than {MAX_ARTIFACT_BYTES >> 20} MiB")
                return bytes(buf)

        def guarded() -> bytes:
            try:
                return fetch()
            except _BlobStatus as exc:
                raise _Retry(f"blob store HTTP {exc.status}") from None

        return self._call(what, guarded)

    # ----------------------------------------------------------------------- results
    def create_check_run(
        self,
        repo: str,
        *,
        head_sha: str,
        name: str,
        conclusion: str,
        title: str,
        summary: str,
        text: str,
        external_id: str,
        details_url: str | None = None,
    ) -> int:
        """A completed check run. Created once: after an ambiguous failure it looks for
        the run by external_id before trying again. Returns the check run id."""
        r = self.gh.get_repo(repo)
        output = {"title": _clip(title, 1000), "summary": _clip(summary, 65000)}
        if text:
            output["text"] = _clip(text, 65000)
        kwargs: dict[str, Any] = {
            "name": name,
            "head_sha": head_sha,
            "status": "completed",
            "conclusion": conclusion,
            "external_id": external_id,
            "output": output,
        }
        if details_url:
            kwargs["details_url"] = details_url

        def create() -> int:
            return int(r.create_check_run(**kwargs).id)

        def probe() -> int | None:
            data = self.get_json(
                f"/repos/{repo}/commits/{head_sha}/check-runs",
                {"check_name": name, "filter": "all", "per_page": PER_PAGE},
                what="list check runs",
            )
            for run in (data or {}).get("check_runs", []) if isinstance(data, dict) else []:
                if isinstance(run, dict) and run.get("external_id") == external_id:
                    return int(run["id"])
            return None

        return self._call(f"create check run {name!r}", create, idempotent=False, probe=probe)

    def create_status(
        self,
        repo: str,
        *,
        sha: str,
        state: str,
        context: str,
        description: str,
        target_url: str | None = None,
    ) -> None:
        """A commit status. Repeating it is harmless (the latest per context wins)."""
        body: dict[str, Any] = {
            "state": state,
            "context": context,
            "description": _clip(description, 140),
        }
        if target_url:
            body["target_url"] = target_url
        self._call(
            f"create commit status {context!r}",
            lambda: self._req.requestJsonAndCheck(
                "POST", f"/repos/{repo}/statuses/{sha}", input=body
            ),
        )

    # ---------------------------------------------------------------------- comments
    def create_comment(
        self,
        url: str,
        body: str,
        *,
        what: str,
        find: Callable[[], dict[str, Any] | None],
        waits: Sequence[float] = COMMENT_RETRY_WAITS,
    ) -> dict[str, Any]:
        """POST `{"body": body}` to a comments URL (a PR's, a commit's); GitHub's JSON for the
        new comment. The one write path for comments: sent once, and after a failure that
        may have been applied anyway (timeout, reset, 5xx) it waits, then `find()` looks for
        the comment (GitHub's JSON for it, or None) before trying again."""

        def create() -> dict[str, Any]:
            _, data = self._req.requestJsonAndCheck("POST", url, input={"body": body})
            if not isinstance(data, dict):
                raise ValueError("the created comment is not a JSON object")
            return data

        return self._call(what, create, idempotent=False, probe=find, waits=waits)

    def edit_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        """Replace an issue comment's body (repeating it is harmless); GitHub's JSON for it."""
        _, data = self._call(
            f"edit comment {comment_id}",
            lambda: self._req.requestJsonAndCheck(
                "PATCH", f"/repos/{repo}/issues/comments/{comment_id}", input={"body": body}
            ),
        )
        return data if isinstance(data, dict) else {}

    def delete_comment(self, repo: str, comment_id: int) -> None:
        """Delete an issue comment; one that is already gone (404) is fine."""
        with contextlib.suppress(NotFound):
            self._call(
                f"delete comment {comment_id}",
                lambda: self._req.requestJsonAndCheck(
                    "DELETE", f"/repos/{repo}/issues/comments/{comment_id}"
                ),
            )

    # ---------------------------------------------------- the apply guard (verify)
    def compare_status(self, repo: str, base: str, head: str) -> str:
        """GitHub's comparison of two commits: identical, ahead, behind or diverged
        (`behind` or `identical`: `head` is on `base`'s history)."""
        data = self.get_json(
            f"/repos/{repo}/compare/{urllib.parse.quote(base, safe='/')}..."
            f"{urllib.parse.quote(head, safe='')}",
            {"per_page": 1},
            what=f"compare {head[:12]} with {base}",
        )
        return str(need(data, str, "status"))

    def pulls_for_commit(self, repo: str, sha: str) -> list[dict[str, Any]]:
        """The pull requests GitHub associates with a commit: for a commit on the default
        branch, the merged PR that brought it (merge, squash and rebase merges alike)."""
        pulls = self.paginate(
            f"/repos/{repo}/commits/{sha}/pulls", what=f"list the pull requests of {sha[:12]}"
        )
        return [p for p in pulls if isinstance(p, dict)]

    def check_runs_for_ref(self, repo: str, sha: str, name: str) -> list[dict[str, Any]]:
        """Every check run named `name` on `sha` (filter=all: each evaluation is one run)."""
        runs = self.paginate(
            f"/repos/{repo}/commits/{sha}/check-runs",
            {"check_name": name, "filter": "all"},
            what=f"list the {name!r} check runs of {sha[:12]}",
            key="check_runs",
        )
        return [r for r in runs if isinstance(r, dict)]

    def commit_comments(self, repo: str, sha: str) -> list[dict[str, Any]]:
        """The comments on commit `sha` (JSON objects), every page."""
        items = self.paginate(
            f"/repos/{repo}/commits/{sha}/comments", what=f"list the comments of {sha[:12]}"
        )
        return [c for c in items if isinstance(c, dict)]


class _BlobStatus(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    note = "\n\n... (truncated; the full report is in the job summary)"
    return text[: limit - len(note)] + note
