"""render.escape: the one set of characters no output shows raw, and their visible escapes."""

from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.render import markdown_escape as md
from gatekeeper.render.escape import CONTROL, CONTROL_CLASS, escape_char, terminal

# Everything the set must cover, by name.
INVISIBLE = {
    "\u200b": "zero width space",
    "\u200c": "zero width non-joiner",
    "\u200d": "zero width joiner",
    "\u200e": "left-to-right mark",
    "\u200f": "right-to-left mark",
    "\u2028": "line separator",
    "\u2029": "paragraph separator",
    "\u202a": "left-to-right embedding",
    "\u202b": "right-to-left embedding",
    "\u202c": "pop directional formatting",
    "\u202d": "left-to-right override",
    "\u202e": "right-to-left override",
    "\u2060": "word joiner",
    "\u2066": "left-to-right isolate",
    "\u2067": "right-to-left isolate",
    "\u2068": "first strong isolate",
    "\u2069": "pop directional isolate",
    "\ufeff": "zero width no-break space (byte order mark)",
}


@pytest.mark.parametrize("char", sorted(INVISIBLE), ids=lambda c: f"U+{ord(c):04X}")
def test_zero_width_bidi_and_separators_are_escaped(char: str) -> None:
    out = terminal(f"prod{char}db")
    assert out == f"prod\\u{ord(char):04x}db"
    assert char not in out


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\tb", "a\\tb"),
        ("a\rb", "a\\rb"),
        ("\x1b[8mhidden\x1b[0m", "\\x1b[8mhidden\\x1b[0m"),  # ANSI conceal
        ("\x00\x07\x08\x0b\x0c\x1f\x7f", "\\x00\\x07\\x08\\x0b\\x0c\\x1f\\x7f"),
        ("\x9b31m", "\\x9b31m"),  # C1 CSI
        ("\x85", "\\x85"),  # C1 next line
        ("plain é ☕ 日本 \\x1b", "plain é ☕ 日本 \\x1b"),  # printable text is untouched
    ],
)
def test_controls_become_visible_escapes(text: str, shown: str) -> None:
    assert terminal(text) == shown


def test_every_character_of_the_set_and_only_those() -> None:
    every = [chr(n) for n in range(sys.maxunicode + 1) if not 0xD800 <= n <= 0xDFFF]
    hit = [c for c in every if CONTROL.fullmatch(c)]
    expected = (
        [chr(n) for n in range(0x00, 0x20)]
        + [chr(n) for n in range(0x7F, 0xA0)]
        + sorted(INVISIBLE)
    )
    assert hit == sorted(expected)
    assert re.fullmatch(f"[{CONTROL_CLASS}]+", "".join(hit))
    assert all(terminal(c) == escape_char(c) != c for c in hit)


@given(st.text())
def test_nothing_in_the_set_survives_and_escaping_twice_changes_nothing(s: str) -> None:
    out = terminal(s)
    assert CONTROL.search(out) is None
    assert terminal(out) == out


@given(st.text(alphabet=st.sampled_from([*INVISIBLE, "\n", "\t", "\r", "\x1b", "\x9b", "a"])))
def test_terminal_and_markdown_show_the_same_escapes(s: str) -> None:
    # md.visible covers the same set, with the same escapes (until it imports this one).
    assert terminal(s) == md.visible(s)


def test_the_legacy_workflow_command_form_is_escaped_like_the_colon_form() -> None:
    """The runner still parses `##[add-mask]...` (anywhere in a line) and `::cmd::` (at the
    start): untrusted text in a log line may carry neither."""
    from gatekeeper.render.escape import inert_commands, log_line

    assert inert_commands('null_resource.x["##[add-mask]s3cret"]') == (
        'null_resource.x["##\\x5badd-mask]s3cret"]'
    )
    assert inert_commands("  ::error::pwned") == "  \\x3a:error::pwned"
    assert (
        log_line("##[set-output name=a]\n::warning::x")
        == "##\\x5bset-output name=a]\\n::warning::x"
    )


def test_text_output_carries_no_legacy_workflow_command(capsys: pytest.CaptureFixture[str]) -> None:
    from gatekeeper.cli import main
    from tests.helpers import fixture_plan

    code = main(["check", "--plan", f"##[add-mask]x={fixture_plan('no_changes')}"])
    out, _ = capsys.readouterr()
    assert code == 0 and "##[" not in out and "##\\x5badd-mask]x" in out
