"""A fast structural scanner for HCL native syntax: bodies, blocks and attribute spans.

python-hcl2's lark grammar parses about 8 µs per byte, so a 1 MB root module takes about
8 s: too slow to parse whole. This scanner splits a body into its attributes and blocks (with
line numbers) in one pass that understands strings, `${...}` interpolation, heredocs and the
three comment styles, without building expression trees. Only the spans the gate needs
(a resource's tags, a module call's source, ...) are then parsed by python-hcl2
(`expr.parse_expression`).

No python-hcl2 import here: scanning is pure Python and cheap.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
# Whitespace, newlines and comments between the items of a body.
_GAP = re.compile(r"(?:[ \t\r\n\ufeff]+|#[^\n]*|//[^\n]*|/\*.*?\*/)*", re.S)
_SPACES = re.compile(r"[ \t\r]*")
# In code: what changes nesting, starts a string, heredoc or comment, or ends a line.
_CODE = re.compile(r'[{}\[\]()"\n#]|//|/\*|<<-?(?=[A-Za-z])')
# In a quoted template: escapes, interpolation and directive starts, the closing quote.
_STRING = re.compile(r'\\.|\$\$\{|%%\{|\$\{|%\{|"|\n', re.S)
_HEREDOC_START = re.compile(r"<<(-?)([A-Za-z][A-Za-z0-9._-]*)[ \t]*\r?\n")
_LABEL = re.compile(r'"((?:[^"\\\n]|\\.)*)"')
_CLOSE = {"{": "}", "[": "]", "(": ")"}
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


class ScanError(Exception):
    """HCL this scanner cannot split: unbalanced brackets, an unterminated string, ..."""

    def __init__(self, pos: int, message: str) -> None:
        super().__init__(message)
        self.pos = pos
        self.message = message


@dataclass(slots=True)
class Text:
    """One source file's text with a line index."""

    path: str
    text: str
    _nl: list[int] | None = field(default=None, repr=False)

    def line(self, pos: int) -> int:
        """1-based line number of a character offset."""
        if self._nl is None:
            self._nl = [m.start() for m in re.finditer("\n", self.text)]
        return bisect.bisect_left(self._nl, pos) + 1

    def column(self, pos: int) -> int:
        """1-based column of a character offset."""
        start = self.text.rfind("\n", 0, pos) + 1
        return pos - start + 1


@dataclass(frozen=True, slots=True)
class Attr:
    name: str
    start: int  # offset of the name
    expr_start: int  # offset just after `=`
    end: int  # offset of the end of the expression (the newline or the body's end)


@dataclass(frozen=True, slots=True)
class Block:
    type: str
    labels: tuple[str, ...]
    start: int  # offset of the block type
    body_start: int  # offset just after `{`
    body_end: int  # offset of the closing `}`


@dataclass(slots=True)
class Body:
    attrs: dict[str, Attr]
    blocks: list[Block]


def scan_body(text: str, start: int = 0, end: int | None = None) -> Body:
    """Split the body text[start:end] into attributes and blocks. Raises ScanError."""
    if end is None:
        end = len(text)
    attrs: dict[str, Attr] = {}
    blocks: list[Block] = []
    pos = start
    while True:
        gap = _GAP.match(text, pos, end)
        pos = gap.end() if gap else pos
        if pos >= end:
            break
        m = _NAME.match(text, pos, end)
        if m is None:
            raise ScanError(
                pos, f"expected an attribute name or a block type, found {_show(text, pos)}"
            )
        name = m.group()
        p = _spaces(text, m.end(), end)
        if p < end and text[p] == "=" and text[p + 1 : p + 2] != "=":
            expr_end = _skip_nested(text, p + 1, end, stop_at_newline=True)
            if expr_end < end and text[expr_end] != "\n":
                raise ScanError(expr_end, f"unexpected {text[expr_end]!r}")
            if name not in attrs:
                attrs[name] = Attr(name, m.start(), p + 1, expr_end)
            pos = expr_end
            continue
        labels: list[str] = []
        while True:
            p = _spaces(text, p, end)
            if p >= end:
                raise ScanError(m.start(), f"block {name!r} has no body")
            ch = text[p]
            if ch == "{":
                break
            if ch == '"':
                lm = _LABEL.match(text, p, end)
                if lm is None:
                    raise ScanError(p, "unterminated block label")
                labels.append(unescape(lm.group(1)))
                p = lm.end()
                continue
            nm = _NAME.match(text, p, end)
            if nm is None:
                raise ScanError(
                    p, f"expected a block label or '{{' after {name!r}, found {_show(text, p)}"
                )
            labels.append(nm.group())
            p = nm.end()
        body_start = p + 1
        close = _skip_nested(text, body_start, end, stop_at_newline=False)
        if close >= end or text[close] != "}":
            raise ScanError(m.start(), f"block {_header(name, labels)} is never closed")
        blocks.append(Block(name, tuple(labels), m.start(), body_start, close))
        pos = close + 1
    return Body(attrs, blocks)


