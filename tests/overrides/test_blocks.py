"""Override blocks in a comment (gatekeeper.overrides.blocks): CommonMark fences, exactly
the info string, one message and one signature per block."""

from __future__ import annotations

import pytest

from gatekeeper.overrides import sshsig
from gatekeeper.overrides.blocks import extract_override_blocks, split_block
from gatekeeper.overrides.message import MalformedOverride


def test_extracts_only_exact_info_string() -> None:
    body = (
        "text\n"
        "```gatekeeper-override\nA\n```\n"
        "~~~~ gatekeeper-override \nB\n~~~\nstill B\n~~~~~\n"
        "```gatekeeper-override extra\nC\n```\n"
        "```gatekeeper-override-v2\nD\n```\n"
        "```Gatekeeper-Override\nE\n```\n"
        "    ```gatekeeper-override\n    F (indented code, not a fence)\n    ```\n"
        "> ```gatekeeper-override\n> G (quoted)\n> ```\n"
        "``` gatekeeper-override\nH\n```\n"
    )
    blocks = extract_override_blocks(body)
    assert [b.content for b in blocks] == ["A\n", "B\n~~~\nstill B\n", "H\n"]
    assert [b.line for b in blocks] == [2, 5, 25]


def test_fences_nest_and_run_to_the_end() -> None:
    outer = "````markdown\n```gatekeeper-override\nnot me\n```\n````\n"
    assert extract_override_blocks(outer) == []
    backtick_info = "```gatekeeper-override`\nx\n```\n"
    assert extract_override_blocks(backtick_info) == []
    unclosed = "```gatekeeper-override\nA\nB"
    assert [b.content for b in extract_override_blocks(unclosed)] == ["A\nB\n"]
    short_close = "````gatekeeper-override\nA\n```\nB\n`````  \nafter\n"
    assert [b.content for b in extract_override_blocks(short_close)] == ["A\n```\nB\n"]


def test_indented_fence_dedents_content_and_crlf_is_normalized() -> None:
    body = "  ```gatekeeper-override\r\n    four\r\n one\r\nzero\r\n   ```\r\n"
    assert [b.content for b in extract_override_blocks(body)] == ["  four\none\nzero\n"]


def test_split_block() -> None:
    armored = f"{sshsig.ARMOR_BEGIN}\nAAAA\n{sshsig.ARMOR_END}\n"
    assert split_block("msg\n" + armored + "\n\n") == (b"msg\n", armored)
    for bad, needle in [
        ("msg\n", "no -----BEGIN"),
        (armored, "no message"),
        ("msg\n" + armored + armored, "more than one"),
        ("msgé\n" + armored, "ASCII"),
    ]:
        with pytest.raises(MalformedOverride, match=needle):
            split_block(bad)
