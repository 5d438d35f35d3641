"""Attribute-level diff of one resource change, in the shape of Terraform's own plan output.

The lines go into a ```diff block, so the action marker sits in the first column and
everything else is indented behind it:

    # module.prod_db.null_resource.primary must be replaced
    -/+ resource "null_resource" "primary" {
    !       id       = "3440488159632426721" -> (known after apply)
    !       triggers = { # forces replacement
    !           "engine_version" = "13.4" -> "14.1"
                # (2 unchanged elements hidden)
            }
        }

Markers are chosen for how github.com itself colours a ```diff block. GitHub highlights it
with the TextMate diff grammar (linguist's `source.diff`) and its prettylights theme, which
look only at a line's FIRST character: `+` (and `>`) is markup.inserted, green; `-` (and
`<` followed by a space) is markup.deleted, red; `!` is markup.changed, orange; anything else,
`~` included, is plain text. So Terraform's `~` (update in place) is written `!` (the
convention of Atlantis's diff format and of tfcmt-style comments), and every replace starts
with `-` (`-/+`), create-before-destroy too: Terraform's `+/-` would start with `+` and show
a replace green. The header comment line above each block says the order.

Secrets: the `before_sensitive`/`after_sensitive` masks are merged (a path sensitive on
either side is sensitive on both) and applied *before* anything is formatted: a sensitive
value, map or list is replaced by an opaque marker that holds only a SHA-256 of the value, so
the renderer can say whether it changed but has nothing to print except `(sensitive value)`.
A sensitive map's keys are gone with it.

Unknowns: `after_unknown` turns the values it marks into `(known after apply)`.

Data never starts a line: every line begins with the marker column, then indentation, and
strings are JSON-quoted with control and bidi characters escaped, so a value cannot fake a
marker, a line break or a closing fence (the Markdown renderer picks the fence length).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.plan.model import Action, ReplaceOrder, ResourceChange, canonical_json
from gatekeeper.plan.redact import SENSITIVE, any_sensitive, change_secrets, mask
from gatekeeper.render.escape import CONTROL

KNOWN_AFTER_APPLY = "(known after apply)"
# Terraform's `~` (changed in place): `!` is what GitHub's diff grammar colours as changed.
CHANGED = "!"
FORCES = " # forces replacement"
# Top-level attributes Terraform shows even when unchanged, so a reader knows which object.
IDENTIFYING = ("id", "name", "tags")

MAX_STRING = 2000  # characters of one string value shown
MAX_HEREDOC_LINES = 200
MAX_LINES = 500  # lines of one resource's diff
# Real provider schemas nest a dozen levels at most; the helpers below recurse once per
# level, so anything deeper is described, not drawn (and cannot exhaust the stack).
MAX_DEPTH = 64


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deep `value` nests (iteratively; stops counting just past `limit`)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, d = stack.pop()
        if d > deepest:
            deepest = d
            if deepest > limit:
                return deepest
        if isinstance(node, dict):
            stack.extend((v, d + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, d + 1) for v in node)
    return deepest


_LIST_DIFF_MAX = 2000  # elements: longer lists are diffed by position


class _Sensitive:
    """A masked value. Holds a digest (for "changed?") and nothing printable."""

    __slots__ = ("digest",)

    def __init__(self, value: Any) -> None:
        self.digest = hashlib.sha256(canonical_json(value)).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Sensitive) and other.digest == self.digest

    def __hash__(self) -> int:
        return hash(self.digest)

    def __repr__(self) -> str:
        return SENSITIVE


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return KNOWN_AFTER_APPLY


UNKNOWN = _Unknown()


class _Absent:
    __slots__ = ()


ABSENT = _Absent()

_Sentinel = (_Sensitive, _Unknown)


# ---------------------------------------------------------------- masks


def apply_unknown(value: Any, unknown: Any) -> Any:
    """`value` with every path `after_unknown` marks replaced by UNKNOWN."""
    if unknown is True:
        return UNKNOWN
    if isinstance(value, _Sensitive):
        return value
    if isinstance(unknown, dict) and unknown:
        base = dict(value) if isinstance(value, dict) else {}
        if not isinstance(value, dict) and value is not None:
            return value
        for k, u in unknown.items():
            if u is True:
                base[k] = UNKNOWN
            elif k in base or any_sensitive(u):
                base[k] = apply_unknown(base.get(k), u)
        return base
    if isinstance(unknown, list) and unknown:
        if value is not None and not isinstance(value, list):
            return value
        items = list(value) if isinstance(value, list) else []
        for i, u in enumerate(unknown):
            if i < len(items):
                items[i] = apply_unknown(items[i], u)
            elif u is True:
                items.append(UNKNOWN)
        return items
    return value


def masked_sides(change: ResourceChange) -> tuple[Any, Any]:
    """(before, after) with secrets masked and unknowns marked: the only form formatted.
    What is secret, and how it is hidden, is plan.redact's one rule (both sides' marks, and
    copies of secret strings); here a hidden value becomes an opaque marker that keeps only
    a digest, so the diff can still say whether it changed."""
    sens, secrets = change_secrets(change)
    before = mask(change.before(), sens, secrets, hide=_Sensitive)
    after = apply_unknown(
        mask(change.after(), sens, secrets, hide=_Sensitive), change.after_unknown()
    )
    return before, after


# ---------------------------------------------------------------- scalars

# The shared set (render/escape.py); in JSON literals C0 is already escaped by json.dumps.
_VISIBLE = CONTROL


def quote(s: str, limit: int = MAX_STRING) -> str:
    """A JSON string literal with control, DEL/C1 and bidi characters escaped."""
    extra = ""
    if len(s) > limit:
        extra = f" # ({len(s) - limit} more characters not shown)"
        s = s[:limit]
    q = json.dumps(s, ensure_ascii=False)
    return _VISIBLE.sub(lambda m: f"\\u{ord(m.group()):04x}", q) + extra


def _clean(s: str) -> str:
    """Control, DEL/C1 and bidi characters as visible escapes (text outside quotes)."""
    return CONTROL.sub(
        lambda m: f"\\x{ord(m.group()):02x}" if m.group() < " " else f"\\u{ord(m.group()):04x}", s
    )


def _heredoc_line(s: str) -> str:
    if len(s) > MAX_STRING:
        return _clean(s[:MAX_STRING]) + f" # ({len(s) - MAX_STRING} more characters not shown)"
    return _clean(s)


def _scalar(v: Any) -> str:
    if isinstance(v, _Sensitive):
        return SENSITIVE
    if isinstance(v, _Unknown):
        return KNOWN_AFTER_APPLY
    if v is None or isinstance(v, _Absent):
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return quote(v)
    if isinstance(v, int | float):
        return json.dumps(v)
    return quote(str(v))


def same(a: Any, b: Any) -> bool:
    """Deep equality that tells `true` from `1` and treats absent as null."""
    if isinstance(a, _Absent):
        a = None
    if isinstance(b, _Absent):
        b = None
    if type(a) is not type(b):
        if isinstance(a, int | float) and isinstance(b, int | float):
            return not isinstance(a, bool) and not isinstance(b, bool) and a == b
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _key_of(v: Any) -> str:
    """A hashable identity for list diffing (sentinels included, nothing printed)."""

    def default(o: Any) -> Any:
        if isinstance(o, _Sensitive):
            return {"\x00sensitive": o.digest}
        if isinstance(o, _Unknown):
            return {"\x00unknown": True}
        return str(o)

    return json.dumps(v, sort_keys=True, default=default)


# ---------------------------------------------------------------- output


@dataclass
class _Out:
    replace_paths: frozenset[tuple[str | int, ...]]
    lines: list[str] = field(default_factory=list)

    def add(self, marker: str, depth: int, text: str) -> None:
        self.lines.append(f"{marker:<3} {'    ' * depth}{text}".rstrip())

    def forces(self, path: tuple[str | int, ...]) -> str:
        return FORCES if path in self.replace_paths else ""


def _is_container(v: Any) -> bool:
    return isinstance(v, dict | list)


def _multiline(v: Any) -> bool:
    return isinstance(v, str) and "\n" in v.rstrip("\n")


def _json_doc(v: Any) -> Any:
    """The parsed JSON object/array in a string, or None (Terraform shows jsonencode(...))."""
    if not isinstance(v, str):
        return None
    s = v.strip()
    if not (s.startswith("{") and s.endswith("}")) and not (s.startswith("[") and s.endswith("]")):
        return None
    try:
        doc = json.loads(s)
    except ValueError:
        return None
    return doc if isinstance(doc, dict | list) else None


def _fmt_key(k: str, top: bool) -> str:
    if top and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_-]*", k):
        return k
    return quote(k, limit=200)


def _emit(
    out: _Out,
    marker: str,
    depth: int,
    prefix: str,
    v: Any,
    path: tuple[str | int, ...],
    suffix: str = "",
) -> None:
    """One side of a value (a create, a delete, an added or removed element)."""
    forces = out.forces(path)
    if isinstance(v, dict) and v:
        out.add(marker, depth, f"{prefix}{{{forces}")
        keys = sorted(v)
        width = max(len(_fmt_key(k, False)) for k in keys)
        for k in keys:
            kk = _fmt_key(k, False)
            _emit(out, marker, depth + 1, f"{kk:<{width}} = ", v[k], (*path, k))
        out.add("", depth, "}" + suffix)
    elif isinstance(v, list) and v:
        out.add(marker, depth, f"{prefix}[{forces}")
        for i, item in enumerate(v):
            _emit(out, marker, depth + 1, "", item, (*path, i), ",")
        out.add("", depth, "]" + suffix)
    elif _multiline(v):
        lines = v.rstrip("\n").split("\n")
        out.add(marker, depth, f"{prefix}<<-EOT{forces}")
        for line in lines[:MAX_HEREDOC_LINES]:
            out.add(marker, depth + 1, _heredoc_line(line))
        if len(lines) > MAX_HEREDOC_LINES:
            out.add("", depth + 1, f"# ({len(lines) - MAX_HEREDOC_LINES} more lines not shown)")
        out.add("", depth, "EOT" + suffix)
    else:
        if isinstance(v, dict):
            text = "{}"
        elif isinstance(v, list):
            text = "[]"
        else:
            text = _scalar(v)
        out.add(marker, depth, f"{prefix}{text}{suffix}{forces}")


def _diff(
    out: _Out,
    depth: int,
    prefix: str,
    b: Any,
    a: Any,
    path: tuple[str | int, ...],
    suffix: str = "",
) -> None:
    """A value present on both sides and not the same."""
    forces = out.forces(path)
    plain_b = not isinstance(b, _Sentinel)
    plain_a = not isinstance(a, _Sentinel)
    if isinstance(b, dict) and isinstance(a, dict) and plain_a and plain_b:
        out.add(CHANGED, depth, f"{prefix}{{{forces}")
        _diff_dict(out, depth + 1, b, a, path, top=False)
        out.add("", depth, "}" + suffix)
        return
    if isinstance(b, list) and isinstance(a, list):
        out.add(CHANGED, depth, f"{prefix}[{forces}")
        _diff_list(out, depth + 1, b, a, path)
        out.add("", depth, "]" + suffix)
        return
    jb, ja = _json_doc(b), _json_doc(a)
    if jb is not None and ja is not None:
        out.add(CHANGED, depth, f"{prefix}jsonencode({forces}")
        if isinstance(jb, dict) and isinstance(ja, dict):
            out.add(CHANGED, depth + 1, "{")
            _diff_dict(out, depth + 2, jb, ja, path=("\x00json",), top=False)
            out.add("", depth + 1, "}")
        else:
            _diff(out, depth + 1, "", jb, ja, ("\x00json",))
        out.add("", depth, ")" + suffix)
        return
    if isinstance(b, str) and isinstance(a, str) and (_multiline(b) or _multiline(a)):
        _diff_heredoc(out, depth, prefix, b, a, forces, suffix)
        return
    if _is_container(b) or _multiline(b) or _is_container(a) or _multiline(a):
        # A structure replaced by something else: show what goes and what comes.
        _emit(out, "-", depth, prefix, b, ("\x00",), suffix)
        _emit(out, "+", depth, prefix, a, path, suffix)
        return
    if isinstance(b, _Sensitive) and isinstance(a, _Sensitive):
        out.add(CHANGED, depth, f"{prefix}{SENSITIVE}{suffix}{forces}")
        return
    out.add(CHANGED, depth, f"{prefix}{_scalar(b)} -> {_scalar(a)}{suffix}{forces}")


def _diff_heredoc(
    out: _Out, depth: int, prefix: str, b: str, a: str, forces: str, suffix: str
) -> None:
    bl = b.rstrip("\n").split("\n")
    al = a.rstrip("\n").split("\n")
    out.add(CHANGED, depth, f"{prefix}<<-EOT{forces}")
    shown = 0
    hidden = 0
    sm = difflib.SequenceMatcher(None, bl, al, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            # Terraform keeps a little context around each change; so do we.
            run = bl[i1:i2]
            if len(run) <= 4:
                for line in run:
                    out.add("", depth + 1, _heredoc_line(line))
            else:
                for line in run[:2] if i1 > 0 else []:
                    out.add("", depth + 1, _heredoc_line(line))
                n = len(run) - (2 if i1 > 0 else 0) - (2 if i2 < len(bl) else 0)
                out.add("", depth + 1, f"# ({n} unchanged lines hidden)")
                for line in run[-2:] if i2 < len(bl) else []:
                    out.add("", depth + 1, _heredoc_line(line))
            continue
        for line in bl[i1:i2]:
            if shown < MAX_HEREDOC_LINES:
                out.add("-", depth + 1, _heredoc_line(line))
                shown += 1
            else:
                hidden += 1
        for line in al[j1:j2]:
            if shown < MAX_HEREDOC_LINES:
                out.add("+", depth + 1, _heredoc_line(line))
                shown += 1
            else:
                hidden += 1
    if hidden:
        out.add("", depth + 1, f"# ({hidden} more changed lines not shown)")
    out.add("", depth, "EOT" + suffix)


def _diff_dict(
    out: _Out,
    depth: int,
    b: dict[str, Any],
    a: dict[str, Any],
    path: tuple[str | int, ...],
    *,
    top: bool,
) -> None:
    keys = sorted({*b, *a})
    shown: list[tuple[str, Any, Any, bool]] = []
    hidden = 0
    for k in keys:
        bv, av = b.get(k, ABSENT), a.get(k, ABSENT)
        if same(bv, av):
            if top and k in IDENTIFYING and bv is not None:
                shown.append((k, bv, av, True))
            else:
                hidden += 1
            continue
        shown.append((k, bv, av, False))
    width = max((len(_fmt_key(k, top)) for k, *_ in shown), default=0)
    for k, bv, av, unchanged in shown:
        prefix = f"{_fmt_key(k, top):<{width}} = "
        p = (*path, k)
        if unchanged:
            _emit(out, "", depth, prefix, bv, p)
        elif bv is None or isinstance(bv, _Absent):
            _emit(out, "+", depth, prefix, av, p)
        elif av is None or isinstance(av, _Absent):
            _emit(out, "-", depth, prefix, bv, p, " -> null")
        else:
            _diff(out, depth, prefix, bv, av, p)
    if hidden:
        noun = "attribute" if top else "element"
        out.add("", depth, f"# ({hidden} unchanged {noun}{'s' if hidden != 1 else ''} hidden)")


def _list_ops(b: list[Any], a: list[Any]) -> Iterator[tuple[str, int, int, int, int]]:
    if len(b) + len(a) > _LIST_DIFF_MAX:
        n = min(len(b), len(a))
        for i in range(n):
            yield ("equal" if same(b[i], a[i]) else "replace", i, i + 1, i, i + 1)
        if len(b) > n:
            yield ("delete", n, len(b), n, n)
        if len(a) > n:
            yield ("insert", n, n, n, len(a))
        return
    bk = [_key_of(x) for x in b]
    ak = [_key_of(x) for x in a]
    yield from difflib.SequenceMatcher(None, bk, ak, autojunk=False).get_opcodes()


def _diff_list(
    out: _Out, depth: int, b: list[Any], a: list[Any], path: tuple[str | int, ...]
) -> None:
    for tag, i1, i2, j1, j2 in _list_ops(b, a):
        if tag == "equal":
            n = i2 - i1
            out.add("", depth, f"# ({n} unchanged element{'s' if n != 1 else ''} hidden)")
            continue
        olds, news = b[i1:i2], a[j1:j2]
        # Pair structures at the same position: show them as changed in place.
        k = 0
        while (
            tag == "replace"
            and k < min(len(olds), len(news))
            and isinstance(olds[k], dict)
            and isinstance(news[k], dict)
        ):
            out.add(CHANGED, depth, "{" + out.forces((*path, j1 + k)))
            _diff_dict(out, depth + 1, olds[k], news[k], (*path, j1 + k), top=False)
            out.add("", depth, "},")
            k += 1
        for i, item in enumerate(olds[k:], start=i1 + k):
            _emit(out, "-", depth, "", item, (*path, i), ",")
        for j, item in enumerate(news[k:], start=j1 + k):
            _emit(out, "+", depth, "", item, (*path, j), ",")


# ---------------------------------------------------------------- one resource

_REASONS = {
    "replace_because_tainted": "is tainted, so it must be replaced",
    "replace_by_request": "will be replaced, as requested",
    "replace_by_triggers": "will be replaced due to changes in replace_triggered_by",
    "delete_because_no_resource_config": "(because its resource block is not in the configuration)",
    "delete_because_no_module": "(because its module is not in the configuration)",
    "delete_because_count_index": "(because the count index is out of range)",
    "delete_because_each_key": "(because the key is not in for_each)",
    "delete_because_wrong_repetition": "(because the repetition mode changed)",
    "delete_because_no_move_target": "(because the moved-to address has no configuration)",
}


def header(change: ResourceChange) -> tuple[str, str]:
    """(comment line, marker) for one change, worded like Terraform."""
    addr = change.address
    if change.deposed:
        addr = f"{addr} (deposed object {change.deposed})"
    a = change.action
    if a is Action.CREATE:
        what, marker = "will be created", "+"
    elif a is Action.DELETE:
        what, marker = "will be destroyed", "-"
    elif a is Action.UPDATE:
        what, marker = "will be updated in-place", CHANGED
    elif a is Action.REPLACE:
        what = "must be replaced"
        marker = "-/+"  # red on GitHub whatever the order (see the module docstring)
        if change.replace_order is ReplaceOrder.CREATE_BEFORE_DESTROY:
            what += " (create the new object, then destroy the old)"
        elif change.replace_order is ReplaceOrder.DESTROY_BEFORE_CREATE:
            what += " (destroy the old object, then create the new)"
    elif a is Action.READ:
        what, marker = "will be read during apply", "<="
    elif a is Action.FORGET:
        what, marker = "will be removed from the state, not destroyed", "."
    elif a is Action.NOOP:
        what, marker = "has no changes", ""
    else:
        what, marker = f"has an action this gatekeeper does not know: {list(change.actions)}", "?"
    reason = _REASONS.get(change.action_reason or "")
    if reason and not reason.startswith("("):
        what = reason
    line = f"# {addr} {what}"
    if reason and reason.startswith("("):
        line += f" {reason}"
    return _clean(line), marker


def _block_kind(change: ResourceChange) -> str:
    if change.mode == "data":
        return "data"
    if change.mode == "action":
        return "action"
    return "resource"


def render_change(change: ResourceChange, *, max_lines: int = MAX_LINES) -> str:
    """The diff of one change as text for a ```diff block (no fence, ends with a newline)."""
    comment, marker = header(change)
    out = _Out(replace_paths=frozenset(change.replace_paths))
    out.lines.append(comment)
    block = f"{_block_kind(change)} {quote(change.type, 200)} {quote(change.name, 200)} {{"
    out.add(marker, 0, block)
    if not change.has_attributes:
        out.add(
            "",
            1,
            "# (no attribute values: the plan log has none; `terraform show -json` has them)",
        )
    elif any(
        nesting_depth(v) > MAX_DEPTH
        for v in (
            change.before(),
            change.after(),
            change.after_unknown(),
            change.before_sensitive(),
            change.after_sensitive(),
        )
    ):
        out.add("", 1, f"# (attribute values nest more than {MAX_DEPTH} levels deep: not shown)")
    else:
        before, after = masked_sides(change)
        a = change.action
        if a in (Action.DELETE, Action.FORGET):
            _one_side(out, "-", before, " -> null")
        elif a in (Action.CREATE, Action.READ):
            _one_side(out, "+", after, "")
        else:
            b = before if isinstance(before, dict) else {}
            aft = after if isinstance(after, dict) else {}
            if isinstance(after, _Unknown):
                out.add("", 1, "# (the whole object is known only after apply)")
            _diff_dict(out, 1, b, aft, (), top=True)
    out.add("", 0, "}")
    lines = out.lines
    if len(lines) > max_lines:
        cut = len(lines) - (max_lines - 1)
        lines = [*lines[: max_lines - 1], f"    # ({cut} more lines not shown)"]
    return "\n".join(lines) + "\n"


def _one_side(out: _Out, marker: str, value: Any, suffix: str) -> None:
    if isinstance(value, _Sentinel):
        out.add(marker, 1, f"# {_scalar(value)}")
        return
    if not isinstance(value, dict):
        return
    keys = [k for k in sorted(value) if value[k] is not None]
    width = max((len(_fmt_key(k, True)) for k in keys), default=0)
    for k in keys:
        _emit(out, marker, 1, f"{_fmt_key(k, True):<{width}} = ", value[k], (k,), suffix)
