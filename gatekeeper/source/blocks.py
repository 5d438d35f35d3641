"""The code as blocks: each file of a module split into the top-level blocks and attributes
the gate looks up, with their lines.

Pure text in, nothing read from disk (`tree.py` reads the files and hands their text here).
HCL is split by `scan` in one pass; an attribute's expression is parsed by `expr` only when
it is asked for. JSON syntax (`.tf.json`) is walked member by member so that each block and
attribute keeps its position.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.source.expr import (
    Expr,
    ExprError,
    Tup,
    from_json,
    parse_attribute,
    parse_expression,
)
from gatekeeper.source.model import Location, LocationKind
from gatekeeper.source.scan import Block, ScanError, Text, scan_body


@dataclass(frozen=True, slots=True)
class Problem:
    """A file (or span) that could not be read. Never fatal: recorded and reported."""

    file: str  # relative to the repository root
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class SourceProblem(Exception):
    """Raised where a block or attribute cannot be read; carries the Problem to record."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


# ---------------------------------------------------------------- files, blocks, attributes


@dataclass(slots=True)
class SrcFile:
    abs: str
    rel: str
    text: Text
    is_json: bool
    override: bool


_MISSING = object()


@dataclass(slots=True)
class AttrRef:
    file: SrcFile
    name: str
    line: int
    end_line: int
    span: tuple[int, int] | None = None  # HCL: (name offset, expression end)
    json_value: Any = _MISSING  # JSON syntax: the decoded value
    _expr: Expr | None = None

    @property
    def where(self) -> str:
        """`file:line` of the attribute, for messages."""
        return f"{self.file.rel}:{self.line}"

    def expr(self) -> Expr:
        """The attribute's expression. Raises SourceProblem when python-hcl2 cannot parse it."""
        if self._expr is None:
            if self.span is None:
                self._expr = from_json(self.json_value)
            else:
                start, end = self.span
                try:
                    self._expr = parse_attribute(self.file.text.text[start:end])
                except ExprError as exc:
                    line = self.line + exc.line - 1
                    raise SourceProblem(
                        Problem(self.file.rel, line, f"cannot parse {self.name}: {exc.message}")
                    ) from None
        return self._expr

    def reference(self) -> Expr:
        """The attribute as a reference or list of references (provider, ignore_changes,
        moved/removed from/to): in JSON syntax those are strings holding the expression."""
        if self.span is not None:
            return self.expr()
        return _json_reference(self.json_value, self)


def _json_reference(value: Any, attr: AttrRef) -> Expr:
    if isinstance(value, list):
        return Tup(tuple(_json_reference(v, attr) for v in value))
    if isinstance(value, str):
        text = value[2:-1] if value.startswith("${") and value.endswith("}") else value
        try:
            return parse_expression(text)
        except ExprError as exc:
            raise SourceProblem(
                Problem(attr.file.rel, attr.line, f"cannot parse {attr.name}: {exc.message}")
            ) from None
    return from_json(value)


@dataclass(slots=True)
class BlockRef:
    file: SrcFile
    type: str
    labels: tuple[str, ...]
    line: int
    end_line: int
    hcl: Block | None = None
    json_span: tuple[int, int] | None = None  # offsets of the JSON object
    _body: Body | None = None

    @property
    def where(self) -> str:
        """`file:line` of the block, for messages."""
        return f"{self.file.rel}:{self.line}"

    def location(self, kind: LocationKind) -> Location:
        """The block's file and lines, as a report shows them."""
        return Location(self.file.rel, self.line, self.end_line, kind)

    def body(self) -> Body:
        """Raises SourceProblem when the body cannot be split."""
        if self._body is None:
            self._body = _hcl_body(self) if self.hcl is not None else _json_body(self)
        return self._body

    def attr(self, name: str) -> AttrRef | None:
        """The body's attribute `name`, None if unset. Raises SourceProblem."""
        return self.body().attrs.get(name)

    def blocks(self, type_: str) -> list[BlockRef]:
        """The nested blocks of type `type_`. Raises SourceProblem."""
        return [b for b in self.body().blocks if b.type == type_]


@dataclass(slots=True)
class Body:
    attrs: dict[str, AttrRef]
    blocks: list[BlockRef]


def _hcl_body(block: BlockRef) -> Body:
    assert block.hcl is not None
    f = block.file
    text = f.text.text
    try:
        scanned = scan_body(text, block.hcl.body_start, block.hcl.body_end)
    except ScanError as exc:
        raise SourceProblem(Problem(f.rel, f.text.line(exc.pos), exc.message)) from None
    attrs = {
        name: AttrRef(f, name, f.text.line(a.start), f.text.line(a.end), span=(a.start, a.end))
        for name, a in scanned.attrs.items()
    }
    blocks = [
        BlockRef(f, b.type, b.labels, f.text.line(b.start), f.text.line(b.body_end), hcl=b)
        for b in scanned.blocks
    ]
    return Body(attrs, blocks)


# Nested block types whose JSON form is an object (or a list of objects), not an attribute.
_JSON_BLOCKS = {"lifecycle", "default_tags", "provisioner", "connection", "dynamic"}


