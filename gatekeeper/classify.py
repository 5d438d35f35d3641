"""Destructive? Production? Gated? Each answer with the reasons behind it.

Fail closed: a value that cannot be known (tags unknown until apply, a log with no attributes,
an action this program does not know) makes a destructive change "possibly production", and
that is gated like production.
"""

from __future__ import annotations

import enum
import functools
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from gatekeeper import globs
from gatekeeper.plan.model import Action, Plan, ResourceChange, canonical_json
from gatekeeper.plan.redact import (
    HIDDEN_KEY_PREFIX,
    change_secrets,
    hidden,
    is_sensitive,
    marks_nothing,
    memo,
    redact_change,
    redact_plan,
    redacted_before,
    without_values,
)
from gatekeeper.policy.model import Policy, ProductionPolicy
from gatekeeper.source.model import SourceFacts

SourceMap = Mapping[tuple[str, str], SourceFacts]  # (plan label, address) -> facts


class ReasonCode(enum.StrEnum):
    """Why a change is production (the first five) or possibly production (the rest)."""

    TAG = "tag"
    ADDRESS = "address"
    MODULE = "module"
    PLAN_LABEL = "plan_label"
    PROTECTED_TYPE = "protected_type"
    UNKNOWN_ACTION = "unknown_action"
    UNKNOWN_TAGS = "unknown_tags"
    UNKNOWN_TAG_SHAPE = "unknown_tag_shape"
    UNKNOWN_OBJECT = "unknown_object"
    REDACTED_TAGS = "redacted_tags"
    NO_ATTRIBUTES = "no_attributes"
    UNRESOLVED_TAGS = "unresolved_tags"
    SELF_REPORTED_TAGS = "self_reported_tags"


@dataclass(frozen=True, slots=True)
class Reason:
    code: ReasonCode
    text: str


class ClassifiedChange(msgspec.Struct, frozen=True, gc=False):
    """One change with its verdict. A frozen Struct for the same reason as ResourceChange."""

    change: ResourceChange
    destructive: bool
    production: bool
    possibly_production: bool
    gated: bool
    reasons: tuple[Reason, ...]
    notes: tuple[str, ...]
    source: SourceFacts | None = None

    @property
    def action_label(self) -> str:
        c = self.change
        if c.action is Action.REPLACE and c.replace_order is not None:
            return f"replace ({c.replace_order.value})"
        if c.action is Action.UNKNOWN:
            return f"unknown action {list(c.actions)}"
        return c.action.value


@dataclass(frozen=True, slots=True)
class Analysis:
    plans: tuple[Plan, ...]
    changes: tuple[ClassifiedChange, ...]
    plan_digest: str

    @property
    def gated(self) -> tuple[ClassifiedChange, ...]:
        return tuple(c for c in self.changes if c.gated)

    @property
    def destructive(self) -> tuple[ClassifiedChange, ...]:
        return tuple(c for c in self.changes if c.destructive)


def analyze(
    plans: Iterable[Plan],
    policy: Policy,
    source: SourceMap | None = None,
    *,
    values: bool = True,
) -> Analysis:
    """Classify every change. Each change is redacted first (`redact.redact_change`): the
    classifier, every renderer and the plan bundle see the same redacted changes, so a plan
    file and the bundle made from it give one classification and one diff.

    `values=False` when no output will show the values of a change the classifier does not
    look into (not destructive, no notes, no source facts: the bulk of a big plan; the text
    and JSON outputs show none, the Markdown diffs them): such a change is not redacted but
    stripped of its values if it marks any as sensitive (what is not kept cannot leak)."""
    out: list[ClassifiedChange] = []
    redacted: list[Plan] = []
    for plan in plans:
        changes: list[ResourceChange] = []
        for change in plan.changes:
            facts = source.get((plan.label, change.address)) if source else None
            if values or _looks_into(change, policy, facts):
                change = redact_change(change)
            elif change.has_attributes and not marks_nothing(change):
                change = without_values(change)
            changes.append(change)
            out.append(classify(change, policy, facts))
        redacted.append(redact_plan(plan, tuple(changes)))
    # Gated first (production before possibly), then other destructive changes, each sorted;
    # the rest, the bulk of a big plan, keep their plan order (Terraform sorts by address).
    gated = sorted((c for c in out if c.gated), key=_order)
    destructive = sorted((c for c in out if c.destructive and not c.gated), key=_order)
    rest = [c for c in out if not c.destructive]
    ordered = (*gated, *destructive, *rest)
    return Analysis(plans=tuple(redacted), changes=ordered, plan_digest=plan_digest(gated))


