"""`Co-authored-by:` trailers in commit messages.

Trailers are text anyone can write, so they may only ever make the outcome stricter: a
co-author is agent evidence (when it names an agent) and an operator (when it names a
human), never a reason to count anyone. So the parser is deliberately liberal: the key is
case-insensitive, a trailer counts wherever it sits in the message, and CRLF is accepted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TRAILER = re.compile(
    r"^[ \t>]*co-authored-by[ \t]*:[ \t]*(?P<value>.*?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_NAME_EMAIL = re.compile(r"^(?P<name>.*?)\s*<(?P<email>[^<>]*)>\s*$")


@dataclass(frozen=True, slots=True)
class CoAuthor:
    name: str
    email: str | None  # None when the trailer carries no <email>
    raw: str  # the whole value, for evidence and glob matching ("Name <email>")


def co_authors(message: str) -> tuple[CoAuthor, ...]:
    """Every `Co-authored-by:` trailer in a commit message, in order, duplicates removed."""
    out: list[CoAuthor] = []
    seen: set[str] = set()
    for m in _TRAILER.finditer(message.replace("\r\n", "\n").replace("\r", "\n")):
        value = m.group("value").strip()
        if not value:
            continue
        ne = _NAME_EMAIL.match(value)
        if ne:
            name, email = ne.group("name").strip(), ne.group("email").strip() or None
        else:
            name, email = value, None
        key = value.casefold()
        if key in seen:
            continue
        seen.add(key)
        out.append(CoAuthor(name=name, email=email, raw=value))
    return tuple(out)
