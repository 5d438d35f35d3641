"""Make untrusted text (for_each keys, attribute values, names) safe to print in a terminal.

The one set of characters no output may show raw (`CONTROL`): a terminal would act on them,
or a reader would not see them.

- C0 controls, newline and tab included (ESC starts ANSI sequences that recolour, conceal or
  rewrite the screen; CR and LF fake lines), DEL and the C1 controls (U+0080-U+009F, CSI too);
- zero-width characters (U+200B-U+200D, U+2060 word joiner, U+FEFF byte order mark): two names
  that look the same are different;
- the left-to-right/right-to-left marks (U+200E, U+200F), the bidi embeddings and overrides
  (U+202A-U+202E) and isolates (U+2066-U+2069): Trojan-source reordering;
- the line and paragraph separators (U+2028, U+2029): a line break to some readers.

Each becomes a visible escape (`terminal`): `\\n`, `\\t`, `\\r`, `\\xNN`, `\\uNNNN`.
"""

from __future__ import annotations

import re

# The character class (without brackets), for patterns that combine it with others.
CONTROL_CLASS = r"\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060\u2066-\u2069\ufeff"
CONTROL = re.compile(f"[{CONTROL_CLASS}]")

_NAMED = {"\n": "\\n", "\t": "\\t", "\r": "\\r"}


def escape_char(c: str) -> str:
    """The visible escape of one character of CONTROL."""
    named = _NAMED.get(c)
    if named is not None:
        return named
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}"


def terminal(text: str) -> str:
    """`text` with every CONTROL character as a visible escape (see the module docstring)."""
    return CONTROL.sub(lambda m: escape_char(m.group()), text)


# The runner acts on workflow commands in any line of a job log, stdout and stderr alike: the
# `::name ...::` form at the start of a line (leading whitespace ignored) and the legacy
# `##[name ...]` form, which it still parses. Untrusted text must start neither.
_LEGACY_COMMAND = "##["


def inert_commands(line: str) -> str:
    """`line` (already `terminal`-escaped) with no workflow command the runner would act on:
    `##[` becomes `##\\x5b` wherever it is, a leading `::` becomes `\\x3a:`."""
    if _LEGACY_COMMAND in line:
        line = line.replace(_LEGACY_COMMAND, "##\\x5b")
    stripped = line.lstrip()
    if stripped.startswith("::"):
        line = line[: len(line) - len(stripped)] + "\\x3a" + stripped[1:]
    return line


def log_line(text: str) -> str:
    """Untrusted text made safe for one line of a job log: `terminal`, then `inert_commands`."""
    return inert_commands(terminal(text))
