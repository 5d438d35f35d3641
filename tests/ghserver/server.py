"""A local GitHub REST server for tests: real HTTP on 127.0.0.1, state in memory.

    with GHServer() as srv:
        srv.state.seed_basic()
        gh = srv.github()  # PyGithub, GITHUB_TOKEN of github-actions[bot]
        ...
        srv.check()  # strict-mode violations and handler crashes raise here

Only the operations in ``data/openapi-subset.json`` exist; anything else is a 404 that is
recorded in ``srv.unexpected``. Request bodies and query parameters are validated against
the spec (422 like GitHub); responses are validated too, and in strict mode a response that
does not match its schema is replaced by a 500 and recorded in ``srv.errors``.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
import time
import traceback
import urllib.parse
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jsonschema

from .faults import Fault, Faults, canned
from .handlers import HANDLERS, ApiError, Ctx, Reply
from .shapes import Shapes
from .spec import FORMAT_CHECKER, Operation, github_validation_message, load_spec
from .state import BOT_TOKEN, USER_TOKEN, State, Token

JSON = "application/json; charset=utf-8"
DOCS = "https://docs.github.com/rest"


class ServerCheckError(AssertionError):
    """Raised by ``GHServer.check()``: the server saw a shape mistake or crashed."""


@dataclass
class RequestRecord:
    method: str
    path: str  # API path without prefix and query
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: Any  # parsed JSON when possible, else raw bytes
    status: int | None = None  # None: connection reset, no answer
    operation_id: str | None = None
    login: str | None = None
    fault: str | None = None
    unexpected: bool = False
    acknowledged: bool = False  # an unexpected request the test has taken note of
    error: str | None = None  # message of a 4xx/5xx answer
    duration: float = 0.0

    def __str__(self) -> str:
        q = f"?{urllib.parse.urlencode(self.query, doseq=True)}" if self.query else ""
        return f"{self.method} {self.path}{q} -> {self.status}"


@dataclass
class _Result:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = JSON


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GitHub.com"
    sys_version = ""
    timeout = 15

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without this, Nagle + delayed ACK cost 40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _go(self) -> None:
        gh: GHServer = self.server.gh  # type: ignore[attr-defined]
        try:
            gh._serve(self)
        except Exception:  # a bug in the server itself: record it, fail the test at verify()
            gh.errors.append(
                f"{self.command} {self.path}: server crashed\n{traceback.format_exc()}"
            )
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _go


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class GHServer:
    def __init__(
        self,
        state: State | None = None,
        *,
        prefix: str | None = None,
        enterprise: bool = False,
        strict: bool = True,
        per_page_over_max: str = "reject",
        html_url: str | None = None,
        app_tokens_can_read_teams: bool = True,
        fail_on_unexpected: bool = True,
    ) -> None:
        """``enterprise=True``: GitHub Enterprise Server style, API under ``/api/v3``, no
        rate limiting. ``per_page_over_max``: "reject" (422, catches client bugs) or
        "clamp" (what api.github.com does). ``fail_on_unexpected``: ``verify()`` (run by the
        pytest fixture at teardown) also fails on requests outside the spec."""
        self.state = state or State()
        self.spec = load_spec()
        self.faults = Faults()
        self.log: list[RequestRecord] = []
        self.errors: list[str] = []
        self.strict = strict
        self.enterprise = enterprise
        self.prefix = (prefix if prefix is not None else ("/api/v3" if enterprise else "")).rstrip(
            "/"
        )
        if per_page_over_max not in ("reject", "clamp"):
            raise ValueError("per_page_over_max must be 'reject' or 'clamp'")
        self.per_page_over_max = per_page_over_max
        self.app_tokens_can_read_teams = app_tokens_can_read_teams
        self.fail_on_unexpected = fail_on_unexpected
        self._html_url = html_url
        self._log_lock = threading.Lock()
        self._used: dict[str, int] = {}
        self._reset_at = int(time.time()) + 3600
        self._httpd: _Httpd | None = None
        self._blobd: _Httpd | None = None
        self._threads: list[threading.Thread] = []
        self.shapes: Shapes | None = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> GHServer:
        if self._httpd is not None:
            return self
        self._httpd = _Httpd(("127.0.0.1", 0), _Handler)
        self._httpd.gh = self  # type: ignore[attr-defined]
        self._blobd = _Httpd(("127.0.0.1", 0), _BlobHandler)
        self._blobd.gh = self  # type: ignore[attr-defined]
        for d in (self._httpd, self._blobd):
            t = threading.Thread(
                target=d.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
            )
            t.start()
            self._threads.append(t)
        html = self._html_url or (self.root_url if self.prefix else "https://github.com")
        self.shapes = Shapes(self.state, self.url, html)
        return self

    def stop(self) -> None:
        for d in (self._httpd, self._blobd):
            if d is not None:
                d.shutdown()
                d.server_close()
        for t in self._threads:
            t.join(timeout=2)
        self._httpd = self._blobd = None
        self._threads = []

    def __enter__(self) -> GHServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        """The API base URL: give it to PyGithub as ``base_url``."""
        return self.root_url + self.prefix

    @property
    def blob_url(self) -> str:
        """Where artifact downloads redirect to (another port: another host, like GitHub)."""
        assert self._blobd is not None, "server not started"
        return f"http://127.0.0.1:{self._blobd.server_address[1]}"

    # -- clients --------------------------------------------------------------------
    def github(self, token: str = BOT_TOKEN, **kwargs: Any) -> Any:
        """A PyGithub client on this server (no retries, no throttling, 5 s timeout)."""
        import github

        kwargs.setdefault("retry", None)
        kwargs.setdefault("timeout", 5)
        kwargs.setdefault("seconds_between_requests", 0)
        kwargs.setdefault("seconds_between_writes", 0)
        return github.Github(base_url=self.url, auth=github.Auth.Token(token), **kwargs)

    def session(self, token: str | None = BOT_TOKEN) -> Any:
        """A ``requests.Session`` with GitHub's headers; call ``s.get(srv.url + path)``."""
        import requests

        s = requests.Session()
        s.headers["Accept"] = "application/vnd.github+json"
        s.headers["X-GitHub-Api-Version"] = "2022-11-28"
        if token is not None:
            s.headers["Authorization"] = f"Bearer {token}"
        return s

    # -- inspection -----------------------------------------------------------------
    def calls(self, path: str = ".*", method: str | None = None) -> list[RequestRecord]:
        """Recorded requests whose API path matches the regex ``path`` (re.search)."""
        rx = re.compile(path)
        with self._log_lock:
            return [
                r
                for r in self.log
                if rx.search(r.path) and (method is None or r.method == method.upper())
            ]

    def count(self, path: str = ".*", method: str | None = None) -> int:
        return len(self.calls(path, method))

    @property
    def bot_token(self) -> str:
        return BOT_TOKEN

    @property
    def user_token(self) -> str:
        return USER_TOKEN

    @property
    def unexpected(self) -> list[RequestRecord]:
        """Requests to paths/methods outside the spec (or not implemented here)."""
        with self._log_lock:
            return [r for r in self.log if r.unexpected and not r.acknowledged]

    def take_unexpected(self) -> list[RequestRecord]:
        """Return the unexpected requests and acknowledge them (``verify()`` then passes)."""
        with self._log_lock:
            out = [r for r in self.log if r.unexpected and not r.acknowledged]
            for r in out:
                r.acknowledged = True
        return out

    def assert_no_unexpected(self) -> None:
        bad = self.unexpected
        if bad:
            raise AssertionError(
                "unexpected requests to the GitHub test server:\n" + "\n".join(map(str, bad))
            )

    def check(self) -> None:
        """Raise if any response failed schema validation or a handler crashed."""
        if self.errors:
            raise ServerCheckError("GitHub test server errors:\n\n" + "\n\n".join(self.errors))

    def verify(self) -> None:
        """``check()``, plus ``assert_no_unexpected()`` when ``fail_on_unexpected``."""
        self.check()
        if self.fail_on_unexpected:
            self.assert_no_unexpected()

    def take_errors(self) -> list[str]:
        errors, self.errors = self.errors, []
        return errors

    def reset_log(self) -> None:
        with self._log_lock:
            self.log.clear()

    # -- request processing ---------------------------------------------------------
    def _rate(self, token: Token) -> dict[str, int]:
        limit = 1000 if token.is_app else 5000
        used = self._used.get(token.value, 0)
        return {
            "limit": limit,
            "used": used,
            "remaining": max(0, limit - used),
            "reset": self._reset_at,
        }

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        started = time.monotonic()
        method = h.command
        split = urllib.parse.urlsplit(h.path)
        pairs = urllib.parse.parse_qsl(split.query, keep_blank_values=True)
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body: Any = raw
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
        rec = RequestRecord(
            method=method,
            path=split.path,
            query=urllib.parse.parse_qs(split.query, keep_blank_values=True),
            headers={k: v for k, v in h.headers.items() if k.lower() != "authorization"},
            body=body if raw else None,
        )
        with self._log_lock:
            self.log.append(rec)
        api_path = self._strip_prefix(split.path)
        if api_path is not None:
            rec.path = api_path
        fault = self.faults.take(method, rec.path)
        if fault is not None:
            rec.fault = fault.kind
            if fault.kind == "reset":
                _reset(h)
                rec.duration = time.monotonic() - started
                return
            if fault.kind == "slow":
                time.sleep(fault.seconds)
            elif fault.kind in ("status", "rate_limit", "secondary_rate_limit"):
                status, headers, fbody = canned(fault, _login_hint(self.state, h.headers))
                self._finish(h, rec, _Result(status, fbody, headers, _ctype(fbody)), None, started)
                return
        if api_path is None:
            rec.unexpected = True
            result = _Result(
                404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}
            )
        else:
            result = self._dispatch(
                method if method != "HEAD" else "GET", api_path, pairs, raw, h, rec
            )
        self._finish(h, rec, result, fault if fault and fault.kind == "truncate" else None, started)

    def _strip_prefix(self, path: str) -> str | None:
        if not self.prefix:
            return path
        if path == self.prefix or path.startswith(self.prefix + "/"):
            return path[len(self.prefix) :] or "/"
        return None

    def _finish(
        self,
        h: BaseHTTPRequestHandler,
        rec: RequestRecord,
        result: _Result,
        truncate: Fault | None,
        started: float,
    ) -> None:
        rec.status = result.status
        if result.status >= 400 and isinstance(result.body, dict):
            rec.error = str(result.body.get("message"))
        if result.body is None:
            payload = b""
        elif isinstance(result.body, bytes | str):
            payload = result.body.encode() if isinstance(result.body, str) else result.body
        else:
            payload = json.dumps(result.body).encode()
        headers = {
            "X-GitHub-Request-Id": uuid.uuid4().hex[:20].upper(),
            "X-GitHub-Api-Version-Selected": "2022-11-28",
            "X-GitHub-Media-Type": "github.v3; format=json",
            **({"X-GitHub-Enterprise-Version": "3.14.0"} if self.enterprise else {}),
            **result.headers,
        }
        if payload and result.content_type:
            headers.setdefault("Content-Type", result.content_type)
        try:
            h.send_response(result.status)
            for k, v in headers.items():
                h.send_header(k, v)
            if truncate is not None and payload:
                sent = payload[: int(len(payload) * truncate.keep)]
                h.send_header("Content-Length", str(len(payload) + max(16, len(payload) // 2)))
                h.end_headers()
                h.wfile.write(sent)
                h.wfile.flush()
                h.close_connection = True
                h.connection.shutdown(socket.SHUT_WR)
            else:
                h.send_header("Content-Length", str(len(payload)))
                h.end_headers()
                if h.command != "HEAD":
                    h.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True
        rec.duration = time.monotonic() - started

    def _dispatch(
        self,
        method: str,
        api_path: str,
        pairs: list[tuple[str, str]],
        raw: bytes,
        h: BaseHTTPRequestHandler,
        rec: RequestRecord,
    ) -> _Result:
        op, params, _ = self.spec.match(method, api_path)
        if op is None:
            rec.unexpected = True
            return _Result(
                404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}
            )
        rec.operation_id = op.operation_id
        token = self._auth(h.headers.get("Authorization"))
        if token is None:
            message = (
                "Requires authentication"
                if not h.headers.get("Authorization")
                else "Bad credentials"
            )
            return _Result(401, {"message": message, "documentation_url": DOCS, "status": "401"})
        rec.login = token.user.login
        with self._log_lock:
            self._used[token.value] = self._used.get(token.value, 0) + 1
        rate_headers = {} if self.enterprise else _rate_headers(self._rate(token))
        try:
            query = self._query(op, pairs)
            body = self._body(op, raw)
            handler = HANDLERS.get(op.operation_id)
            if handler is None:
                rec.unexpected = True
                raise ApiError(
                    501, f"ghserver does not implement {op.operation_id}", doc=op.doc_url
                )
            assert self.shapes is not None
            ctx = Ctx(
                state=self.state,
                shapes=self.shapes,
                op=op,
                params=params,
                query=query,
                raw_query=pairs,
                body=body,
                token=token,
                request_headers=h.headers,
                self_url=self.url + api_path,
                options={
                    "enterprise": self.enterprise,
                    "blob_url": self.blob_url,
                    "rate": self._rate,
                    "app_tokens_can_read_teams": self.app_tokens_can_read_teams,
                },
            )
            with self.state.lock:
                reply: Reply = handler(ctx)
        except ApiError as e:
            reply = Reply(e.status, e.body(op.doc_url), e.headers)
        except Exception:  # a bug in the test server or in seeded state: fail the test
            tb = traceback.format_exc()
            self.errors.append(f"{method} {api_path} ({op.operation_id}): handler crashed\n{tb}")
            reply = Reply(
                500,
                {"message": "ghserver handler crashed (see srv.errors)", "documentation_url": DOCS},
            )
        result = _Result(
            reply.status, reply.body, {**rate_headers, **reply.headers}, reply.content_type or JSON
        )
        if reply.content_type is None and reply.body is not None:
            problems = self.spec.response_errors(op, reply.status, reply.body)
            if problems:
                msg = (
                    f"{method} {api_path} ({op.operation_id}) -> {reply.status}: response does not "
                    "match the spec schema:\n  " + "\n  ".join(problems[:20])
                )
                if self.strict:
                    self.errors.append(msg)
                    result = _Result(
                        500,
                        {"message": "ghserver: response failed schema validation (see srv.errors)"},
                        rate_headers,
                    )
        return result

    def _auth(self, header: str | None) -> Token | None:
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() == "basic":
            import base64

            try:
                value = base64.b64decode(value).decode().partition(":")[2]
            except ValueError:
                return None
        elif scheme.lower() not in ("token", "bearer"):
            return None
        return self.state.tokens.get(value)

    def _query(self, op: Operation, pairs: list[tuple[str, str]]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, text in pairs:
            p = op.param(name, "query")
            if p is None:
                continue  # GitHub ignores unknown query parameters
            kind = p.schema.get("type")
            value: Any = text
            try:
                if kind == "integer":
                    value = int(text)
                elif kind == "boolean":
                    if text not in ("true", "false"):
                        raise ValueError(text)
                    value = text == "true"
            except ValueError:
                raise _query_error(op, name, f"{text!r} is not a valid {kind}") from None
            errors = list(
                jsonschema.Draft202012Validator(
                    p.schema, format_checker=FORMAT_CHECKER
                ).iter_errors(value)
            )
            if errors:
                raise _query_error(op, name, errors[0].message)
            out[name] = value
        if out.get("per_page", 0) > 100:
            if self.per_page_over_max == "reject":
                raise _query_error(op, "per_page", "per_page must be at most 100")
            out["per_page"] = 100
        return out

    def _body(self, op: Operation, raw: bytes) -> Any:
        if op.request_schema is None:
            return None
        if not raw.strip():
            if not op.request_required:
                return None
            body: Any = {}
        else:
            try:
                body = json.loads(raw)
            except ValueError:
                raise ApiError(400, "Problems parsing JSON", doc=op.doc_url) from None
        validator = self.spec.validator(op, "request")
        errors = sorted(validator.iter_errors(body), key=lambda e: (len(e.path), str(e.path)))
        if errors:
            raise ApiError(422, github_validation_message(errors[0]), doc=op.doc_url)
        return body


class _BlobHandler(BaseHTTPRequestHandler):
    """Artifact blob storage: GET /<key> -> the zip (no auth needed; the URL is signed)."""

    protocol_version = "HTTP/1.1"
    server_version = "Windows-Azure-Blob/1.0"
    timeout = 15

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        gh: GHServer = self.server.gh  # type: ignore[attr-defined]
        started = time.monotonic()
        split = urllib.parse.urlsplit(self.path)
        rec = RequestRecord(
            "GET",
            "/_blobs" + split.path,
            urllib.parse.parse_qs(split.query),
            {k: v for k, v in self.headers.items() if k.lower() != "authorization"},
            None,
            operation_id="blob",
        )
        rec.headers["x-ghserver-auth-sent"] = "yes" if self.headers.get("Authorization") else "no"
        with gh._log_lock:
            gh.log.append(rec)
        fault = gh.faults.take("GET", rec.path)
        if fault is not None:
            rec.fault = fault.kind
            if fault.kind == "reset":
                _reset(self)
                return
            if fault.kind == "slow":
                time.sleep(fault.seconds)
            elif fault.kind != "truncate":
                status, headers, body = canned(fault, "blob")
                gh._finish(self, rec, _Result(status, body, headers, _ctype(body)), None, started)
                return
        blob = gh.state.blobs.get(split.path.lstrip("/"))
        if blob is None:
            rec.unexpected = True
            result = _Result(
                404, b"<Error><Code>BlobNotFound</Code></Error>", {}, "application/xml"
            )
        else:
            result = _Result(200, blob[0], {}, blob[1])
        gh._finish(
            self, rec, result, fault if fault and fault.kind == "truncate" else None, started
        )


def _reset(h: BaseHTTPRequestHandler) -> None:
    """Abort the TCP connection (RST) without answering."""
    h.close_connection = True
    try:
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()
    except OSError:
        pass


def _ctype(body: Any) -> str | None:
    if isinstance(body, str):
        return "text/html; charset=utf-8"
    return JSON if body is not None else None


def _rate_headers(rate: dict[str, int]) -> dict[str, str]:
    return {
        "x-ratelimit-limit": str(rate["limit"]),
        "x-ratelimit-remaining": str(rate["remaining"]),
        "x-ratelimit-reset": str(rate["reset"]),
        "x-ratelimit-used": str(rate["used"]),
        "x-ratelimit-resource": "core",
    }


def _login_hint(state: State, headers: Any) -> str:
    value = (headers.get("Authorization") or "").partition(" ")[2]
    token = state.tokens.get(value.strip())
    return token.user.login if token else "anonymous"


def _query_error(op: Operation, name: str, message: str) -> ApiError:
    return ApiError(
        422,
        "Validation Failed",
        errors=[
            {
                "resource": op.operation_id.split("/")[0],
                "field": name,
                "code": "invalid",
                "message": message,
            }
        ],
        doc=op.doc_url,
    )
