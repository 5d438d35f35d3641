"""Source-map test helpers shared by tests/source: plan builders, the fixture trees, and the
source map of one plan as {address: SourceFacts}."""

from __future__ import annotations

import json
import os
from pathlib import Path

from gatekeeper.classify import Analysis, analyze
from gatekeeper.plan.model import Plan
from gatekeeper.plan.parse import parse_plan
from gatekeeper.policy.model import Policy, ProductionPolicy
from gatekeeper.source.mapper import build_source_map
from gatekeeper.source.model import SourceFacts
from tests.helpers import FIXTURES, ROOT, TERRAFORM, log_summary

SOURCE = FIXTURES / "source"
# The real fixtures keep tag-like keys in `triggers` (the null provider has no tags).
TRIGGERS = ProductionPolicy(tag_attributes=("tags", "tags_all", "labels", "triggers"))


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def log_plan(*changes: tuple[str, str], label: str = "p") -> Plan:
    """A `terraform plan -json` log with these (address, action) planned changes."""
    lines: list[dict[str, object]] = [
        {
            "@level": "info",
            "@message": "Terraform 1.9.0",
            "type": "version",
            "terraform": "1.9.0",
            "ui": "1.2",
        }
    ]
    for addr, action in changes:
        resource = {"addr": addr, "module": "", "resource_type": "t", "resource_name": "n"}
        lines.append(
            {
                "@level": "info",
                "@message": f"{addr}: Plan to {action}",
                "type": "planned_change",
                "change": {"resource": resource, "action": action},
            }
        )
    lines.append(log_summary([action for _addr, action in changes]))
    return parse_plan(
        "\n".join(json.dumps(x) for x in lines).encode(), label=label, path="plan.jsonl"
    )


def real(scenario: str, kind: str = "plan.jsonl") -> Plan:
    data = (TERRAFORM / scenario / kind).read_bytes()
    return parse_plan(data, label=scenario, path=kind)


def facts_for(
    plan: Plan,
    head: Path | None,
    base: Path | None = None,
    production: ProductionPolicy = TRIGGERS,
    repo_root: str | None = None,
) -> dict[str, SourceFacts]:
    m = build_source_map(
        [plan],
        {plan.label: str(head)} if head else {},
        {plan.label: str(base)} if base else {},
        production=production,
        repo_root=repo_root,
        cwd=os.getcwd(),
    )
    return {addr: f for (_label, addr), f in m.items()}


def analysis(plan: Plan, facts: dict[str, SourceFacts], production: ProductionPolicy) -> Analysis:
    policy = Policy(production=production)
    return analyze([plan], policy, {(plan.label, a): f for a, f in facts.items()})
