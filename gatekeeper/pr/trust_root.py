"""Gate the gate: changes to the files that hold the rules.

A PR that touches the workflows, the policy file, the allowed_signers file or CODEOWNERS can
rewrite the gate itself. In an agent-authored PR such a change is a gated change even when
the plan is empty, and no signed override can waive it. Paths are compared case-insensitively
(stricter), and a rename counts for both its old and its new path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from gatekeeper import globs
from gatekeeper.policy.model import Policy
from gatekeeper.pr.facts import ChangedFile


@dataclass(frozen=True, slots=True)
class TrustRootChange:
    path: str
    status: str
    pattern: str  # the trust-root path or glob it matched
    what: str  # "policy file" | "allowed_signers file" | "gate path"

    def line(self) -> str:
        return f"{self.path} ({self.status}): {self.what} {self.pattern!r}"


def trust_root_changes(
    files: Iterable[ChangedFile], policy: Policy, *, truncated: bool = False
) -> tuple[TrustRootChange, ...]:
    """The changed files that touch the trust root. `truncated`: GitHub did not list every
    changed file (it stops at 3000), so the unseen ones count as a trust-root change."""
    named = (
        (policy.path, "policy file"),
        (policy.overrides.allowed_signers_path, "allowed_signers file"),
        *((p, "gate path") for p in policy.gate_paths),
    )
    out: list[TrustRootChange] = []
    for f in files:
        for path in (f.path, f.previous_path):
            if not path:
                continue
            norm = path.lstrip("/")
            hit = next(
                ((p, what) for p, what in named if globs.match(p, norm, casefold=True, path=True)),
                None,
            )
            if hit is not None:
                out.append(TrustRootChange(path, f.status, hit[0], hit[1]))
                break
    if truncated:
        out.append(
            TrustRootChange(
                "(files beyond those GitHub lists)", "unseen", "**", "unseen changed files"
            )
        )
    return tuple(out)
