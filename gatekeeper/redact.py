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


def mask(value: Any, sensitive: Any) -> Any:
    """A copy of `value` with every sensitive leaf or subtree replaced by SENSITIVE."""
    if sensitive is True:
        return SENSITIVE
    if isinstance(value, dict) and isinstance(sensitive, dict):
        return {k: mask(v, sensitive.get(k)) for k, v in value.items()}
    if isinstance(value, list) and isinstance(sensitive, list):
        return [mask(v, sensitive[i] if i < len(sensitive) else None) for i, v in enumerate(value)]
    return value
