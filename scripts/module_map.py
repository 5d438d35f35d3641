#!/usr/bin/env python3
"""Print the package's module map (module, lines, first docstring line) as a Markdown table,
in the order docs/ARCHITECTURE.md lists it: `python scripts/module_map.py`.

tests/test_architecture_doc.py checks that the map in docs/ARCHITECTURE.md names every
module and no module that is gone, so the map stays true as the code moves."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gatekeeper"


def modules() -> list[tuple[str, int, str]]:
    """(path relative to gatekeeper/, line count, first docstring line) of every module."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        doc = ast.get_docstring(ast.parse(text)) or ""
        first = doc.strip().splitlines()[0] if doc.strip() else ""
        out.append((path.relative_to(PACKAGE).as_posix(), text.count("\n"), first))
    return out


def main() -> int:
    print("| module | lines | what it holds |")
    print("|---|---:|---|")
    for name, lines, first in modules():
        cell = first.replace("|", "\\|")
        print(f"| `{name}` | {lines} | {cell} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
