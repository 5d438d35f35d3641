"""The core's boundary: only `adapters/` and `commands/` talk to GitHub, run programs or read
the environment. Ruff's TID251 rejects the import statements; this test catches what a
static rule cannot see, a core module pulling one of them in through another module."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gatekeeper"
EDGE = ("adapters", "commands")
# `python -m gatekeeper` runs the CLI: importing it would run it.
EDGE_MODULES = ("gatekeeper.__main__",)
BANNED = ("github", "requests", "subprocess")


def _core_modules() -> list[str]:
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        name = ".".join(parts)
        if (len(parts) > 1 and parts[1] in EDGE) or name in EDGE_MODULES:
            continue
        names.append(name)
    return names


CORE = _core_modules()


def test_the_core_is_most_of_the_package() -> None:
    # A guard on the walk itself: if it found nothing, every other test here would pass.
    assert len(CORE) >= 30
    assert "gatekeeper.classify" in CORE
    assert not any(n.startswith(("gatekeeper.adapters", "gatekeeper.commands")) for n in CORE)


@pytest.mark.slow
def test_core_modules_pull_in_no_network_or_process_module() -> None:
    probe = (
        "import importlib, json, sys\n"
        "importlib.import_module(sys.argv[1])\n"
        f"banned = {BANNED!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in banned)))\n"
    )

    def loaded(name: str) -> list[str]:
        # A fresh interpreter per module: each import is seen from an empty sys.modules, so
        # one module's imports cannot hide another's.
        done = subprocess.run(
            [sys.executable, "-c", probe, name],
            capture_output=True,
            text=True,
            check=True,
            cwd=PACKAGE.parent,
        )
        found: list[str] = json.loads(done.stdout)
        return found

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = dict(zip(CORE, pool.map(loaded, CORE), strict=True))
    assert {name: found for name, found in results.items() if found} == {}


def test_the_probe_sees_a_banned_import(tmp_path: Path) -> None:
    # The check above must be able to fail: a module importing subprocess is reported.
    (tmp_path / "leaky.py").write_text("import json\nimport subprocess\n", encoding="utf-8")
    code = (
        "import importlib, sys; sys.path.insert(0, sys.argv[1]); importlib.import_module('leaky');"
        "print('subprocess' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "True"


@pytest.mark.parametrize("name", CORE)
def test_core_module_reads_no_environment(name: str) -> None:
    path = PACKAGE.parent.joinpath(*name.split(".")).with_suffix(".py")
    if not path.exists():
        path = PACKAGE.parent.joinpath(*name.split("."), "__init__.py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reads = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in ("environ", "getenv", "environb")
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    ] + [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.module == "os"
        and any(a.name in ("environ", "getenv", "environb") for a in node.names)
    ]
    assert reads == [], f"{path.name} reads the environment at lines {reads}"
