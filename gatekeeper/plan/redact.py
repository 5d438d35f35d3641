"""Masking of values Terraform marked sensitive. Terraform writes them in clear text into
`show -json` output; the `*_sensitive` mirrors say which leaves they are.

Every output that shows attribute values (reasons, diffs, the plan bundle, replace paths)
and the digest go through `redact_change`/`mask`/`redacted_paths`, so one rule decides what is
secret: a path marked on EITHER side (a value newly marked sensitive is a secret before too),
and any string equal to a secret string anywhere in the change (provider-computed copies,
such as `tags_all`, are not marked by Terraform).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar

import msgspec

from gatekeeper.plan.model import Plan, ResourceChange, canonical_json

T = TypeVar("T")
SENSITIVE = "(sensitive value)"
# What the `after` side holds where a hidden value differs from the hidden value before it.
# Two different secrets both redacted to SENSITIVE would look unchanged: this one bit (which
# every renderer shows anyway, as Terraform does: `~ token = (sensitive value)`) is all a
# redacted change keeps of them. Renderers print it as SENSITIVE; it never reaches output.
SENSITIVE_CHANGED = "(sensitive value, changed)"
PLACEHOLDERS = frozenset({SENSITIVE, SENSITIVE_CHANGED})
HIDDEN_KEY_PREFIX = "(sensitive key "
# Masks deeper than any provider schema are treated as "all sensitive" (fail closed), which
# also keeps the helpers below from recursing without bound.
MAX_MASK_DEPTH = 64


def is_sensitive(mask: Any, path: tuple[str | int, ...] = ()) -> bool:
    """True when the value at `path` is sensitive, or any ancestor of it is."""
    node = mask
    for step in path:
        if node is True:
            return True
        if isinstance(node, dict) and isinstance(step, str):
            node = node.get(step)
        elif isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node):
            node = node[step]
        else:
            return False
    return node is True


def any_sensitive(mask_: Any) -> bool:
    """Is any leaf of a `*_sensitive` (or `after_unknown`) mirror true? Iterative, as `mask`."""
    stack = [mask_]
    while stack:
        node = stack.pop()
        if node is True:
            return True
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return False


def mask(
    value: Any,
    sensitive: Any,
    secrets: frozenset[str] = frozenset(),
    *,
    hide: Callable[[Any], Any] | None = None,
) -> Any:
    """A copy of `value` with every sensitive leaf or subtree replaced by SENSITIVE, and every
    string (value or map key) equal to one of `secrets` hidden too.

    Fails closed: a mask whose shape does not fit the value hides the whole value if the mask
    marks anything. Iterative: a plan may nest values ~1000 levels deep (msgspec's limit),
    past Python's recursion limit, and masking must never be the step that fails.

    `hide(hidden_value)` gives what stands in for a hidden value (default: the SENSITIVE
    placeholder); the diff renderer passes an opaque marker that can still tell "changed".
    This is the one masking rule: every output that shows values goes through it.

    With nothing marked and no secrets, `value` itself comes back (nothing to hide: no copy);
    callers treat the result as read-only."""
    if (sensitive is None or sensitive is False) and not secrets:
        return value
    holder: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, Any]] = [(value, sensitive, holder, 0)]
    while stack:
        v, s, parent, key = stack.pop()
        if s is True:
            parent[key] = SENSITIVE if hide is None else hide(v)
        elif isinstance(v, dict) and (s is None or s is False or isinstance(s, dict)):
            sd = s if isinstance(s, dict) else {}
            out: dict[Any, Any] = {}
            parent[key] = out
            for n, (k, item) in enumerate(v.items()):
                shown = f"{HIDDEN_KEY_PREFIX}{n + 1})" if k in secrets else k
                out[shown] = None  # keeps the key order
                stack.append((item, sd.get(k), out, shown))
        elif isinstance(v, list) and (s is None or s is False or isinstance(s, list)):
            sl = s if isinstance(s, list) else []
            items: list[Any] = [None] * len(v)
            parent[key] = items
            stack.extend(
                (item, sl[i] if i < len(sl) else None, items, i) for i, item in enumerate(v)
            )
        elif isinstance(s, (dict, list)) and any_sensitive(s):
            # a mask that does not fit the value: hide, never guess
            parent[key] = SENSITIVE if hide is None else hide(v)
        elif isinstance(v, str) and v in secrets:
            parent[key] = SENSITIVE if hide is None else hide(v)
        else:
            parent[key] = v
    return holder[0]


def _depth(node: Any) -> int:
    deepest = 0
    stack = [(node, 0)]
    while stack:
        n, d = stack.pop()
        deepest = max(deepest, d)
        if deepest > MAX_MASK_DEPTH:
            break
        if isinstance(n, dict):
            stack.extend((v, d + 1) for v in n.values())
        elif isinstance(n, list):
            stack.extend((v, d + 1) for v in n)
    return deepest


def union_masks(a: Any, b: Any) -> Any:
    """A sensitivity mask marking every path either mask marks (too deep: everything)."""
    if _depth(a) > MAX_MASK_DEPTH or _depth(b) > MAX_MASK_DEPTH:
        return True
    return _union(a, b)


def _union(a: Any, b: Any) -> Any:
    if a is True or b is True:
        return True
    if isinstance(a, dict) or isinstance(b, dict):
        da = a if isinstance(a, dict) else {}
        db = b if isinstance(b, dict) else {}
        return {k: _union(da.get(k), db.get(k)) for k in {*da, *db}}
    if isinstance(a, list) or isinstance(b, list):
        la = a if isinstance(a, list) else []
        lb = b if isinstance(b, list) else []
        return [
            _union(la[i] if i < len(la) else None, lb[i] if i < len(lb) else None)
            for i in range(max(len(la), len(lb)))
        ]
    return False


def secret_strings(value: Any, sensitive: Any) -> frozenset[str]:
    """The non-empty strings (values and map keys) under sensitive paths of `value`."""
    found: set[str] = set()
    stack: list[tuple[Any, Any]] = [(value, sensitive)]
    while stack:
        v, s = stack.pop()
        # hidden: marked, or a mask that does not fit the value but marks something (as `mask`)
        misfit = isinstance(s, (dict, list)) and not isinstance(v, type(s)) and any_sensitive(s)
        hidden = s is True or misfit
        if isinstance(v, dict):
            if hidden:
                found.update(k for k in v if isinstance(k, str) and k)
            sd = s if isinstance(s, dict) else {}
            stack.extend((item, True if hidden else sd.get(k)) for k, item in v.items())
        elif isinstance(v, list):
            sl = s if isinstance(s, list) else []
            stack.extend(
                (item, True if hidden else (sl[i] if i < len(sl) else None))
                for i, item in enumerate(v)
            )
        elif hidden and isinstance(v, str) and v:
            found.add(v)
    return frozenset(found)


def marks_nothing(change: ResourceChange) -> bool:
    """True when neither sensitivity mask marks anything: read from the raw JSON without
    decoding (a mask marks something only if it contains the literal `true`)."""
    return all(
        raw is None or b"true" not in bytes(raw)
        for raw in (change.before_sensitive_raw, change.after_sensitive_raw)
    )


# (change, what) -> the answer, by the change's identity: the classifier, the report, the
# digest and the bundle each ask for a marked change's secrets (and the gate and the digest
# for its before_sha256), and each answer decodes and walks the values. The change is kept
# with its entry, so an id is never reused while cached; bounded for callers that live long
# (tests, a gate evaluating many bundles). Changes are frozen: an answer never goes stale.
_MEMO: dict[tuple[int, str], tuple[ResourceChange, Any]] = {}
_MEMO_MAX = 1 << 18


def memo(change: ResourceChange, what: str, compute: Callable[[ResourceChange], T]) -> T:
    """`compute(change)`, computed once per change object (and `what`)."""
    key = (id(change), what)
    hit = _MEMO.get(key)
    if hit is not None and hit[0] is change:
        value: T = hit[1]
        return value
    value = compute(change)
    if len(_MEMO) >= _MEMO_MAX:
        _MEMO.clear()
    _MEMO[key] = (change, value)
    return value


def change_secrets(change: ResourceChange) -> tuple[Any, frozenset[str]]:
    """(the union of both sides' masks, the secret strings of both sides) for one change."""
    if marks_nothing(change):
        return False, frozenset()
    return memo(change, "secrets", _change_secrets)


def _change_secrets(change: ResourceChange) -> tuple[Any, frozenset[str]]:
    union = union_masks(change.before_sensitive(), change.after_sensitive())
    secrets = secret_strings(change.before(), union) | secret_strings(change.after(), union)
    return union, secrets


def redacted_before(change: ResourceChange) -> Any:
    """`before` with every secret of the change hidden: what the digest hashes."""
    union, secrets = change_secrets(change)
    return mask(change.before(), union, secrets)


def redacted_paths(change: ResourceChange) -> tuple[tuple[str | int, ...], ...]:
    """`replace_paths`, each cut after its first sensitive step: a key inside a sensitive map
    (or equal to a secret) is itself a secret."""
    if not change.replace_paths or marks_nothing(change):
        return change.replace_paths
    union, secrets = change_secrets(change)
    out: list[tuple[str | int, ...]] = []
    for path in change.replace_paths:
        kept: list[str | int] = []
        for step in path:
            if isinstance(step, str) and step in secrets:
                kept.append(SENSITIVE)
                break
            kept.append(step)
            if is_sensitive(union, tuple(kept)):
                if len(kept) < len(path):
                    kept.append(SENSITIVE)
                break
        out.append(tuple(kept))
    return tuple(out)


def hidden(value: Any) -> bool:
    """Is this (redacted) value one that redaction hid?"""
    return isinstance(value, str) and value in PLACEHOLDERS


def _shown_equal(a: Any, b: Any) -> bool:
    """Equal once every placeholder counts as SENSITIVE (re-masking turns CHANGED back)."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if hidden(x) and hidden(y):
            continue
        if isinstance(x, dict) and isinstance(y, dict):
            if list(x) != list(y):
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y, strict=True))
        elif type(x) is not type(y) or x != y:
            return False
    return True


_MISSING = object()


def _mark_changed(after: Any, after_raw: Any, before_raw: Any) -> Any:
    """`after` (masked) with SENSITIVE_CHANGED wherever a hidden value differs from the raw
    value at the same path before. `after` mirrors `after_raw` item for item (mask keeps the
    order and only renames keys), so both are walked together; iterative, as `mask`."""
    holder: list[Any] = [after]
    stack: list[tuple[Any, Any, Any, Any, Any]] = [(after, after_raw, before_raw, holder, 0)]
    while stack:
        shown, raw, old, parent, key = stack.pop()
        if shown == SENSITIVE:
            if old is _MISSING or canonical_json(old) != canonical_json(raw):
                parent[key] = SENSITIVE_CHANGED
        elif isinstance(shown, dict) and isinstance(raw, dict):
            olds = old if isinstance(old, dict) else {}
            for (k_shown, v_shown), (k_raw, v_raw) in zip(shown.items(), raw.items(), strict=False):
                stack.append((v_shown, v_raw, olds.get(k_raw, _MISSING), shown, k_shown))
        elif isinstance(shown, list) and isinstance(raw, list):
            oldl = old if isinstance(old, list) else []
            stack.extend(
                (v, raw[i], oldl[i] if i < len(oldl) else _MISSING, shown, i)
                for i, v in enumerate(shown)
                if i < len(raw)
            )
    return holder[0]


def redact_change(change: ResourceChange) -> ResourceChange:
    """The change as every output, the plan bundle and the classifier see it: `before`,
    `after` (and prior_state's copy) redacted by `mask` with the change's secrets, a changed
    hidden value marked SENSITIVE_CHANGED on the after side, keys of `after_unknown` equal to
    a secret renamed, `replace_paths` cut (`redacted_paths`). The sensitivity masks stay as
    Terraform wrote them. Idempotent: a change that is already redacted (read from a bundle)
    comes back as it is, so the plan file and its bundle give one and the same change."""
    if marks_nothing(change) or not change.has_attributes:
        return change
    union, secrets = change_secrets(change)
    before_raw, after_raw = change.before(), change.after()
    before = mask(before_raw, union, secrets)
    after = mask(after_raw, union, secrets)
    # prior_state's copy of a destroyed object is the same object as `before`: the same rule
    # hides the same values, so an intact copy still equals `before` once both are redacted.
    prior_raw = change.prior() if change.prior_raw is not None else None
    prior = mask(prior_raw, union, secrets)
    # after_unknown holds only booleans, but its map keys are the object's keys: one equal to
    # a secret is renamed as in `after` (the diff and the bundle show the keys it marks).
    unknown_raw = change.after_unknown()
    unknown = mask(unknown_raw, False, secrets)
    if (
        _shown_equal(before, before_raw)
        and _shown_equal(after, after_raw)
        and _shown_equal(prior, prior_raw)
        and _shown_equal(unknown, unknown_raw)
    ):
        return change  # nothing left to hide
    after = _mark_changed(after, after_raw, before_raw)
    return msgspec.structs.replace(
        change,
        before_raw=None if before is None else msgspec.Raw(canonical_json(before)),
        after_raw=None if after is None else msgspec.Raw(canonical_json(after)),
        prior_raw=None if prior is None else msgspec.Raw(canonical_json(prior)),
        after_unknown_raw=None if unknown is None else msgspec.Raw(canonical_json(unknown)),
        replace_paths=redacted_paths(change),
    )


def without_values(change: ResourceChange) -> ResourceChange:
    """The change with no attribute values (its masks kept): for a change no output shows
    the values of. `replace_paths` are cut first, while the values still say which steps
    equal a secret (the JSON report lists the paths)."""
    return msgspec.structs.replace(
        change,
        before_raw=None,
        after_raw=None,
        after_unknown_raw=None,
        prior_raw=None,
        replace_paths=redacted_paths(change),
    )


def redact_plan(plan: Plan, changes: tuple[ResourceChange, ...] | None = None) -> Plan:
    """`plan` with every change (and drift entry) redacted by `redact_change`; with
    `changes`, those (already redacted by the caller) stand for the plan's changes."""
    if changes is None:
        changes = tuple(redact_change(c) for c in plan.changes)
    drift = tuple(redact_change(c) for c in plan.drift)
    if all(a is b for a, b in zip(changes, plan.changes, strict=True)) and all(
        a is b for a, b in zip(drift, plan.drift, strict=True)
    ):
        return plan
    return replace(plan, changes=changes, drift=drift)
