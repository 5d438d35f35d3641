"""Resource addresses under the source map (gatekeeper/source/address.py)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.source.address import Address, AddressError, format_key, parse_address
from tests.helpers import CORPUS, TERRAFORM

# ---------------------------------------------------------------- addresses


def test_address_with_modules_keys_and_awkward_characters() -> None:
    a = parse_address(
        'module.a["k"].module.b[0].null_resource.x["key with \\"quotes\\" ] and . inside"]'
    )
    assert a.modules == (("a", "k"), ("b", 0))
    assert (a.mode, a.type, a.name) == ("managed", "null_resource", "x")
    assert a.key == 'key with "quotes" ] and . inside'


def test_data_source_and_escapes() -> None:
    a = parse_address('module.m.data.aws_ami.this["line\\nbreak \\u00e9 \\\\ \\x41"]')
    assert a.mode == "data" and a.type == "aws_ami" and a.modules == (("m", None),)
    assert a.key == "line\nbreak é \\ A"


@pytest.mark.parametrize(
    "bad",
    [
        'null_resource.x["open',
        "null_resource",
        "null_resource.x[1",
        'null_resource.x["a"]z',
        "module.m",
    ],
)
def test_bad_addresses_raise(bad: str) -> None:
    with pytest.raises(AddressError):
        parse_address(bad)


@given(st.text(min_size=0, max_size=30), st.integers(min_value=0, max_value=10**6))
def test_any_key_round_trips(key: str, idx: int) -> None:
    a = Address((("m", key), ("n", idx)), "managed", "null_resource", "x", key)
    assert parse_address(str(a)) == a
    assert format_key(None) == ""


def _plan_addresses() -> list[str]:
    out: set[str] = set()
    for path in [*TERRAFORM.rglob("plan.json"), *CORPUS.rglob("*.json")]:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict):
            for rc in doc.get("resource_changes") or []:
                if isinstance(rc, dict) and rc.get("mode") in ("managed", "data"):
                    addr = rc.get("address")
                    if isinstance(addr, str):
                        out.add(addr)
    return sorted(out)


def test_every_real_plan_address_parses_and_round_trips() -> None:
    addresses = _plan_addresses()
    assert len(addresses) > 100
    for addr in addresses:
        assert str(parse_address(addr)) == addr, addr
