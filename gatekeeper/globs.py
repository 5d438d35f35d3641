"""Glob matching for addresses, labels, types and paths.

`fnmatch` treats `[` as a character class, but `[` is everywhere in Terraform addresses
(`module.db[0]`, `aws_s3_bucket.b["logs"]`), so here only `*` and `?` are special.
`**` crosses `/` in paths; a single `*` does not when `path=True`.
"""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=4096)
def _compile(pattern: str, casefold: bool, path: bool) -> re.Pattern[str]:
    out: list[str] = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "*":
            if pattern.startswith("**", i):
                out.append(".*")
                i += 2
                if path and pattern.startswith("/", i):
                    out[-1] = "(?:.*/)?"
                    i += 1
                continue
            out.append("[^/]*" if path else ".*")
        elif c == "?":
            out.append("[^/]" if path else ".")
        else:
            out.append(re.escape(c))
        i += 1
    flags = re.IGNORECASE if casefold else 0
    return re.compile("".join(out), flags | re.DOTALL)


def match(pattern: str, text: str, *, casefold: bool = False, path: bool = False) -> bool:
    return _compile(pattern, casefold, path).fullmatch(text) is not None


@lru_cache(maxsize=256)
def _split(patterns: tuple[str, ...], casefold: bool) -> tuple[dict[str, str], tuple[str, ...]]:
    """Literal patterns go in a dict (one lookup); only real globs are tried one by one."""
    literal: dict[str, str] = {}
    wild: list[str] = []
    for p in patterns:
        if "*" in p or "?" in p:
            wild.append(p)
        else:
            literal.setdefault(p.casefold() if casefold else p, p)
    return literal, tuple(wild)


def first_match(
    patterns: tuple[str, ...], text: str, *, casefold: bool = False, path: bool = False
) -> str | None:
    if not patterns:
        return None
    literal, wild = _split(patterns, casefold)
    hit = literal.get(text.casefold() if casefold else text)
    if hit is not None:
        return hit
    for p in wild:
        if match(p, text, casefold=casefold, path=path):
            return p
    return None
