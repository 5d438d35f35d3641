"""Escaping primitives for GitHub-flavoured Markdown built from untrusted text.

Everything that comes from a plan, the code or the pull request (for_each keys, attribute
values, file paths, logins, branch names, plan labels) goes through one of these before it
reaches Markdown. The rules, and what each one stops:

- `text`: inline text. HTML specials become entities (`&lt;`, so no tag, no comment, no
  entity of the data's own); every other Markdown special is backslash-escaped (no emphasis,
  link, image, code span, heading, list or table cell break); `@` is followed by a zero-width
  space (no mention, no team ping, no e-mail autolink); `://`, `www.` and `#123` get one too
  (GitHub autolinks bare URLs and issue references after parsing, so escapes alone would
  not stop them); control and bidi characters become visible `\\xNN`/`\\uNNNN` escapes
  (no line break, no terminal or Trojan-source tricks).
- `code`: an inline code span whose delimiter is longer than any backtick run inside. In a
  table cell `|` is escaped as `\\|` (GFM splits cells before it parses code spans).
- `fence`: a fenced block whose fence is longer than any backtick run in the body.
- `html_text`: text inside the raw HTML the renderer emits itself (`<summary>`).
- `url_path`: percent-encodes a repository path for a link destination.

Backslash-escaped characters, entities and zero-width spaces are not visible on GitHub; the
text a reviewer reads is the data as it is (control characters aside).
"""

from __future__ import annotations

import re
import urllib.parse

from gatekeeper.render.escape import terminal

ZWSP = "\u200b"

# ASCII punctuation that means something to CommonMark/GFM somewhere. Escaping a character
# that did not need it is harmless: any ASCII punctuation may be backslash-escaped.
# `$` starts GitHub math; `~` strikethrough; `!`, `.`, `)`, `+`, `-`, `#` start blocks.
_MD_SPECIAL = frozenset("\\`*_{}[]()#+-.!|~$")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}

# Places GitHub turns plain text into a link or a notification after Markdown is parsed.
_AUTOLINK = re.compile(r"(?i)(?<=:)(?=//)|(?<=\bwww)(?=\.)|(?<=@)|(?<=#)(?=\d)")


def visible(s: str) -> str:
    """Control and bidi characters as visible escapes: `\\n`, `\\t`, `\\x1b`, `\\u202e`.
    The one character set for every sink lives in render/escape.py."""
    return terminal(s)


def neutralize(s: str) -> str:
    """Break `@mentions`, bare URLs and `#123` references with a zero-width space."""
    return _AUTOLINK.sub(ZWSP, s)


def _escape(s: str) -> str:
    out: list[str] = []
    for c in neutralize(visible(s)):
        if c in _HTML:
            out.append(_HTML[c])
        elif c in _MD_SPECIAL:
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def _keep_end_spaces(escaped: str, *, lead: bool = True, trail: bool = True) -> str:
    """Leading spaces would make an indented code block at the start of a list item, and
    Markdown trims both ends of a paragraph or cell: keep them as character references."""
    body = escaped.strip(" ")
    if not body:
        return "&#32;" * len(escaped) if lead or trail else escaped
    n_lead = len(escaped) - len(escaped.lstrip(" "))
    n_trail = len(escaped) - len(escaped.rstrip(" "))
    head = ("&#32;" if lead else " ") * n_lead
    tail = ("&#32;" if trail else " ") * n_trail
    return head + body + tail


def text(s: str) -> str:
    """Untrusted text for an inline Markdown context (paragraph, list item, table cell)."""
    return _keep_end_spaces(_escape(s))


# A quoted name opens after a space or an opening bracket and closes before a space,
# punctuation or the end: a name with backticks inside stays one span.
_TICKED = re.compile(r"(?<![^\s(\[{\"'])`([^\n]+?)`(?![^\s.,;:!?)\]}\"'])")


def prose(s: str, *, in_table: bool = False) -> str:
    """Untrusted prose in which `backticked` parts are shown as code spans.

    Messages the gate writes quote names in backticks ("branch `codex/x` matches ...").
    Every piece is either escaped text or a code span, so a backtick inside a quoted name can
    only change where the spans fall, never what the Markdown means."""
    out: list[str] = []
    pos = 0
    for m in _TICKED.finditer(s):
        out.append(_keep_end_spaces(_escape(s[pos : m.start()]), lead=pos == 0, trail=False))
        out.append(code(m.group(1), in_table=in_table))
        pos = m.end()
    out.append(_keep_end_spaces(_escape(s[pos:]), lead=pos == 0))
    return "".join(out)


def cell(s: str) -> str:
    """Untrusted text for a GFM table cell. `text` already escapes `|` and newlines."""
    return text(s)


def longest_run(s: str, ch: str = "`") -> int:
    """Length of the longest run of `ch` in `s`."""
    best = 0
    for m in re.finditer(re.escape(ch) + "+", s):
        best = max(best, len(m.group()))
    return best


def code(s: str, *, in_table: bool = False) -> str:
    """An inline code span showing `s` exactly (control characters made visible).

    Code spans are safe from HTML, Markdown, mentions and autolinks; only the delimiter and,
    in a table, the cell separator `|` need care."""
    s = visible(s)
    if s == "":
        return "` `"
    tick = "`" * (longest_run(s) + 1)
    if s[0] in "` " or s[-1] in "` ":
        s = f" {s} "
    if in_table:
        s = s.replace("|", "\\|")
    return f"{tick}{s}{tick}"


def fence(body: str, info: str = "") -> str:
    """A fenced code block around `body`, fenced longer than any backtick run inside.

    `info` is the language (`diff`, `sh`); it must not contain backticks or newlines."""
    if "`" in info or "\n" in info or "\r" in info:
        raise ValueError(f"bad info string {info!r}")
    body = body.replace("\r\n", "\n").replace("\r", "\\r")
    if body and not body.endswith("\n"):
        body += "\n"
    tick = "`" * max(3, longest_run(body) + 1)
    return f"{tick}{info}\n{body}{tick}"


def html_text(s: str) -> str:
    """Untrusted text inside raw HTML the renderer emits (`<summary>...</summary>`).

    The whole HTML block is passed through as HTML, so Markdown escapes would show; entities
    do not. Mentions and autolinks are broken as in `text`."""
    s = neutralize(visible(s))
    return (
        s.replace("&", "&amp;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
    )


def url_path(path: str) -> str:
    """A repository path (or ref) percent-encoded for a link destination: `/` kept, spaces,
    parentheses, `#`, `?`, `<`, `>` and non-ASCII encoded."""
    return urllib.parse.quote(path, safe="/")


_SAFE_URL = re.compile(
    r"https?://[A-Za-z0-9.\-]+(:\d+)?(/[A-Za-z0-9._~%+,=:@/\-]*)?"
    r"(\?[A-Za-z0-9._~%+,=\-&]*)?(#[A-Za-z0-9._~%+,=:\-]*)?"
)


def safe_url(url: str) -> str | None:
    """`url` when it is a plain http(s) URL that needs no escaping in a link, else None."""
    if _SAFE_URL.fullmatch(url) and "(" not in url and ")" not in url:
        return url
    return None


def link(label_md: str, url: str) -> str:
    """`[label](url)`; `label_md` must already be Markdown (escaped with `text` or `code`).

    An unsafe URL yields the label without a link."""
    u = safe_url(url)
    return f"[{label_md}]({u})" if u else label_md