def _looks_into(change: ResourceChange, policy: Policy, facts: SourceFacts | None) -> bool:
    """Does `classify` read anything beyond the action? (the same test as its fast path)"""
    destructive = change.destructive or (
        policy.forget_is_destructive and change.action is Action.FORGET
    )
    return destructive or facts is not None or _has_notes(change)


def _order(c: ClassifiedChange) -> tuple[int, str, str]:
    return (0 if c.production else 1, c.change.plan, c.change.address)


def classify(
    change: ResourceChange, policy: Policy, facts: SourceFacts | None = None
) -> ClassifiedChange:
    """The change with its verdict (destructive, production, gated) and the reasons."""
    if not _looks_into(change, policy, facts):
        # The common case in a big plan: nothing to explain. Skip the reason machinery.
        return ClassifiedChange(change, False, False, False, False, (), ())
    destructive = change.destructive or (
        policy.forget_is_destructive and change.action is Action.FORGET
    )
    notes = _notes(change, facts)
    reasons: list[Reason] = []
    unknowns: list[Reason] = []
    if destructive:
        reasons, unknowns = production_reasons(change, policy.production, facts)
    production = bool(reasons)
    possibly = not production and bool(unknowns)
    return ClassifiedChange(
        change=change,
        destructive=destructive,
        production=production,
        possibly_production=possibly,
        gated=destructive and (production or possibly),
        reasons=tuple(reasons + unknowns),
        notes=notes,
        source=facts,
    )


def production_reasons(
    change: ResourceChange, prod: ProductionPolicy, facts: SourceFacts | None
) -> tuple[list[Reason], list[Reason]]:
    """(reasons it is production, reasons it might be). Both lists, every match listed."""
    found: list[Reason] = []
    unknown: list[Reason] = []
    if change.action is Action.UNKNOWN:
        unknown.append(
            Reason(
                ReasonCode.UNKNOWN_ACTION,
                f"action {list(change.actions)} is unknown to this gatekeeper: treated as "
                "destructive and possibly production",
            )
        )
    label_glob = globs.first_match(prod.plan_labels, change.plan)
    if label_glob:
        found.append(
            Reason(ReasonCode.PLAN_LABEL, f"plan label {change.plan!r} matches {label_glob!r}")
        )
    addr_glob = globs.first_match(prod.addresses, change.address)
    if addr_glob:
        found.append(Reason(ReasonCode.ADDRESS, f"address matches {addr_glob!r}"))
    elif change.module_address:
        mod_glob = globs.first_match(prod.addresses, change.module_address)
        if mod_glob:
            found.append(
                Reason(ReasonCode.MODULE, f"module {change.module_address} matches {mod_glob!r}")
            )
    type_glob = globs.first_match(prod.protected_types, change.type)
    if type_glob:
        found.append(
            Reason(
                ReasonCode.PROTECTED_TYPE,
                f"{change.type} is a protected type (stateful: {type_glob!r})",
            )
        )
    if change.has_attributes:
        _plan_tags(change, prod, found, unknown)
    else:
        _code_tags(change, prod, facts, found, unknown)
    return found, unknown


def _sides(change: ResourceChange) -> list[tuple[str, Any, Any, Any]]:
    """(side, value, sensitive mask, unknown mask) for the objects whose tags matter.

    A delete reads tags from before, a create from after, a replace (or unknown) from both."""
    sides: list[tuple[str, Any, Any, Any]] = []
    if change.action in (Action.DELETE, Action.REPLACE, Action.UNKNOWN, Action.FORGET):
        sides.append(("before", change.before(), change.before_sensitive(), None))
    if change.action in (Action.CREATE, Action.REPLACE, Action.UNKNOWN):
        sides.append(("after", change.after(), change.after_sensitive(), change.after_unknown()))
    return sides


