"""Shared test helpers: paths to fixtures and a tiny plan builder for edge cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "fixtures"
TERRAFORM = FIXTURES / "terraform"
CORPUS = FIXTURES / "corpus"
WEBHOOKS = ROOT / "tests" / "data" / "webhooks"
SECRET = "s3cr3t-DO-NOT-LEAK-42"


def fixture_plan(scenario: str, kind: str = "plan.json") -> Path:
    return TERRAFORM / scenario / kind


def show_json(*changes: dict[str, Any], version: str = "1.2") -> bytes:
    """A `show -json` document around resource_changes entries (for edge cases a real
    Terraform cannot be made to produce, such as deposed objects or new action names)."""
    return json.dumps(
        {"format_version": version, "terraform_version": "1.9.0", "resource_changes": list(changes)}
    ).encode()


def rc(
    address: str, actions: list[str], *, before: Any = None, after: Any = None, **extra: Any
) -> dict[str, Any]:
    """One resource_changes entry; `extra` may set change keys or top-level keys."""
    parts = address.split("[")[0].split(".")
    change: dict[str, Any] = {"actions": actions, "before": before, "after": after}
    for key in ("after_unknown", "before_sensitive", "after_sensitive", "replace_paths"):
        if key in extra:
            change[key] = extra.pop(key)
    return {
        "address": address,
        "mode": "managed",
        "type": extra.pop("type", parts[-2]),
        "name": parts[-1],
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": change,
        **extra,
    }


def log_summary(actions: list[str]) -> dict[str, Any]:
    """The change_summary line Terraform writes for planned_change messages with `actions`
    (its counts must match the messages: a replace is one add and one remove)."""
    return {
        "@level": "info",
        "@message": "Plan",
        "type": "change_summary",
        "changes": {
            "add": sum(a in ("create", "replace") for a in actions),
            "change": actions.count("update"),
            "remove": sum(a in ("delete", "replace") for a in actions),
            "operation": "plan",
        },
    }
