"""The built-in policy is written once, as the field defaults of gatekeeper/policy/model.py:
the JSON Schema's `default`s, the defaults its descriptions name and its enums must agree
with them (the loader passes only the keys a document sets)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from gatekeeper.policy.load import config_schema, parse_policy
from gatekeeper.policy.model import Mode, Policy, Stale


def _defaults(props: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[tuple[str, Any]]:
    """(dotted key, schema default) for every key of the schema that declares one."""
    out: list[tuple[str, Any]] = []
    for name, node in props.items():
        path = (*prefix, name)
        if "default" in node:
            out.append((".".join(path), node["default"]))
        out.extend(_defaults(node.get("properties", {}), path))
    return out


DEFAULTS = _defaults(config_schema()["properties"])


def _doc(*pairs: tuple[str, Any]) -> dict[str, Any]:
    """A policy document setting each dotted key to its value."""
    doc: dict[str, Any] = {}
    for key, value in pairs:
        *sections, last = key.split(".")
        cur = doc
        for s in sections:
            cur = cur.setdefault(s, {})
        cur[last] = value
    return doc


def test_the_schema_declares_the_defaults_this_test_walks() -> None:
    keys = {k for k, _ in DEFAULTS}
    assert {"mode", "approvals.agent_authored", "approvals.stale", "overrides.max_lifetime"} <= keys
    assert len(keys) >= 19


@pytest.mark.parametrize(("key", "default"), DEFAULTS, ids=[k for k, _ in DEFAULTS])
def test_a_key_set_to_its_schema_default_gives_the_built_in_policy(key: str, default: Any) -> None:
    policy = parse_policy(json.dumps(_doc((key, default))), source="d.yml")
    assert policy == Policy(source="d.yml"), f"{key}: schema default {default!r}"


def test_every_schema_default_at_once_gives_the_built_in_policy() -> None:
    doc = _doc(*DEFAULTS)
    assert parse_policy(json.dumps(doc), source="d.yml") == Policy(source="d.yml")


def _named_defaults(props: dict[str, Any], prefix: tuple[str, ...] = ()) -> list[Any]:
    """(path, [values]) for each description that lists its default ("Default: a, b, c.")."""
    out: list[Any] = []
    for name, node in props.items():
        path = (*prefix, name)
        m = re.search(r"Default: ([\w, ]+)\.", node.get("description", ""))
        if m and "," in m.group(1):
            out.append((path, m.group(1).split(", ")))
        out.extend(_named_defaults(node.get("properties", {}), path))
    return out


def test_the_defaults_a_description_names_are_the_built_in_ones() -> None:
    named = _named_defaults(config_schema()["properties"])
    assert len(named) >= 3  # production.tag_attributes, tag_keys, tag_values
    for path, values in named:
        value: Any = Policy()
        for part in path:
            value = getattr(value, part)
        assert tuple(values) == value, ".".join(path)


def test_mode_and_stale_are_the_schema_enums() -> None:
    props = config_schema()["properties"]
    assert [m.value for m in Mode] == props["mode"]["enum"]
    assert [s.value for s in Stale] == props["approvals"]["properties"]["stale"]["enum"]
    policy = parse_policy(b"mode: advisory\napprovals:\n  stale: digest\n", source="d.yml")
    assert policy.mode is Mode.ADVISORY and policy.approvals.stale is Stale.DIGEST
    assert json.dumps([policy.mode, policy.approvals.stale]) == '["advisory", "digest"]'