def _plan_tags(
    change: ResourceChange, prod: ProductionPolicy, found: list[Reason], unknown: list[Reason]
) -> None:
    """Production tags read from the plan's values, through redaction: a value that every
    output hides (Terraform marked it sensitive, or it equals a secret) is never read, so the
    verdict is the same for the plan file and for its bundle, which carries only redacted
    values. A hidden production tag makes the change possibly production (fail closed)."""
    keys = _folded(prod.tag_keys)
    matches: dict[str, list[str]] = {}  # "attr.key = value" -> sides it was seen on
    masked: list[str] = []
    union, secrets = change_secrets(change)

    def is_hidden(value: Any, path: tuple[str, ...]) -> bool:
        return (
            hidden(value)
            or (bool(path) and is_sensitive(union, path))
            or (isinstance(value, str) and value in secrets)
        )

    if union is False and not secrets:  # nothing marked (most changes): placeholders only
        is_hidden = _only_placeholders

    objects = _sides(change)
    missing = _missing_object(change, objects)
    prior = _prior_side(change, objects, prod)
    if prior is not None:
        objects.append(prior)
    elif missing is not None:
        unknown.append(missing)
    for side, value, sens, unk in objects:
        if unk is True:
            unknown.append(
                Reason(ReasonCode.UNKNOWN_TAGS, f"the whole {side} object is unknown until apply")
            )
            continue
        if is_hidden(value, ()) or (union is True and value is not None):
            masked.append(f"the whole {side} object")
            continue
        if not isinstance(value, dict):
            continue
        for attr in prod.tag_attributes:
            if unk is not None and _any_true(_get(unk, attr), keys):
                unknown.append(
                    Reason(ReasonCode.UNKNOWN_TAGS, f"{side}.{attr} is known only after apply")
                )
            tags = value.get(attr)
            if tags is not None and is_hidden(tags, (attr,)):
                masked.append(f"{side}.{attr}")
                continue
            odd = _not_string_map(tags, True if sens is True else _get(sens, attr))
            if odd is not None:
                unknown.append(
                    Reason(
                        ReasonCode.UNKNOWN_TAG_SHAPE,
                        f"{side}.{attr} is {odd}, not a map of strings",
                    )
                )
            if not isinstance(tags, dict):
                continue
            for key, val in tags.items():
                if not isinstance(key, str):
                    continue
                if key in secrets or key.startswith(HIDDEN_KEY_PREFIX):
                    masked.append(f"{side}.{attr} (a key)")  # it may be a production tag key
                    continue
                if key.casefold() not in keys:
                    continue
                if is_hidden(val, (attr, key)):
                    masked.append(f"{side}.{attr}.{key}")
                    continue
                if not isinstance(val, str):
                    continue
                if globs.first_match(prod.tag_values, val, casefold=True):
                    # prior_state's own sensitive marks are not read: its values are never shown.
                    shown = "(value not shown)" if side == "prior_state" else repr(val)
                    matches.setdefault(f"{attr}.{key} = {shown}", []).append(side)
    for text, sides in matches.items():
        found.append(Reason(ReasonCode.TAG, f"{text} ({' and '.join(sides)})"))
    if masked:
        what = ", ".join(dict.fromkeys(masked))
        verb = "is" if len(set(masked)) == 1 else "are"
        unknown.append(
            Reason(
                ReasonCode.REDACTED_TAGS,
                f"{what} {verb} sensitive, so its tags cannot be read: treated as possibly "
                "production",
            )
        )


def _only_placeholders(value: Any, path: tuple[str, ...]) -> bool:
    return hidden(value)


@functools.cache
def _folded(keys: tuple[str, ...]) -> frozenset[str]:
    return frozenset(k.casefold() for k in keys)


def _prior_side(
    change: ResourceChange, sides: list[tuple[str, Any, Any, Any]], prod: ProductionPolicy
) -> tuple[str, Any, Any, Any] | None:
    """prior_state's copy of the destroyed object, as one more side to read tags from, when
    its tag attributes differ from `before`'s (they never do in a plan Terraform wrote; a
    corrupted `before` must not hide production tags)."""
    if change.prior_raw is None:
        return None
    prior = change.prior()
    before = next((v for side, v, _s, _u in sides if side == "before"), None)
    if not isinstance(prior, dict):
        return None
    view = {a: prior.get(a) for a in prod.tag_attributes}
    if isinstance(before, dict) and view == {a: before.get(a) for a in prod.tag_attributes}:
        return None
    return ("prior_state", prior, None, None)


def _missing_object(
    change: ResourceChange, sides: list[tuple[str, Any, Any, Any]]
) -> Reason | None:
    """A delete without its `before` object, or a replace with neither side: Terraform never
    writes this, and the tags cannot be read, so it may be production."""
    values = {side: value for side, value, _s, unk in sides if unk is not True}
    if change.action is Action.DELETE and values.get("before") is None:
        return Reason(
            ReasonCode.UNKNOWN_OBJECT,
            "the plan gives no `before` object for this delete: tags unread",
        )
    if change.action is Action.REPLACE and all(v is None for v in values.values()) and values:
        return Reason(
            ReasonCode.UNKNOWN_OBJECT, "the plan gives neither side of this replace: tags unread"
        )
    return None


def _not_string_map(tags: Any, sensitive: Any) -> str | None:
    """How a tag attribute's value falls short of a map of strings (None: it does not). An
    absent or null attribute is fine: the object has no tags. A value marked sensitive is
    not judged by its shape: a plan artifact masks it with a string (bundle/format.py gates
    it as redacted)."""
    if tags is None or sensitive is True:
        return None
    if not isinstance(tags, dict):
        return f"a {_json_type(tags)}"
    for key, val in tags.items():
        if val is not None and not isinstance(val, str) and _get(sensitive, key) is not True:
            return f"a map whose {key!r} is a {_json_type(val)}"
    return None


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    return "map" if isinstance(value, dict) else "null"


