"""Property (issue 13): a mutant of a gated plan is refused (a PlanError: exit 2) or still
gated, unless the mutation removed the destructive change in a well-formed way.

Mutations model a lossy converter, a bad artifact or a broken pipe: a flipped bit, a lost
or doubled byte range, a truncation, a changed character inside a JSON key. Bounded: a fixed
number of examples per fixture, no shrinking database, well under 30 s in the default run."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gatekeeper.classify import analyze
from gatekeeper.errors import GatekeeperError
from gatekeeper.plan.parse import parse_plan
from gatekeeper.policy.load import parse_policy
from tests.helpers import FIXTURES, fixture_plan

TRIGGERS = parse_policy(b"production:\n  tag_attributes: [triggers]\n", source="p.yml")
TF115_POLICY = parse_policy((FIXTURES / "terraform-1.15" / "policy.yml").read_bytes(), source="p")
GATED = {
    "replace_prod_db.json": (fixture_plan("replace_prod_db"), TRIGGERS),
    "replace_prod_db.jsonl": (fixture_plan("replace_prod_db", "plan.jsonl"), TRIGGERS),
    "destroy_all.json": (fixture_plan("destroy_all"), TRIGGERS),
    "deposed_tainted_cbd.json": (
        FIXTURES / "terraform-1.15" / "deposed_tainted_cbd" / "plan.json",
        TF115_POLICY,
    ),
    "deposed_tainted_cbd.jsonl": (
        FIXTURES / "terraform-1.15" / "deposed_tainted_cbd" / "plan.jsonl",
        TF115_POLICY,
    ),
}


@cache
def original(name: str) -> bytes:
    return GATED[name][0].read_bytes()


def gated(data: bytes, name: str) -> bool | None:
    """True/False: gated or not; None: refused as bad input."""
    try:
        plan = parse_plan(data, label="p", path="p")
        return bool(analyze([plan], GATED[name][1]).gated)
    except GatekeeperError:
        return None


def destroyed(data: bytes) -> set[str] | None:
    """Addresses with a destructive action, if `data` is a well-formed plan (None if not:
    then the mutant cannot have removed anything "in a well-formed way")."""
    try:
        text = data.decode("utf-8")
        if data.lstrip().startswith(b"{") and b'"@level"' not in data[:300]:
            doc: Any = json.loads(text)
            return {
                rc["address"]
                for rc in doc.get("resource_changes") or []
                if any(a != "create" and a != "no-op" for a in rc["change"]["actions"])
            }
        out = set()
        for line in text.splitlines():
            msg = json.loads(line) if line.strip() else {}
            action = msg["change"]["action"] if msg.get("type") == "planned_change" else "noop"
            if action not in ("create", "noop", "no-op", "read"):
                out.add(msg["change"]["resource"]["addr"])
        return out
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


@st.composite
def mutant(draw: st.DrawFn, name: str) -> bytes:
    data = original(name)
    kind = draw(st.sampled_from(["bit", "delete", "duplicate", "truncate", "key"]))
    if kind == "key":
        # One character of one JSON object key changed (a bit flip where it hurts most).
        keys = [i for i in range(len(data) - 2) if data[i : i + 2] == b'":']
        end = draw(st.sampled_from(keys))
        start = data.rfind(b'"', 0, end)
        pos = draw(st.integers(start + 1, max(start + 1, end - 1)))
        bit = draw(st.integers(0, 6))
        return data[:pos] + bytes([data[pos] ^ (1 << bit)]) + data[pos + 1 :]
    pos = draw(st.integers(0, len(data) - 1))
    if kind == "bit":
        bit = draw(st.integers(0, 7))
        return data[:pos] + bytes([data[pos] ^ (1 << bit)]) + data[pos + 1 :]
    size = draw(st.integers(1, 64))
    if kind == "delete":
        return data[:pos] + data[pos + size :]
    if kind == "duplicate":
        return data[: pos + size] + data[pos : pos + size] + data[pos + size :]
    return data[:pos]


def test_every_fixture_is_gated_unmutated() -> None:
    for name in GATED:
        assert gated(original(name), name) is True, name


@pytest.mark.parametrize("name", sorted(GATED))
def test_a_mutant_of_a_gated_plan_is_refused_or_still_gated(name: str) -> None:
    before = destroyed(original(name))
    assert before

    @settings(
        max_examples=150,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(mutant(name))
    def prop(data: bytes) -> None:
        outcome = gated(data, name)
        if outcome is False:
            after = destroyed(data)
            # Allowed only if the mutant is a well-formed plan without those destroys.
            assert after is not None and not (after & before), (name, data)

    prop()
