"""The gate's report sections, typed: one frozen struct per section, one `to_dict` each.

`Sections.to_dict()` is what the JSON report (render.report) and the decision record
(gate.record) read; its keys and their order are the report's (tests/golden and
tests/gate/test_record.py pin them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gatekeeper.decision import Decision
from gatekeeper.gate.headcheck import Tampering
from gatekeeper.gate.signed_overrides import OverrideResult, OverridesUnavailable
from gatekeeper.pr.approvals import ApprovalResult, NotCounted
from gatekeeper.pr.authorship import Authorship
from gatekeeper.pr.facts import PullRequestFacts
from gatekeeper.pr.trust_root import TrustRootChange


@dataclass(frozen=True, slots=True)
class PlanFilesSource:
    """Single-workflow setup: plan files made in this job for `made_for`."""

    made_for: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "plan files", "made_for": self.made_for}


@dataclass(frozen=True, slots=True)
class PlanArtifactSource:
    """Split setup: the plan bundle(s) the plan workflow uploaded."""

    workflow: str
    artifact: str
    run_id: int | None
    run_url: str | None
    artifact_id: int | None
    artifact_digest: str | None
    bundles: tuple[tuple[str, int, str], ...]  # (artifact name, id, digest)
    no_plan: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "plan artifact",
            "workflow": self.workflow,
            "artifact": self.artifact,
            "run_id": self.run_id,
            "run_url": self.run_url,
            "artifact_id": self.artifact_id,
            "artifact_digest": self.artifact_digest,
            "bundles": [
                {"artifact": name, "id": art_id, "digest": digest}
                for name, art_id, digest in self.bundles
            ],
            "no_plan": list(self.no_plan),
        }


AnalysisSource = PlanFilesSource | PlanArtifactSource


@dataclass(frozen=True, slots=True)
class PullRequestSection:
    repository: str
    number: int
    event: str
    check_sha: str | None
    facts: PullRequestFacts | None = None  # the snapshot, once read
    policy: str | None = None  # where the policy was read (Policy.source)
    trust_root: Mapping[str, str] | None = None  # TrustRoot.record()
    analysis_source: AnalysisSource | None = None

    def to_dict(self) -> dict[str, Any]:
        sec: dict[str, Any] = {
            "repository": self.repository,
            "number": self.number,
            "event": self.event,
            "check_sha": self.check_sha,
        }
        f = self.facts
        if f is not None:
            sec.update(
                head_sha=f.head_sha,
                base_sha=f.base_sha,
                head_ref=f.head_ref,
                author=f.author.login,
                draft=f.draft,
                commits=f.commits_count,
                commits_listed=len(f.commits),
                reviews=len(f.reviews),
                comments=len(f.comments),
                changed_files=f.changed_files_count,
                policy=self.policy,
            )
        if self.trust_root is not None:
            sec["trust_root"] = dict(self.trust_root)
        if self.analysis_source is not None:
            sec["analysis_source"] = self.analysis_source.to_dict()
        return sec


@dataclass(frozen=True, slots=True)
class AuthorshipSection:
    authorship: Authorship
    trust_root_changes: tuple[TrustRootChange, ...]

    def to_dict(self) -> dict[str, Any]:
        a = self.authorship
        return {
            "agent_authored": a.agent_authored,
            "evidence": [
                {
                    "kind": e.kind,
                    "source": e.source,
                    "text": e.text,
                    "self_reported": e.self_reported,
                }
                for e in a.evidence
            ],
            "operators": [
                {"login": o.login, "email": o.email, "roles": list(o.roles)} for o in a.operators
            ],
            "trust_root_changes": [
                {"path": t.path, "status": t.status, "what": t.what, "pattern": t.pattern}
                for t in self.trust_root_changes
            ],
        }


def _not_counted(xs: Sequence[NotCounted]) -> list[dict[str, Any]]:
    return [
        {"login": x.login, "id": x.id, "reason": x.reason, "commit_id": x.commit_id} for x in xs
    ]


@dataclass(frozen=True, slots=True)
class ApprovalsSection:
    result: ApprovalResult | None  # None: not evaluated (plan pending)

    def to_dict(self) -> dict[str, Any]:
        appr = self.result
        if appr is None:
            return {}
        return {
            "required": appr.required.count,
            "required_because": appr.required.why,
            "counted": [
                {"login": a.login, "id": a.id, "commit_id": a.commit_id, "review_id": a.review_id}
                for a in appr.counted
            ],
            "excluded": _not_counted(appr.excluded),
            "stale": _not_counted(appr.stale),
            "changes_requested": _not_counted(appr.changes_requested),
            "changes_requested_blocks": appr.changes_requested_blocks,
            "missing": appr.missing,
        }


@dataclass(frozen=True, slots=True)
class OverridesSection:
    outcome: OverrideResult | None  # None: no override was considered

    def to_dict(self) -> dict[str, Any]:
        o = self.outcome
        if o is None:
            return {"considered": False}
        out: dict[str, Any] = {
            "considered": True,
            "available": o.available,
            "unavailable_reason": o.unavailable_reason,
            "required": o.required,
            "principals": list(o.principals),
            "satisfied": o.satisfied,
        }
        if isinstance(o, OverridesUnavailable):
            out["accepted"], out["blocks"] = [], []
            return out
        out["accepted"] = [
            {
                "comment_id": a.comment_id,
                "principal": a.principal,
                "key_fingerprint": a.key_fingerprint,
                "reason": a.reason,
                "issued_at": a.issued_at.isoformat(),
                "expires_at": a.expires_at.isoformat(),
                "comment_url": a.comment_url,
                "author_login": a.author_login,
            }
            for a in o.accepted
        ]
        out["blocks"] = [
            {
                "comment_id": b.comment_id,
                "author_login": b.author_login,
                "counted": b.counted,
                "rejection": str(b.rejection) if b.rejection else None,
                "detail": b.detail,
            }
            for b in o.blocks
        ]
        return out


@dataclass(frozen=True, slots=True)
class HeadPull:
    """One open PR with the head commit; `decision` None: not evaluated (its base branch
    is not protected)."""

    number: int
    base_ref: str
    protected: bool
    decision: Decision | None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "number": self.number,
            "base_ref": self.base_ref,
            "protected": self.protected,
        }
        if self.decision is not None:
            out["decision"] = self.decision.outcome
            out["headline"] = self.decision.headline
        return out


@dataclass(frozen=True, slots=True)
class HeadSection:
    sha: str
    pull_requests: tuple[HeadPull, ...]
    decided_by: int
    tampering: tuple[Tampering, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sha": self.sha,
            "pull_requests": [p.to_dict() for p in self.pull_requests],
            "decided_by": self.decided_by,
            "tampering": [t.record() for t in self.tampering],
        }


@dataclass(frozen=True, slots=True)
class Sections:
    """The report's sections about the PR; a section left None is not in the report."""

    pull_request: PullRequestSection | None = None
    authorship: AuthorshipSection | None = None
    approvals: ApprovalsSection | None = None
    overrides: OverridesSection | None = None
    head: HeadSection | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("pull_request", "authorship", "approvals", "overrides", "head"):
            section = getattr(self, key)
            if section is not None:
                out[key] = section.to_dict()
        return out
