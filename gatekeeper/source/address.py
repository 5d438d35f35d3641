"""Terraform resource instance addresses, parsed character by character.

`module.a["k"].module.b[0].data.aws_x.y["key with \\"quotes\\" ] and . inside"]`

Keys are integers or quoted strings. Terraform prints string keys with Go's strconv.Quote
(`\\"`, `\\\\`, `\\n`, `\\t`, `\\u00e9`, `\\x01`, ...); a key can hold `]`, `.`, `"` and any
other character, so no regular expression splits an address safely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Key = int | str | None  # None: no instance key

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_INT = re.compile(r"-?[0-9]+")


class AddressError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Address:
    modules: tuple[tuple[str, Key], ...]  # (call name, instance key) from the root down
    mode: str  # "managed" | "data"
    type: str
    name: str
    key: Key

    @property
    def module_path(self) -> str:
        """The module part of the address (`module.a["k"].module.b`), "" in the root."""
        return ".".join(f"module.{n}{format_key(k)}" for n, k in self.modules)

    def __str__(self) -> str:
        prefix = "data." if self.mode == "data" else ""
        own = f"{prefix}{self.type}.{self.name}{format_key(self.key)}"
        return f"{self.module_path}.{own}" if self.modules else own


def format_key(key: Key) -> str:
    """An instance key as an address writes it: "", `[0]` or `["k"]`."""
    if key is None:
        return ""
    if isinstance(key, int):
        return f"[{key}]"
    return "[" + go_quote(key) + "]"


def go_quote(s: str) -> str:
    """`s` quoted as Terraform (Go's strconv.Quote) writes an address's string key."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif ch.isprintable():
            out.append(ch)
        elif ord(ch) < 0x10000:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(f"\\U{ord(ch):08x}")
    out.append('"')
    return "".join(out)


class _Reader:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str) -> AddressError:
        return AddressError(f"{what} at character {self.pos + 1} of {self.text!r}")

    def name(self) -> str:
        m = _NAME.match(self.text, self.pos)
        if m is None:
            raise self.fail("expected a name")
        self.pos = m.end()
        return m.group()

    def dot(self) -> None:
        if self.text[self.pos : self.pos + 1] != ".":
            raise self.fail("expected '.'")
        self.pos += 1

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def key(self) -> Key:
        if self.text[self.pos : self.pos + 1] != "[":
            return None
        self.pos += 1
        if self.text[self.pos : self.pos + 1] == '"':
            value: Key = self.string()
        else:
            m = _INT.match(self.text, self.pos)
            if m is None:
                raise self.fail("expected an integer or a quoted key")
            self.pos = m.end()
            value = int(m.group())
        if self.text[self.pos : self.pos + 1] != "]":
            raise self.fail("expected ']'")
        self.pos += 1
        return value

    def string(self) -> str:
        text = self.text
        i = self.pos + 1
        out: list[str] = []
        while True:
            if i >= len(text):
                raise AddressError(f"unterminated key in {text!r}")
            ch = text[i]
            if ch == '"':
                self.pos = i + 1
                return "".join(out)
            if ch != "\\":
                out.append(ch)
                i += 1
                continue
            i += 1
            if i >= len(text):
                raise AddressError(f"unterminated escape in {text!r}")
            e = text[i]
            simple = {
                "a": "\a",
                "b": "\b",
                "f": "\f",
                "n": "\n",
                "r": "\r",
                "t": "\t",
                "v": "\v",
                "\\": "\\",
                '"': '"',
                "'": "'",
            }
            if e in simple:
                out.append(simple[e])
                i += 1
            elif e in "xuU":
                width = {"x": 2, "u": 4, "U": 8}[e]
                digits = text[i + 1 : i + 1 + width]
                try:
                    out.append(chr(int(digits, 16)) if len(digits) == width else "")
                except ValueError:
                    raise AddressError(f"bad escape \\{e}{digits} in {text!r}") from None
                if len(digits) != width:
                    raise AddressError(f"bad escape \\{e}{digits} in {text!r}")
                i += 1 + width
            elif e in "01234567":
                digits = text[i : i + 3]
                try:
                    out.append(chr(int(digits, 8)))
                except ValueError:
                    raise AddressError(f"bad escape \\{digits} in {text!r}") from None
                i += 3
            else:
                raise AddressError(f"unknown escape \\{e} in {text!r}")


def hcl_quoted_keys(terraform_version: str | None) -> bool:
    """Does this Terraform write string keys with HCL's quoting (`${` as `$${`, `%{` as
    `%%{`)? Terraform 1.3 and later do (hashicorp/terraform#31394), as does every OpenTofu;
    earlier ones used Go's strconv.Quote. Unknown: assume a current one."""
    m = re.match(r"(\d+)\.(\d+)", terraform_version or "")
    return m is None or (int(m.group(1)), int(m.group(2))) >= (1, 3)


def _unescape_templates(key: Key) -> Key:
    # HCL reads `$${` as a literal `${` and `%%{` as `%{`: undo the escape Terraform applied.
    if isinstance(key, str) and ("${" in key or "%{" in key):
        return key.replace("$${", "${").replace("%%{", "%{")
    return key


def parse_address(text: str, *, hcl_keys: bool = False) -> Address:
    """Parse a resource instance address. Raises AddressError. `hcl_keys`: the keys are in
    HCL's quoting (see hcl_quoted_keys), so template escapes are undone."""
    r = _Reader(text)
    modules: list[tuple[str, Key]] = []
    while True:
        first = r.name()
        if first == "module":
            r.dot()
            name = r.name()
            mkey = r.key()
            modules.append((name, _unescape_templates(mkey) if hcl_keys else mkey))
            r.dot()
            continue
        mode = "managed"
        rtype = first
        if first == "data":
            mode = "data"
            r.dot()
            rtype = r.name()
        r.dot()
        name = r.name()
        key = r.key()
        if hcl_keys:
            key = _unescape_templates(key)
        if not r.at_end():
            raise r.fail("unexpected text after the address")
        return Address(tuple(modules), mode, rtype, name, key)
