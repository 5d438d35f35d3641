"""The apply guard's decision: may this plan be applied? (`gatekeeper verify`, pure core)

The plan about to be applied is classified under the default branch's policy. Nothing gated:
it may proceed. Otherwise its gated changes must be exactly the ones the gate approved for the
PR that brought the commit (the decision record, gatekeeper.gate.record), by the same digest
(classify.plan_digest); `apply.subset` also accepts a strict subset. Or a signed apply
override (gatekeeper.overrides.apply) must cover this commit, run and plan.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from gatekeeper.classify import Analysis
from gatekeeper.errors import EXIT_ALLOW, EXIT_BLOCK, EXIT_INPUT
from gatekeeper.gate.record import DecisionRecord, GatedItem, gated_items

MAX_LISTED = 20  # changes named in the headline's details, the rest counted


@dataclass(frozen=True, slots=True)
class Verdict:
    exit_code: int  # 0 may proceed, 1 not approved, 2 bad input/config
    headline: str
    details: tuple[str, ...] = ()
    not_approved: tuple[GatedItem, ...] = ()  # gated in the plan, not in the approval
    disappeared: tuple[GatedItem, ...] = ()  # approved, no longer in the plan

    @property
    def allowed(self) -> bool:
        return self.exit_code == EXIT_ALLOW


def item_line(item: GatedItem) -> str:
    """ "delete+create ADDRESS": one gated item, as verdicts list it."""
    return f"{'+'.join(item.actions)} {item.address}"


def _listed(prefix: str, items: Sequence[GatedItem]) -> list[str]:
    out = [f"{prefix}: {item_line(i)}" for i in items[:MAX_LISTED]]
    if len(items) > MAX_LISTED:
        out.append(f"{prefix}: ... and {len(items) - MAX_LISTED} more")
    return out


def _minus(a: Iterable[GatedItem], b: Iterable[GatedItem]) -> tuple[GatedItem, ...]:
    """Multiset difference, in the digest's order (the same object may be gated twice, in
    two plans)."""
    left = Counter(i.key for i in b)
    out = []
    for item in a:
        if left[item.key]:
            left[item.key] -= 1
        else:
            out.append(item)
    return tuple(out)


def nothing_gated(analysis: Analysis) -> Verdict | None:
    """The passing verdict when the plan gates nothing, else None (the record decides)."""
    if analysis.gated:
        return None
    n = len(analysis.destructive)
    extra = f" ({n} destructive, none production)" if n else ""
    return Verdict(EXIT_ALLOW, f"may proceed: no gated changes in the plan{extra}")


def compare_with_record(
    analysis: Analysis, record: DecisionRecord, *, subset: bool, where: str
) -> Verdict:
    """The plan against the gate's final decision for the PR (`where`: "PR #4 at abc123")."""
    if record.outcome != "allow" or record.advisory:
        why = "advisory mode, not enforced" if record.advisory else record.outcome
        return Verdict(
            EXIT_BLOCK,
            f"not approved: the gate's final decision for {where} was not an allow ({why})",
            (f"gate: {record.headline}",) if record.headline else (),
        )
    if not record.gated_complete:
        return Verdict(
            EXIT_BLOCK,
            f"not approved: the decision record for {where} lists no changes: its "
            f"{record.gated_count} gated changes were too many to record in the check run",
            ("apply it with a signed apply override (gatekeeper sign --apply)",),
        )
    current = gated_items(analysis)
    n = len(current)
    if analysis.plan_digest == record.plan_digest:
        who = ", ".join(f"@{a.login}" for a in record.approvers) or "none"
        by = f"signed overrides ({', '.join(o.principal for o in record.overrides)})"
        how = f"approvals: {who}" if record.approvers or not record.overrides else by
        return Verdict(
            EXIT_ALLOW,
            f"may proceed: the plan's {n} gated change{'s' if n != 1 else ''} are the ones "
            f"approved for {where} ({how})",
            (f"digest {analysis.plan_digest}",),
        )
    extra = _minus(current, record.gated)
    gone = _minus(record.gated, current)
    details = tuple(_listed("not approved", extra) + _listed("approved, not in the plan", gone))
    if extra:
        return Verdict(
            EXIT_BLOCK,
            f"not approved: {len(extra)} gated change{'s' if len(extra) != 1 else ''} in the "
            f"plan {'were' if len(extra) != 1 else 'was'} not approved for {where}: "
            + ", ".join(item_line(i) for i in extra[:3])
            + (" ..." if len(extra) > 3 else ""),
            details,
            extra,
            gone,
        )
    if subset:
        return Verdict(
            EXIT_ALLOW,
            f"may proceed: the plan's {n} gated changes are a strict subset of the ones "
            f"approved for {where} (apply.subset: true); {len(gone)} approved "
            f"change{'s' if len(gone) != 1 else ''} no longer in the plan",
            details,
            (),
            gone,
        )
    return Verdict(
        EXIT_BLOCK,
        f"not approved: {len(gone)} approved gated change{'s' if len(gone) != 1 else ''} "
        f"{'are' if len(gone) != 1 else 'is'} no longer in the plan, so it is not the plan "
        f"approved for {where}: " + ", ".join(item_line(i) for i in gone[:3]),
        (*details, "set apply.subset: true in the policy to allow applying a strict subset"),
        (),
        gone,
    )


def refuse_forgeable(app_id_hint: str) -> Verdict:
    """The verdict when the gate's check could have been posted by any workflow (exit 2)."""
    return Verdict(
        EXIT_INPUT,
        "cannot verify approvals: identity.app_id is not set, so the gate's check runs come "
        "from GitHub Actions, which any workflow in the repository can imitate",
        (app_id_hint,),
    )
