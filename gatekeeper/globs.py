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


class GlobSet:
    """A tuple of patterns compiled once for `first_match`: linear in the number of patterns
    to build, and a lookup that does not try every glob (a policy may list 100,000).

    Literal patterns go in a dict (one lookup). Each glob is indexed by its literal prefix
    (the text before its first `*`/`?`), or, when it starts with a wildcard, by its literal
    suffix: a lookup tries only the globs whose prefix (or suffix) the text has, at most one
    dict lookup per character of the text. Globs with a wildcard at both ends are tried one
    by one. Of several matching globs the first in policy order wins, as before."""

    def __init__(self, patterns: tuple[str, ...], casefold: bool, path: bool) -> None:
        self.casefold, self.path = casefold, path
        self.literal: dict[str, str] = {}
        self.by_prefix: dict[str, list[tuple[int, str]]] = {}
        self.by_suffix: dict[str, list[tuple[int, str]]] = {}
        self.rest: list[tuple[int, str]] = []
        for i, p in enumerate(patterns):
            key = p.casefold() if casefold else p
            first = min((key.find(c) for c in "*?" if c in key), default=-1)
            if first < 0:
                self.literal.setdefault(key, p)
                continue
            last = max(key.rfind("*"), key.rfind("?"))
            if first > 0:
                self.by_prefix.setdefault(key[:first], []).append((i, p))
            elif last < len(key) - 1:
                self.by_suffix.setdefault(key[last + 1 :], []).append((i, p))
            else:
                self.rest.append((i, p))

    def first_match(self, text: str) -> str | None:
        key = text.casefold() if self.casefold else text
        hit = self.literal.get(key)
        if hit is not None:
            return hit
        candidates: list[tuple[int, str]] = list(self.rest)
        if self.by_prefix:
            for n in range(1, len(key) + 1):
                found = self.by_prefix.get(key[:n])
                if found:
                    candidates.extend(found)
        if self.by_suffix:
            for n in range(len(key)):
                found = self.by_suffix.get(key[n:])
                if found:
                    candidates.extend(found)
        for _i, p in sorted(candidates):
            if match(p, text, casefold=self.casefold, path=self.path):
                return p
        return None


# Compiled sets by the identity of their pattern tuple (a policy's tuples live as long as
# the policy): hashing a 100,000-pattern tuple on every lookup would itself be linear.
_SETS: dict[tuple[int, bool, bool], tuple[tuple[str, ...], GlobSet]] = {}


def glob_set(patterns: tuple[str, ...], *, casefold: bool = False, path: bool = False) -> GlobSet:
    k = (id(patterns), casefold, path)
    cached = _SETS.get(k)
    if cached is not None and cached[0] is patterns:
        return cached[1]
    if len(_SETS) > 256:
        _SETS.clear()
    built = GlobSet(patterns, casefold, path)
    _SETS[k] = (patterns, built)  # the reference keeps the id from being reused
    return built


def first_match(
    patterns: tuple[str, ...], text: str, *, casefold: bool = False, path: bool = False
) -> str | None:
    if not patterns:
        return None
    return glob_set(patterns, casefold=casefold, path=path).first_match(text)
