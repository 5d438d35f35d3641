"""docs/config-reference.md is generated from the config JSON Schema and must be current."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "gen_config_reference", ROOT / "scripts" / "gen_config_reference.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_reference_is_up_to_date() -> None:
    gen = _generator()
    committed = (ROOT / "docs" / "config-reference.md").read_text(encoding="utf-8")
    assert committed == gen.generate(), (
        "docs/config-reference.md is stale: run python scripts/gen_config_reference.py"
    )


def test_reference_names_every_schema_key() -> None:
    schema = json.loads((ROOT / "gatekeeper/schemas/config.schema.json").read_text())
    text = _generator().generate()

    def walk(props: dict, prefix: str) -> None:  # type: ignore[type-arg]
        for name, node in props.items():
            path = f"{prefix}{name}"
            assert f"`{path}`" in text, path
            if "properties" in node:
                walk(node["properties"], f"{path}.")
            items = node.get("items", {})
            if "properties" in items:
                walk(items["properties"], f"{path}[].")

    walk(schema["properties"], "")


def test_check_mode_detects_a_stale_file(tmp_path: Path) -> None:
    gen = _generator()
    stale = tmp_path / "ref.md"
    stale.write_text("# old\n", encoding="utf-8")
    assert gen.main(["--check", "--output", str(stale)]) == 1
    assert gen.main(["--output", str(stale)]) == 0
    assert gen.main(["--check", "--output", str(stale)]) == 0
