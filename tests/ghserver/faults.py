"""Programmable faults: "the next N requests matching METHOD + path regex misbehave".

Faults are consumed in the order they were added: a request takes the first registered
fault that matches it and still has uses left. ``path`` is a regular expression searched
(``re.search``) in the API path without the ``/api/v3`` prefix and without the query.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

RATE_LIMIT_DOC = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
REQUEST_ID = "0000:0000:0000000:0000000:00000000"
SECONDARY_DOC = (
    "https://docs.github.com/free-pro-team@latest/rest/overview/"
    "rate-limits-for-the-rest-api#about-secondary-rate-limits"
)


@dataclass
class Fault:
    kind: str  # status | slow | rate_limit | secondary_rate_limit | truncate | reset
    path: re.Pattern[str]
    method: str | None = None
    times: int = 1
    status: int = 500
    body: Any = None  # dict -> JSON, str/bytes -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    keep: float = 0.5  # truncate: fraction of the body that is sent
    used: int = 0

    @property
    def left(self) -> int:
        return self.times - self.used

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and bool(self.path.search(path))


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for f in self._faults:
                if f.left > 0 and f.matches(method, path):
                    f.used += 1
                    return f
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [f for f in self._faults if f.left > 0]

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    # -- the ways to break a request ------------------------------------------------
    def error(
        self, path: str = ".*", status: int = 500, *, method: str | None = None, times: int = 1
    ) -> Fault:
        """500/502/503 with the body GitHub's front end sends for them."""
        bodies: dict[int, Any] = {
            500: {"message": "Server Error", "documentation_url": "https://docs.github.com/rest"},
            502: "<html><body><h1>502 Bad Gateway</h1></body></html>\n",
            503: {
                "message": "Service Unavailable",
                "documentation_url": "https://docs.github.com/rest",
            },
            504: "<html><body><h1>504 Gateway Time-out</h1></body></html>\n",
        }
        return self.respond(
            path,
            status,
            bodies.get(status, {"message": "Server Error"}),
            method=method,
            times=times,
        )

    def respond(
        self,
        path: str,
        status: int,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        method: str | None = None,
        times: int = 1,
    ) -> Fault:
        """Any canned answer (e.g. a 403 "Resource not accessible by integration")."""
        return self.add(
            Fault("status", re.compile(path), _m(method), times, status, body, dict(headers or {}))
        )

    def slow(
        self, path: str = ".*", seconds: float = 1.0, *, method: str | None = None, times: int = 1
    ) -> Fault:
        """Sleep before answering normally (client timeouts)."""
        return self.add(Fault("slow", re.compile(path), _m(method), times, seconds=seconds))

    def rate_limit(
        self, path: str = ".*", *, reset_in: int = 60, method: str | None = None, times: int = 1
    ) -> Fault:
        """Primary rate limit: 403, x-ratelimit-remaining: 0, x-ratelimit-reset in reset_in s."""
        return self.add(
            Fault("rate_limit", re.compile(path), _m(method), times, 403, seconds=reset_in)
        )

    def secondary_rate_limit(
        self,
        path: str = ".*",
        *,
        retry_after: int = 60,
        status: int = 403,
        method: str | None = None,
        times: int = 1,
    ) -> Fault:
        """Secondary rate limit: 403 (or 429) with Retry-After."""
        return self.add(
            Fault(
                "secondary_rate_limit",
                re.compile(path),
                _m(method),
                times,
                status,
                seconds=retry_after,
            )
        )

    def truncate(
        self, path: str = ".*", *, keep: float = 0.5, method: str | None = None, times: int = 1
    ) -> Fault:
        """The real answer, but Content-Length promises more than is sent; then close."""
        return self.add(Fault("truncate", re.compile(path), _m(method), times, keep=keep))

    def reset(self, path: str = ".*", *, method: str | None = None, times: int = 1) -> Fault:
        """Close the connection with a TCP RST instead of answering."""
        return self.add(Fault("reset", re.compile(path), _m(method), times))


def _m(method: str | None) -> str | None:
    return method.upper() if method else None


def canned(fault: Fault, login: str) -> tuple[int, dict[str, str], Any]:
    """Status, headers and body for the faults that replace the answer."""
    now = int(time.time())
    if fault.kind == "rate_limit":
        headers = {
            "x-ratelimit-limit": "5000",
            "x-ratelimit-remaining": "0",
            "x-ratelimit-used": "5000",
            "x-ratelimit-reset": str(now + int(fault.seconds)),
            "x-ratelimit-resource": "core",
        }
        body = {
            "message": f"API rate limit exceeded for user ID {abs(hash(login)) % 10**7}. If you "
            "reach out to GitHub Support for help, please include the request ID "
            f"{REQUEST_ID}.",
            "documentation_url": RATE_LIMIT_DOC,
            "status": "403",
        }
        return 403, headers, body
    if fault.kind == "secondary_rate_limit":
        body = {
            "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
            "before you try again. If you reach out to GitHub Support for help, please include "
            f"the request ID {REQUEST_ID}.",
            "documentation_url": SECONDARY_DOC,
            "status": str(fault.status),
        }
        return fault.status, {"retry-after": str(int(fault.seconds))}, body
    return fault.status, dict(fault.headers), fault.body
