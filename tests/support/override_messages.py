"""The PR override message every override test starts from: the spec's example
(design/SIGNED-OVERRIDES.md) and a builder for variations of it."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from gatekeeper.overrides.evaluate import OverrideContext
from gatekeeper.overrides.message import OverrideMessage, sort_changes
from gatekeeper.policy.model import OverridePolicy

DOMAIN = "acme.example"
NS = "gatekeeper-override-v1@acme.example"
HEAD = "3f786850e387550fdab836ed7e6dc881de23001b"
PLAN = hashlib.sha256(b"plan").hexdigest()
CHANGES = (
    ("replace", "aws_db_instance.main"),
    ("delete", 'module.logs["eu west"].aws_s3_bucket.this'),
)
ISSUED = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOW = ISSUED + timedelta(minutes=30)
CONTEXT = OverrideContext("acme/infra", 1234, HEAD, PLAN, CHANGES)
POLICY = OverridePolicy(enabled=True, namespace_domain=DOMAIN)

SPEC_EXAMPLE = (
    "gatekeeper-override v1\n"
    "repository: acme/infra\n"
    "pull_request: 1234\n"
    "head_sha: 3f786850e387550fdab836ed7e6dc881de23001b\n"
    f"plan_sha256: {PLAN}\n"
    'change: replace "aws_db_instance.main"\n'
    'change: delete "module.logs[\\"eu west\\"].aws_s3_bucket.this"\n'
    "approver: alice@acme.example\n"
    "issued_at: 2026-06-01T12:00:00Z\n"
    "expires_at: 2026-06-01T14:00:00Z\n"
    "reason: INC-4711 rotate master credentials\n"
).encode()


def message(**fields: object) -> OverrideMessage:
    base = OverrideMessage(
        repository="acme/infra",
        pull_request=1234,
        head_sha=HEAD,
        plan_sha256=PLAN,
        changes=sort_changes(CHANGES),
        approver="alice@acme.example",
        issued_at=ISSUED,
        expires_at=ISSUED + timedelta(hours=2),
        reason="INC-4711 rotate master credentials",
    )
    return replace(base, **fields)  # type: ignore[arg-type]
