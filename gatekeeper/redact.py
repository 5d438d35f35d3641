"""Masking of values Terraform marked sensitive. Terraform writes them in clear text into
`show -json` output; the `*_sensitive` mirrors say which leaves they are."""

from __future__ import annotations

from typing import Any

SENSITIVE = "(sensitive value)"


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


def mask(value: Any, sensitive: Any) -> Any:
    """A copy of `value` with every sensitive leaf or subtree replaced by SENSITIVE.

    Iterative: a plan may nest values ~1000 levels deep (msgspec's limit), past Python's
    recursion limit, and masking must never be the step that fails."""
    holder: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, Any]] = [(value, sensitive, holder, 0)]
    while stack:
        v, s, parent, key = stack.pop()
        if s is True:
            parent[key] = SENSITIVE
        elif isinstance(v, dict) and isinstance(s, dict):
            out: dict[Any, Any] = dict.fromkeys(v)  # keeps the key order
            parent[key] = out
            stack.extend((item, s.get(k), out, k) for k, item in v.items())
        elif isinstance(v, list) and isinstance(s, list):
            items: list[Any] = [None] * len(v)
            parent[key] = items
            stack.extend((item, s[i] if i < len(s) else None, items, i) for i, item in enumerate(v))
        else:
            parent[key] = v
    return holder[0]