def _json_body(block: BlockRef) -> Body:
    assert block.json_span is not None
    f = block.file
    text = f.text.text
    attrs: dict[str, AttrRef] = {}
    blocks: list[BlockRef] = []
    for key, vstart, vend, value in _json_members(text, block.json_span[0]):
        if key == "//":
            continue
        if key in _JSON_BLOCKS and isinstance(value, dict | list):
            spans = [(vstart, vend)] if isinstance(value, dict) else _json_elements(text, vstart)
            for s, e in spans:
                blocks.append(
                    BlockRef(f, key, (), f.text.line(s), f.text.line(e), json_span=(s, e))
                )
            continue
        attrs[key] = AttrRef(f, key, f.text.line(vstart), f.text.line(vend), json_value=value)
    return Body(attrs, blocks)


_WS = re.compile(r"[ \t\n\r]*")


def _ws(text: str, pos: int) -> int:
    """The offset of the first non-whitespace character at or after pos."""
    m = _WS.match(text, pos)
    return m.end() if m else pos


_decoder = json.JSONDecoder()


def _json_members(text: str, pos: int) -> list[tuple[str, int, int, Any]]:
    """(key, value start, value end, value) for each member of the JSON object at pos."""
    from json.decoder import scanstring  # type: ignore[attr-defined]

    pos = _ws(text, pos)
    if text[pos : pos + 1] != "{":
        return []
    pos = _ws(text, pos + 1)
    out: list[tuple[str, int, int, Any]] = []
    if text[pos : pos + 1] == "}":
        return out
    while True:
        key, pos = scanstring(text, pos + 1)
        pos = _ws(text, pos)
        pos = _ws(text, pos + 1)  # after ':'
        value, end = _decoder.raw_decode(text, pos)
        out.append((key, pos, end, value))
        pos = _ws(text, end)
        if text[pos : pos + 1] != ",":
            return out
        pos = _ws(text, pos + 1)


def _json_elements(text: str, pos: int) -> list[tuple[int, int]]:
    pos = _ws(text, pos)
    if text[pos : pos + 1] != "[":
        return []
    pos = _ws(text, pos + 1)
    out: list[tuple[int, int]] = []
    if text[pos : pos + 1] == "]":
        return out
    while True:
        _value, end = _decoder.raw_decode(text, pos)
        out.append((pos, end))
        pos = _ws(text, end)
        if text[pos : pos + 1] != ",":
            return out
        pos = _ws(text, pos + 1)


# ---------------------------------------------------------------- modules


