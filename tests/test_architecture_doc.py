"""docs/ARCHITECTURE.md's module map is the real one: it names every module of the package
and no module that is gone (the map is what a newcomer reads first)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "ARCHITECTURE.md"


def _map_block() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("## Module map")
    fence = text.index("```\ngatekeeper/\n", start)
    return text[fence + 4 : text.index("```", fence + 4)]


def _mapped() -> set[str]:
    """Module paths (relative to gatekeeper/) the map names, by indentation: a line ending in
    `/` opens a package, a `name.py` (or a comma-separated list of them) is a module in it."""
    out: set[str] = set()
    stack: list[tuple[int, str]] = []
    for line in _map_block().splitlines()[1:]:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        while stack and stack[-1][0] >= indent:
            stack.pop()
        head = line.strip().split("  ")[0]
        prefix = "".join(p for _, p in stack)
        if head.endswith("/"):
            stack.append((indent, head))
            out.add(prefix + head + "__init__.py")
            continue
        for name in re.findall(r"[a-z_]+\.py", head):
            out.add(prefix + name)
        if head.endswith(",") and stack:
            # a continued list of modules stays in the package it started in
            stack.append((indent - 1, ""))
    return out


def _actual() -> set[str]:
    pkg = ROOT / "gatekeeper"
    names = {p.relative_to(pkg).as_posix() for p in pkg.rglob("*.py")}
    return names - {"__init__.py", "__main__.py"}


def test_the_parser_reads_packages_and_modules() -> None:
    mapped = _mapped()
    assert "plan/model.py" in mapped
    assert "commands/gate_bundle.py" in mapped  # from the comma-separated commands list
    assert "classify.py" in mapped


def test_every_module_is_on_the_map_and_every_mapped_module_exists() -> None:
    mapped, actual = _mapped(), _actual()
    assert sorted(actual - mapped) == [], "modules missing from docs/ARCHITECTURE.md"
    assert sorted(mapped - actual) == [], "docs/ARCHITECTURE.md names modules that are gone"
