"""Override blocks in a comment: the fenced code blocks a verifier reads, and the comment
a signer posts. Both kinds of override (PR and apply) use these; only the info string differs.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from gatekeeper.overrides.message import INFO_STRING, MalformedOverride
from gatekeeper.overrides.sshsig import ARMOR_BEGIN

_FENCE_OPEN = re.compile(r"( {0,3})(`{3,}|~{3,})(.*)")


@dataclass(frozen=True, slots=True)
class OverrideBlock:
    line: int  # 1-based line of the opening fence in the comment
    content: str  # the block's text, LF line endings, each line ending in LF


def extract_override_blocks(
    comment_body: str, info_string: str = INFO_STRING
) -> list[OverrideBlock]:
    """Top-level fenced code blocks whose info string is exactly `info_string`
    (`gatekeeper-override`, or `gatekeeper-apply-override` for an apply override).

    Follows CommonMark's fence rules: up to 3 spaces of indentation, 3+ backticks or tildes,
    a closing fence of the same character at least as long, content de-indented by the
    opening fence's indentation, an unclosed fence running to the end of the text.
    """
    text = comment_body.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if text.endswith("\n"):
        lines.pop()
    blocks: list[OverrideBlock] = []
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.fullmatch(lines[i])
        if m is None or (m.group(2)[0] == "`" and "`" in m.group(3)):
            i += 1
            continue
        indent, fence, info = len(m.group(1)), m.group(2), m.group(3)
        closing = re.compile(r" {0,3}" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*")
        j = i + 1
        while j < len(lines) and not closing.fullmatch(lines[j]):
            j += 1
        if info.strip(" \t") == info_string:
            body = [_dedent(line, indent) for line in lines[i + 1 : j]]
            blocks.append(OverrideBlock(i + 1, "".join(line + "\n" for line in body)))
        i = j + 1
    return blocks


def fenced_comment(summary: str, info_string: str, message: bytes, signature: str) -> str:
    """A comment body: one human-readable line, then the fenced block a verifier reads."""
    armored = signature if signature.endswith("\n") else signature + "\n"
    return f"{summary}\n\n```{info_string}\n{message.decode('ascii')}{armored}```\n"


def _dedent(line: str, n: int) -> str:
    strip = len(line) - len(line.lstrip(" "))
    return line[min(strip, n) :]


def split_block(content: str) -> tuple[bytes, str]:
    """Split a block into (message bytes, armored signature)."""
    marker = ARMOR_BEGIN + "\n"
    starts = [i for i in _line_starts(content) if content.startswith(marker, i)]
    if not starts:
        raise MalformedOverride(f"no {ARMOR_BEGIN} line in the block")
    if len(starts) > 1:
        raise MalformedOverride("more than one signature in the block")
    message, armored = content[: starts[0]], content[starts[0] :]
    if not message:
        raise MalformedOverride("no message before the signature")
    # Blank lines before the closing fence are layout, not signed data.
    armored = armored.rstrip("\n") + "\n"
    try:
        return message.encode("ascii"), armored
    except UnicodeEncodeError:
        raise MalformedOverride("message is not ASCII") from None


def _line_starts(text: str) -> Iterable[int]:
    yield 0
    i = text.find("\n")
    while i != -1:
        yield i + 1
        i = text.find("\n", i + 1)
