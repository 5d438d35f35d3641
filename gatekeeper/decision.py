"""allow / block / error, with the explanation a reviewer reads first."""

from __future__ import annotations

from dataclasses import dataclass

from gatekeeper.classify import Analysis
from gatekeeper.errors import EXIT_ALLOW, EXIT_BLOCK, EXIT_INPUT
from gatekeeper.policy import Policy

ALLOW = "allow"
BLOCK = "block"
ERROR = "error"


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: str  # allow | block | error
    headline: str  # one line: what is decided and what is missing
    details: tuple[str, ...] = ()
    advisory: bool = False  # advisory mode reports a block but never fails

    @property
    def exit_code(self) -> int:
        if self.outcome == ERROR:
            return EXIT_INPUT
        if self.outcome == BLOCK and not self.advisory:
            return EXIT_BLOCK
        return EXIT_ALLOW


def decide_offline(analysis: Analysis, policy: Policy) -> Decision:
    """`gatekeeper check`: no PR, so no approvals: any gated change blocks."""
    advisory = policy.mode == "advisory"
    gated = analysis.gated
    if not gated:
        n = len(analysis.destructive)
        extra = f" ({n} destructive, none production)" if n else ""
        return Decision(ALLOW, f"allowed: no gated changes{extra}", advisory=advisory)
    prod = sum(1 for c in gated if c.production)
    possibly = len(gated) - prod
    parts = [f"{prod} production"] if prod else []
    if possibly:
        parts.append(f"{possibly} possibly production")
    noun = "change" if len(gated) == 1 else "changes"
    headline = (
        f"blocked: {len(gated)} destructive {noun} to production ({', '.join(parts)}) "
        "need human approval"
    )
    if advisory:
        headline += " [advisory mode: not enforced]"
    return Decision(BLOCK, headline, advisory=advisory)