@dataclass(slots=True)
class ModuleDef:
    """One module directory: its top-level blocks, indexed by what the gate looks up."""

    dir: str
    rel: str
    files: list[SrcFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    resources: dict[tuple[str, str, str], BlockRef] = field(default_factory=dict)
    overrides: dict[tuple[str, str, str], list[BlockRef]] = field(default_factory=dict)
    # module/locals/variable/provider blocks in override files: not merged (see _add)
    other_overrides: list[BlockRef] = field(default_factory=list)
    modules: dict[str, BlockRef] = field(default_factory=dict)
    variables: dict[str, BlockRef] = field(default_factory=dict)
    locals_blocks: list[BlockRef] = field(default_factory=list)
    providers: list[BlockRef] = field(default_factory=list)
    moved: list[BlockRef] = field(default_factory=list)
    removed: list[BlockRef] = field(default_factory=list)
    tfvars: dict[str, AttrRef] = field(default_factory=dict)
    _locals: dict[str, AttrRef] | None = None

    def locals(self, problems: list[Problem]) -> dict[str, AttrRef]:
        """Every local value of the module, by name (the first wins); the module's problems
        are added to `problems`."""
        if self._locals is None:
            self._locals = {}
            for block in self.locals_blocks:
                try:
                    for name, attr in block.body().attrs.items():
                        self._locals.setdefault(name, attr)
                except SourceProblem as exc:
                    self.problems.append(exc.problem)
        problems.extend(self.problems)
        return self._locals

    def problem_hint(self) -> str:
        """A hint naming the first files that do not parse (" (it may be in ...)"), or ""."""
        if not self.problems:
            return ""
        return (
            " (it may be in a file that does not parse: "
            + "; ".join(str(p) for p in self.problems[:2])
            + ")"
        )


def _is_override(name: str) -> bool:
    stem = name[: -len(".tf.json")] if name.endswith(".tf.json") else name[: -len(".tf")]
    return stem == "override" or stem.endswith("_override")


def _add(mod: ModuleDef, f: SrcFile, b: BlockRef) -> None:
    t, labels = b.type, b.labels
    if t in ("resource", "data") and len(labels) == 2:
        key = ("managed" if t == "resource" else "data", labels[0], labels[1])
        if f.override:
            mod.overrides.setdefault(key, []).append(b)
        else:
            mod.resources.setdefault(key, b)
    elif f.override:
        # Overrides of other blocks are not merged; those that can change tags (a module
        # call's arguments or source, locals, variable defaults, default_tags) are kept to
        # leave the tags they may change unresolved (TagReader.override_reasons, tags.py).
        if t in ("module", "locals", "variable", "provider"):
            mod.other_overrides.append(b)
        return
    elif t == "module" and len(labels) == 1:
        mod.modules.setdefault(labels[0], b)
    elif t == "variable" and len(labels) == 1:
        mod.variables.setdefault(labels[0], b)
    elif t == "locals":
        mod.locals_blocks.append(b)
    elif t == "provider" and len(labels) == 1:
        mod.providers.append(b)
    elif t == "moved":
        mod.moved.append(b)
    elif t == "removed":
        mod.removed.append(b)


def _index_hcl(mod: ModuleDef, f: SrcFile) -> None:
    text = f.text
    try:
        body = scan_body(text.text)
        blocks = body.blocks
    except ScanError as exc:
        mod.problems.append(Problem(f.rel, text.line(exc.pos), f"HCL syntax error: {exc.message}"))
        # Keep the blocks that end before the error: they were read completely.
        blocks = _blocks_before(text.text, exc.pos)
    for b in blocks:
        ref = BlockRef(f, b.type, b.labels, text.line(b.start), text.line(b.body_end), hcl=b)
        _add(mod, f, ref)


def _blocks_before(text: str, pos: int) -> list[Block]:
    try:
        return scan_body(text, 0, _last_line_start(text, pos)).blocks
    except ScanError:
        return []


def _last_line_start(text: str, pos: int) -> int:
    # Scan up to the top-level block that holds the error: the last line starting at column 0
    # with a letter, at or before the error.
    starts = [m.start() for m in re.finditer(r"(?m)^[A-Za-z_]", text[: pos + 1])]
    return starts[-1] if starts else 0


def _index_json(mod: ModuleDef, f: SrcFile) -> None:
    text = f.text.text
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        mod.problems.append(Problem(f.rel, exc.lineno, f"JSON syntax error: {exc.msg}"))
        return
    except RecursionError:
        mod.problems.append(Problem(f.rel, 1, "JSON nested too deeply to read"))
        return
    line = f.text.line

    def block(type_: str, labels: tuple[str, ...], s: int, e: int) -> None:
        _add(mod, f, BlockRef(f, type_, labels, line(s), line(e), json_span=(s, e)))

    def objects(vstart: int, value: Any) -> list[tuple[int, Any]]:
        # A JSON block value is an object or a list of objects.
        if isinstance(value, list):
            return [(s, None) for s, _ in _json_elements(text, vstart)]
        return [(vstart, value)]

    for top, tstart, _tend, tvalue in _json_members(text, 0):
        if top in ("resource", "data"):
            for ostart, _ in objects(tstart, tvalue):
                for rtype, rs, _re, _rv in _json_members(text, ostart):
                    for name, ns, ne, _nv in _json_members(text, rs):
                        if name != "//":
                            block(top, (rtype, name), ns, ne)
        elif top in ("module", "variable", "provider"):
            for ostart, _ in objects(tstart, tvalue):
                for name, ns, ne, nv in _json_members(text, ostart):
                    if name == "//":
                        continue
                    if isinstance(nv, list):  # provider "aws" [{...}, {alias...}]
                        for s, e in _json_elements(text, ns):
                            block(top, (name,), s, e)
                    else:
                        block(top, (name,), ns, ne)
        elif top in ("locals", "moved", "removed"):
            if isinstance(tvalue, list):
                for s, e in _json_elements(text, tstart):
                    block(top, (), s, e)
            else:
                block(top, (), tstart, _tend)


def _index_tfvars(mod: ModuleDef, f: SrcFile) -> None:
    text = f.text
    if f.is_json:
        try:
            for key, vs, ve, value in _json_members(text.text, 0):
                mod.tfvars[key] = AttrRef(f, key, text.line(vs), text.line(ve), json_value=value)
        except ValueError as exc:
            mod.problems.append(Problem(f.rel, 1, f"JSON syntax error: {exc}"))
        except RecursionError:
            mod.problems.append(Problem(f.rel, 1, "JSON nested too deeply to read"))
        return
    try:
        body = scan_body(text.text)
    except ScanError as exc:
        # Not exc.message, which may quote the text: a .tfvars file holds values, secrets too.
        mod.problems.append(Problem(f.rel, text.line(exc.pos), "HCL syntax error"))
        return
    for name, a in body.attrs.items():
        mod.tfvars[name] = AttrRef(
            f, name, text.line(a.start), text.line(a.end), span=(a.start, a.end)
        )


def index_file(mod: ModuleDef, path: str, rel: str, name: str, text: str, *, tfvars: bool) -> None:
    """Add one file's blocks (or, for a root module's .tfvars file, its values) to `mod`.
    `path` is the file's absolute path, `rel` its path relative to the repository root."""
    f = SrcFile(path, rel, Text(path, text), name.endswith(".json"), _is_override(name))
    mod.files.append(f)
    if tfvars:
        _index_tfvars(mod, f)
    elif f.is_json:
        _index_json(mod, f)
    else:
        _index_hcl(mod, f)