def _skip_nested(text: str, pos: int, end: int, *, stop_at_newline: bool) -> int:
    """skip_code, with nesting too deep for the recursion ("${"${"${...}"}"}") a ScanError."""
    try:
        return skip_code(text, pos, end, stop_at_newline=stop_at_newline)
    except RecursionError:
        raise ScanError(pos, "nested too deeply to read") from None


def _spaces(text: str, pos: int, end: int) -> int:
    m = _SPACES.match(text, pos, end)
    return m.end() if m else pos


def _show(text: str, pos: int) -> str:
    return repr(text[pos : pos + 12].split("\n", 1)[0] or "end of line")


def _header(name: str, labels: list[str]) -> str:
    return " ".join([name, *(f'"{lb}"' for lb in labels)])


def skip_code(text: str, pos: int, end: int, *, stop_at_newline: bool) -> int:
    """Skip an expression (or block contents) from `pos`, minding strings, heredocs and
    comments. Returns the offset of the first unmatched closing bracket, of the newline that
    ends the expression (when stop_at_newline), or end. Also used by `expr` to find where an
    interpolation `${...}` ends."""
    stack: list[tuple[str, int]] = []
    search = _CODE.search
    while True:
        m = search(text, pos, end)
        if m is None:
            if stack:
                raise ScanError(stack[-1][1], f"{text[stack[-1][1]]!r} is never closed")
            return end
        tok = m.group()
        p = m.start()
        c = tok[0]
        if c == "\n":
            if stop_at_newline and not stack:
                return p
            pos = p + 1
        elif c in "{[(":
            stack.append((_CLOSE[c], p))
            pos = p + 1
        elif c in "}])":
            if not stack:
                return p
            want, opened = stack.pop()
            if want != c:
                raise ScanError(p, f"{c!r} does not match {text[opened]!r} on an earlier line")
            pos = p + 1
        elif c == '"':
            pos = _skip_string(text, p + 1, end)
        elif c == "#" or tok == "//":
            nl = text.find("\n", p, end)
            pos = end if nl < 0 else nl
        elif tok == "/*":
            close = text.find("*/", p + 2, end)
            if close < 0:
                raise ScanError(p, "comment /* is never closed")
            pos = close + 2
        else:  # heredoc
            pos = _skip_heredoc(text, p, end)


def _skip_string(text: str, pos: int, end: int) -> int:
    """Skip a quoted template whose opening quote is just before pos; return the offset after
    the closing quote."""
    opened = pos - 1
    search = _STRING.search
    while True:
        m = search(text, pos, end)
        if m is None:
            raise ScanError(opened, "unterminated string")
        tok = m.group()
        if tok == '"':
            return m.end()
        if tok == "\n":
            raise ScanError(opened, "unterminated string (a quoted string cannot span lines)")
        if tok in ("${", "%{"):
            close = skip_code(text, m.end(), end, stop_at_newline=False)
            if close >= end or text[close] != "}":
                raise ScanError(m.start(), f"{tok} is never closed")
            pos = close + 1
        else:  # an escape or $${ / %%{
            pos = m.end()


def _skip_heredoc(text: str, pos: int, end: int) -> int:
    m = _HEREDOC_START.match(text, pos, end)
    if m is None:
        # `<<` not followed by a marker and a newline: not a heredoc (and not valid HCL).
        raise ScanError(pos, "a heredoc marker must be followed by a newline")
    marker = re.compile(r"^[ \t]*" + re.escape(m.group(2)) + r"[ \t]*\r?$", re.M)
    close = marker.search(text, m.end(), end)
    if close is None:
        raise ScanError(pos, f"heredoc <<{m.group(2)} is never closed")
    return close.end()


def unescape(s: str) -> str:
    """Decode the escapes of a quoted HCL string with no interpolation (block labels)."""
    if "\\" not in s:
        return s
    out: list[str] = []
    i = 0
    while i < len(s):
        ch = s[i]
        if ch == "\\" and i + 1 < len(s):
            nxt = s[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            width = {"u": 4, "U": 8}.get(nxt)
            if width:
                digits = s[i + 2 : i + 2 + width]
                try:
                    out.append(chr(int(digits, 16)))
                    i += 2 + width
                    continue
                except ValueError:
                    pass
        out.append(ch)
        i += 1
    return "".join(out)
