"""The git/OpenSSH `allowed_signers` file: the trust root for signed overrides.

Format (ssh-keygen(1), ALLOWED SIGNERS): `principals [options] keytype base64key [comment]`.
Supported options: `namespaces="pattern,..."`, `valid-after=`, `valid-before=`.
Refused, with the line number: `cert-authority` (a CA could mint keys we never listed),
wildcard or negated principals (a pattern is not a person), unknown options, weak or
malformed keys. Timestamps without `Z` are read as UTC (ssh-keygen uses the local zone; GitHub
runners run in UTC), which keeps this module free of the environment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from gatekeeper.errors import ConfigError
from gatekeeper.overrides.sshsig import (
    KEY_TYPES,
    PublicKey,
    SignatureRejected,
    public_key_from_openssh,
)

_OPTION_NAMES = ("cert-authority", "namespaces", "valid-after", "valid-before")
_TIMESTAMP = re.compile(r"(\d{8})(\d{4}(\d{2})?)?(Z?)")
_HINT = (
    "each line is `principals [options] keytype base64key [comment]`, e.g. "
    '`alice@example.com namespaces="gatekeeper-override-v1@example.com" ssh-ed25519 AAAA...`'
)


@dataclass(frozen=True, slots=True)
class AllowedSigner:
    line: int
    principals: tuple[str, ...]
    key: PublicKey
    namespaces: tuple[str, ...] | None  # None: every namespace (OpenSSH's default)
    valid_after: datetime | None
    valid_before: datetime | None

    def allows_namespace(self, namespace: str) -> bool:
        """Whether its namespaces= option (absent: any) admits `namespace`."""
        return self.namespaces is None or match_pattern_list(namespace, self.namespaces)

    def valid_at(self, when: datetime) -> bool:
        """Whether `when` is inside its valid-after/valid-before window."""
        # Inclusive bounds, as OpenSSH's sshsig_check_options.
        if self.valid_after is not None and when < self.valid_after:
            return False
        return not (self.valid_before is not None and when > self.valid_before)


@dataclass(frozen=True, slots=True)
class AllowedSigners:
    entries: tuple[AllowedSigner, ...]
    source: str = "allowed_signers"

    def entries_for_key(self, key: PublicKey) -> tuple[AllowedSigner, ...]:
        """The lines that list `key`, whatever their options."""
        return tuple(e for e in self.entries if e.key.blob == key.blob)

    def lookup(
        self, key: PublicKey, *, namespace: str, at: datetime | tuple[datetime, ...]
    ) -> tuple[AllowedSigner, ...]:
        """Entries for `key` that allow `namespace` and are valid at every time in `at`."""
        times = at if isinstance(at, tuple) else (at,)
        return tuple(
            e
            for e in self.entries_for_key(key)
            if e.allows_namespace(namespace) and all(e.valid_at(t) for t in times)
        )

    def principals_for(
        self, key: PublicKey, *, namespace: str, at: datetime | tuple[datetime, ...]
    ) -> frozenset[str]:
        """The principals `key` may sign as for `namespace` at every time in `at`."""
        return frozenset(
            p for e in self.lookup(key, namespace=namespace, at=at) for p in e.principals
        )


def match_pattern_list(value: str, patterns: tuple[str, ...]) -> bool:
    """OpenSSH pattern-list semantics (case-sensitive): any `!pattern` match vetoes."""
    matched = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern[1:] if negated else pattern
        regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in body)
        if re.fullmatch(regex, value, flags=re.DOTALL):
            if negated:
                return False
            matched = True
    return matched


def parse_allowed_signers(text: str, *, source: str = "allowed_signers") -> AllowedSigners:
    """Parse the whole file; the first bad line raises ConfigError naming `source:line`."""
    entries = []
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip("\r").strip(" \t")
        if not line or line.startswith("#"):
            continue
        entries.append(_parse_line(line, number, source))
    return AllowedSigners(tuple(entries), source)


def _error(source: str, number: int, what: str, hint: str = _HINT) -> ConfigError:
    return ConfigError(f"{source}:{number}: {what}", hint)


def _tokens(line: str, source: str, number: int) -> Iterator[tuple[str, str]]:
    """Yield (token, rest-of-line) splitting on blanks outside double quotes."""
    i, n = 0, len(line)
    while i < n:
        while i < n and line[i] in " \t":
            i += 1
        if i == n:
            return
        start, quoted = i, False
        while i < n and (quoted or line[i] not in " \t"):
            if line[i] == "\\" and quoted and i + 1 < n:
                i += 1
            elif line[i] == '"':
                quoted = not quoted
            i += 1
        if quoted:
            raise _error(source, number, "unterminated double quote")
        yield line[start:i], line[i:]


def _split_commas(text: str) -> list[str]:
    """Split on commas outside double quotes (option values may quote commas)."""
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for c in text:
        if c == '"':
            quoted = not quoted
        if c == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(c)
    parts.append("".join(current))
    return parts


def _looks_like_options(token: str) -> bool:
    first = token.split(",", 1)[0].split("=", 1)[0].lower()
    return first in _OPTION_NAMES


def _parse_line(line: str, number: int, source: str) -> AllowedSigner:
    tokens = _tokens(line, source, number)
    principals_tok, _ = next(tokens)
    second = next(tokens, None)
    if second is None:
        raise _error(source, number, "missing key")
    options_tok: str | None = None
    if _looks_like_options(second[0]):
        options_tok = second[0]
        second = next(tokens, None)
        if second is None:
            raise _error(source, number, "missing key after the options")
    key_type = second[0]
    if key_type.endswith("-cert-v01@openssh.com"):
        raise _error(source, number, "certificate keys are not supported", _CERT_HINT)
    if key_type not in KEY_TYPES:
        raise _error(
            source,
            number,
            f"unsupported key type or option {key_type!r}",
            "supported key types: " + ", ".join(KEY_TYPES) + "; options: "
            'namespaces="...", valid-after=..., valid-before=...',
        )
    key_b64 = next(tokens, None)
    if key_b64 is None:
        raise _error(source, number, "missing base64 key")
    try:
        key = public_key_from_openssh(f"{key_type} {key_b64[0]}")
    except SignatureRejected as exc:
        raise _error(
            source, number, f"bad {key_type} key: {exc.reason}", "use an ed25519(-sk) key"
        ) from None
    # Whatever follows the key is a free-form comment.
    namespaces, after, before = _parse_options(options_tok, source, number)
    if after is not None and before is not None and after > before:
        raise _error(source, number, "valid-after is later than valid-before")
    return AllowedSigner(
        line=number,
        principals=_parse_principals(principals_tok, source, number),
        key=key,
        namespaces=namespaces,
        valid_after=after,
        valid_before=before,
    )


_CERT_HINT = "list each signer's own public key; certificate authorities are not trusted here"


def _parse_principals(token: str, source: str, number: int) -> tuple[str, ...]:
    if len(token) >= 2 and token[0] == '"' and token[-1] == '"':
        token = token[1:-1]
    principals = []
    for p in token.split(","):
        if not p or any(c in p for c in ' \t"\\'):
            raise _error(source, number, f"bad principal {p!r} in {token!r}")
        if "*" in p or "?" in p or p.startswith("!"):
            raise _error(
                source,
                number,
                f"wildcard or negated principal {p!r} is refused",
                "name each signer exactly (e.g. alice@example.com): an override must "
                "identify one person",
            )
        if _looks_like_options(p):
            # `cert-authority KEY` would silently make a principal named "cert-authority".
            raise _error(source, number, f"principal {p!r} looks like an option", _HINT)
        if not p.isascii() or not p.isprintable():
            raise _error(source, number, f"principal {p!r} is not printable ASCII")
        principals.append(p)
    if len(set(principals)) != len(principals):
        raise _error(source, number, "duplicate principal on one line")
    return tuple(principals)


def _unquote(value: str, source: str, number: int, name: str) -> str:
    # OpenSSH (sshsig.c, opt_dequote) requires the quotes; a line ssh-keygen would refuse must
    # not be trusted here either.
    if len(value) < 2 or value[0] != '"' or value[-1] != '"' or '"' in value[1:-1]:
        raise _error(
            source,
            number,
            f"the value of {name} must be in double quotes",
            f'write {name}="..." (ssh-keygen refuses unquoted values too)',
        )
    return value[1:-1]


def _parse_options(
    token: str | None, source: str, number: int
) -> tuple[tuple[str, ...] | None, datetime | None, datetime | None]:
    namespaces: tuple[str, ...] | None = None
    after: datetime | None = None
    before: datetime | None = None
    if token is None:
        return namespaces, after, before
    seen: set[str] = set()
    for option in _split_commas(token):
        name, eq, value = option.partition("=")
        name = name.lower()
        if name in seen:
            raise _error(source, number, f"option {name} given twice")
        seen.add(name)
        if name == "cert-authority":
            raise _error(source, number, "cert-authority is refused", _CERT_HINT)
        if name not in _OPTION_NAMES or not eq:
            raise _error(source, number, f"unknown or incomplete option {option!r}")
        value = _unquote(value, source, number, name)
        if name == "namespaces":
            parts = tuple(value.split(","))
            if any(not p or p == "!" or not p.isascii() or not p.isprintable() for p in parts):
                raise _error(source, number, f"bad namespaces list {value!r}")
            namespaces = parts
        elif name == "valid-after":
            after = _timestamp(value, source, number, name)
        else:
            before = _timestamp(value, source, number, name)
    return namespaces, after, before


def _timestamp(value: str, source: str, number: int, name: str) -> datetime:
    m = _TIMESTAMP.fullmatch(value)
    if m is None:
        raise _error(
            source,
            number,
            f"bad {name} timestamp {value!r}",
            "use YYYYMMDD[HHMM[SS]][Z], e.g. 20260601 or 20260601120000Z",
        )
    digits = value.rstrip("Z").ljust(14, "0")
    try:
        return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        raise _error(source, number, f"bad {name} date {value!r}") from None
