"""The signed text (gatekeeper.overrides.message): the spec's bytes, strict parsing, no
injection through any field."""

from __future__ import annotations

from datetime import datetime

import pytest

from gatekeeper.overrides.message import (
    MalformedOverride,
    parse_message,
    render_message,
    sort_changes,
)
from tests.support.override_messages import ISSUED, SPEC_EXAMPLE, message


def test_render_matches_the_spec_example() -> None:
    assert render_message(message()) == SPEC_EXAMPLE


def test_changes_sort_by_address_then_action() -> None:
    unsorted = (("replace", "b"), ("delete", "a"), ("create", "b"))
    assert sort_changes(unsorted) == (("delete", "a"), ("create", "b"), ("replace", "b"))
    with pytest.raises(MalformedOverride, match="sorted"):
        render_message(message(changes=unsorted))


def test_addresses_are_ascii_escaped_json() -> None:
    m = message(changes=(("delete", 'aws_s3_bucket.b["ü\\n\\"`<x>"]'),))
    text = render_message(m)
    assert b'change: delete "aws_s3_bucket.b[\\"\\u00fc\\\\n\\\\\\"`<x>\\"]"\n' in text
    assert parse_message(text) == m


def test_parse_round_trips() -> None:
    assert parse_message(SPEC_EXAMPLE) == message()


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        (b"\n", b"\r\n", "LF"),
        (b"credentials\n", b"credentials", "exactly one LF"),
        (b"credentials\n", b"credentials\n\n", "exactly one LF"),
        (b"override v1", b"override v2", "line 1"),
        (b"pull_request: 1234", b"pull_request: 01234", "pull_request"),
        (b"pull_request: 1234", b"pull_request: +1234", "pull_request"),
        (b"head_sha: 3f78", b"head_sha: 3F78", "head_sha"),
        (b"repository: acme/infra\n", b"", "expected 'repository'"),
        (b"approver: alice", b"approver:  alice", "approver"),
        (b"approver: alice@acme.example", b"approver: *@acme.example", "approver"),
        (b"reason: INC", b"reason:  INC", "reason"),
        (b"reason: INC", b"reason: INC\xc3\xa9", "ASCII"),
        (b"reason: INC", b"note: x\nreason: INC", "expected 'reason'"),
        (b"credentials\n", b"credentials\nextra: 1\n", "after reason"),
        (b"12:00:00Z", b"12:00:00+00:00", "issued_at"),
        (b"12:00:00Z", b"24:00:00Z", "issued_at"),
        (b"14:00:00Z", b"11:00:00Z", "expires_at"),
        (b'replace "aws_db_instance.main"', b'replace "aws_db_\\u0069nstance.main"', "canonical"),
        (b'replace "aws_db_instance.main"', b"replace aws_db_instance.main", "ADDRESS"),
        (b'replace "aws_db_instance.main"', b'REPLACE "aws_db_instance.main"', "action"),
        (b'replace "aws_db_instance.main"', b'replace "aws_db_instance.main', "JSON"),
        (b'replace "aws_db_instance.main"', b"replace 12", "ADDRESS"),
    ],
)
def test_parse_is_strict(old: bytes, new: bytes, needle: str) -> None:
    assert old in SPEC_EXAMPLE
    with pytest.raises(MalformedOverride) as info:
        parse_message(SPEC_EXAMPLE.replace(old, new, 1))
    assert needle in info.value.reason


def test_parse_refuses_unsorted_or_missing_changes() -> None:
    lines = SPEC_EXAMPLE.split(b"\n")
    swapped = [*lines[:5], lines[6], lines[5], *lines[7:]]
    with pytest.raises(MalformedOverride, match="sorted"):
        parse_message(b"\n".join(swapped))
    with pytest.raises(MalformedOverride, match="at least one change"):
        parse_message(b"\n".join([*lines[:5], *lines[7:]]))


def test_render_refuses_injection() -> None:
    for fields in (
        {"reason": 'ok\nchange: delete "x"'},
        {"reason": ""},
        {"reason": "x" * 501},
        {"approver": "alice bob"},
        {"repository": "acme/infra\nrepository: evil/x"},
        {"changes": ()},
        {"changes": (("delete", "a"), ("delete", "a"))},
        {"expires_at": ISSUED},
        {"issued_at": datetime(2026, 6, 1, 12, 0)},  # naive
        {"issued_at": ISSUED.replace(microsecond=5)},
        {"pull_request": 0},
        {"pull_request": True},
    ):
        with pytest.raises(MalformedOverride):
            render_message(message(**fields))