def _get(mask: Any, key: str) -> Any:
    return mask.get(key) if isinstance(mask, dict) else None


def _any_true(node: Any, keys: frozenset[str]) -> bool:
    """Is the tag map, or one of the production tag keys in it, unknown?"""
    if node is True:
        return True
    if isinstance(node, dict):
        return any(v is True and k.casefold() in keys for k, v in node.items())
    return False


def _code_tags(
    change: ResourceChange,
    prod: ProductionPolicy,
    facts: SourceFacts | None,
    found: list[Reason],
    unknown: list[Reason],
) -> None:
    """The streaming log carries no attributes: tags can only come from the code."""
    if facts is None:
        unknown.append(
            Reason(
                ReasonCode.NO_ATTRIBUTES,
                "the plan log carries no attribute values, so tags could not be read "
                "(give `terraform show -json` output or --source)",
            )
        )
        return
    keys = _folded(prod.tag_keys)
    from_code: list[Reason] = []
    for attr, tags in facts.tags.items():
        if attr not in prod.tag_attributes:
            continue
        for key, val in tags.items():
            if key.casefold() in keys and globs.first_match(prod.tag_values, val, casefold=True):
                from_code.append(Reason(ReasonCode.TAG, f"{attr}.{key} = {val!r} (from code)"))
    found.extend(from_code)
    for why in facts.unresolved:
        unknown.append(Reason(ReasonCode.UNRESOLVED_TAGS, why))
    if facts.tags_from_pr_only and not from_code:
        # Self-reported data may only make the outcome stricter (trust model).
        unknown.append(
            Reason(
                ReasonCode.SELF_REPORTED_TAGS,
                "its tags were read only from the PR's own code, which can make it production "
                "but never clear it: give the base commit's checkout (--base-source, or the "
                "Action's base-source-dir)",
            )
        )


def _has_notes(change: ResourceChange) -> bool:
    return bool(
        change.deposed
        or change.action_reason
        or change.previous_address
        or change.importing
        or change.action is Action.FORGET
    )


def _notes(change: ResourceChange, facts: SourceFacts | None) -> tuple[str, ...]:
    notes: list[str] = []
    if change.deposed:
        notes.append(f"deposed object {change.deposed}: destroying it is destructive")
    if change.action_reason:
        notes.append(f"Terraform says: {change.action_reason}")
    if change.previous_address:
        notes.append(f"moved from {change.previous_address}")
    if change.importing:
        notes.append("being imported")
        if change.action is Action.REPLACE:
            # Terraform's own warning for this plan: the import is followed by a destroy.
            notes.append(
                "Terraform warns: this object is imported and then replaced, so the replace "
                "destroys the object just imported"
            )
    if change.action is Action.FORGET:
        notes.append("forget: removed from state, the real object is not destroyed")
    if facts is not None:
        if facts.prevent_destroy and change.destructive:
            notes.append("lifecycle.prevent_destroy is set: Terraform will refuse this destroy")
        if facts.create_before_destroy:
            notes.append("lifecycle.create_before_destroy is set")
        if facts.ignore_changes:
            notes.append("lifecycle.ignore_changes: " + ", ".join(facts.ignore_changes))
        if facts.removed_from_code:
            notes.append("its block was removed from the code")
        notes.extend(facts.notes)
    return tuple(notes)


def before_sha256(change: ResourceChange) -> str:
    """SHA-256 of the destroyed object as outputs may show it (secrets redacted): a hash of
    the raw value would let anyone who sees the digest and the rest of the object guess a
    low-entropy secret offline. Computed once per change (the bundle's check, the digest)."""
    return memo(change, "before_sha256", _before_sha256)


def _before_sha256(change: ResourceChange) -> str:
    return hashlib.sha256(canonical_json(redacted_before(change))).hexdigest()


def plan_digest(changes: Iterable[ClassifiedChange]) -> str:
    """SHA-256 binding the gated changes (docs/SIGNED-OVERRIDES.md): which real objects die."""
    return digest_of_items(
        (c.change.address, c.change.actions, before_sha256(c.change)) for c in changes if c.gated
    )


def digest_of_items(items: Iterable[tuple[str, Iterable[str], str]]) -> str:
    """The digest over (address, actions, before_sha256) triples: the one definition, shared
    by the gate, `sign` and the decision record that `verify` compares with."""
    docs = sorted(
        (
            {"address": address, "actions": list(actions), "before_sha256": before}
            for address, actions, before in items
        ),
        key=lambda d: (d["address"], d["actions"], d["before_sha256"]),
    )
    return hashlib.sha256(canonical_json(docs)).hexdigest()
