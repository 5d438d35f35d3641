"""The source map: what the Terraform code says about each planned change.

For every resource change in a plan: where its `resource` block is (file and lines, relative
to the repository root), the tags that resolve statically (for the streaming `plan -json`
log, which carries no attribute values), its lifecycle settings and the `moved`/`removed`
blocks that explain it. The classifier consumes the result (`SourceFacts`).

How it stays fast (python-hcl2 alone needs about 4 s for 1 MB of .tf; this maps a 1 MB root
module in 0.6 s when a tenth of it is destroyed, 2.2 s when all of it is: see
scripts/bench_source.py): files are split into blocks by `hcl_scan` (pure Python, one pass),
and python-hcl2 parses only the attributes the gate reads (a module call's `source`, a
resource's tags and lifecycle, the locals and variables they refer to), with a fast path for
plain literals. Only modules on the path of a planned address are read; the lark parser is
built once per process.

Fail closed: anything that does not resolve statically (a root variable, a resource
attribute, a function not evaluated here, a file that does not parse) is reported in
`unresolved`, which keeps a destructive change "possibly production".

Decisions (see README "Source mapping"):
- Root module variables can be set at plan time (-var, -var-file, TF_VAR_x), which the code
  does not show. A tag that depends on one is reported with its default (or the value in
  terraform.tfvars / *.auto.tfvars) *and* as unresolved, unless that value already makes the
  change production. Variables of child modules set by a module argument (or their
  defaults) cannot be overridden from outside and resolve normally.
- A variable declared `sensitive = true` (in its block or an override file) and a value
  passed to `sensitive()` are never read: not from .tfvars, a module argument or a default.
  What depends on one is unresolved, with a reason that names the variable (never its
  value), so the change stays possibly production. Parse errors in .tfvars files and in
  expressions that call sensitive() quote no text.
- `Location.file` is relative to the repository root: `--repo-root`, else the nearest
  directory above the source dir that holds `.git`, else the current directory.
- Tags of a destroyed object come from the base code when `--base-source` is given (a
  delete reads the base, a replace reads both and keeps the production value); otherwise
  from the PR's code, with a note. When the base code is given but does not describe the
  object, the PR's tags can make it production, never clear it (unresolved otherwise).
- Override files: their resource attributes replace the block's (tags read from them);
  override module calls, locals, variables and providers are not merged and leave
  non-production tags unresolved.
- Code is read only under the repository root and the source dir (real paths: a module
  source or symlink leading outside is not followed; without a repository root, under the
  source dir only), and no file over MAX_FILE_BYTES (a problem; what it holds is unknown).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gatekeeper import globs
from gatekeeper.hcl_expr import (
    Access,
    BinOp,
    Call,
    Cond,
    Expr,
    ExprError,
    Lit,
    Not,
    Obj,
    Other,
    Template,
    Trav,
    Tup,
    from_json,
    parse_attribute,
    parse_expression,
    show,
)
from gatekeeper.hcl_scan import Block, ScanError, Text, scan_body
from gatekeeper.plan import Action, Plan, ResourceChange
from gatekeeper.policy import ProductionPolicy
from gatekeeper.source_address import (
    Address,
    AddressError,
    Key,
    format_key,
    hcl_quoted_keys,
    parse_address,
)
from gatekeeper.sourcefacts import Location, SourceFacts

# ---------------------------------------------------------------- values


class Unknown:
    """A value that does not resolve statically, with the reason why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Unknown({self.reason!r})"


@dataclass(frozen=True, slots=True)
class Problem:
    """A file (or span) that could not be read. Never fatal: recorded and reported."""

    file: str  # relative to the repository root
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class _SourceProblem(Exception):
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
        return f"{self.file.rel}:{self.line}"

    def expr(self) -> Expr:
        """The attribute's expression. Raises _SourceProblem when python-hcl2 cannot parse it."""
        if self._expr is None:
            if self.span is None:
                self._expr = from_json(self.json_value)
            else:
                start, end = self.span
                try:
                    self._expr = parse_attribute(self.file.text.text[start:end])
                except ExprError as exc:
                    line = self.line + exc.line - 1
                    raise _SourceProblem(
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
            raise _SourceProblem(
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
        return f"{self.file.rel}:{self.line}"

    def location(self, kind: str) -> Location:
        return Location(self.file.rel, self.line, self.end_line, kind)

    def body(self) -> Body:
        """Raises _SourceProblem when the body cannot be split."""
        if self._body is None:
            self._body = _hcl_body(self) if self.hcl is not None else _json_body(self)
        return self._body

    def attr(self, name: str) -> AttrRef | None:
        return self.body().attrs.get(name)

    def blocks(self, type_: str) -> list[BlockRef]:
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
        raise _SourceProblem(Problem(f.rel, f.text.line(exc.pos), exc.message)) from None
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
        if self._locals is None:
            self._locals = {}
            for block in self.locals_blocks:
                try:
                    for name, attr in block.body().attrs.items():
                        self._locals.setdefault(name, attr)
                except _SourceProblem as exc:
                    self.problems.append(exc.problem)
        problems.extend(self.problems)
        return self._locals

    def problem_hint(self) -> str:
        if not self.problems:
            return ""
        return (
            " (it may be in a file that does not parse: "
            + "; ".join(str(p) for p in self.problems[:2])
            + ")"
        )


def _skip_name(name: str) -> bool:
    # Terraform ignores editor backups and hidden files.
    return name.startswith((".", "#")) or name.endswith("~")


def _is_override(name: str) -> bool:
    stem = name[: -len(".tf.json")] if name.endswith(".tf.json") else name[: -len(".tf")]
    return stem == "override" or stem.endswith("_override")


# The largest .tf / .tfvars file read; a bigger one is a reported problem, and what may be in
# it stays unresolved.
MAX_FILE_BYTES = 4 * 1024 * 1024


def _within(path: str, roots: Iterable[str]) -> bool:
    """Is `path` (a real path) one of `roots` (real paths) or under one?"""
    return any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _load_order(name: str) -> tuple[bool, str]:
    # Terraform reads terraform.tfvars, then terraform.tfvars.json, then *.auto.tfvars(.json)
    # in lexical order; a later value wins. .tf files keep their lexical order.
    return name not in ("terraform.tfvars", "terraform.tfvars.json"), name


def load_module(
    directory: str, repo_root: str, *, root: bool, within: tuple[str, ...] | None = None
) -> ModuleDef:
    """`within`: real paths the module's files must resolve under (symlinks are followed);
    default: the repository root."""
    roots = within if within is not None else (os.path.realpath(repo_root),)
    mod = ModuleDef(directory, _rel(directory, repo_root))
    try:
        names = sorted(os.listdir(directory), key=_load_order)
    except OSError as exc:
        mod.problems.append(
            Problem(mod.rel, 0, f"cannot read the module directory: {exc.strerror}")
        )
        return mod
    for name in names:
        is_json = name.endswith(".tf.json")
        is_tfvars = root and (
            name in ("terraform.tfvars", "terraform.tfvars.json")
            or name.endswith((".auto.tfvars", ".auto.tfvars.json"))
        )
        if not (name.endswith(".tf") or is_json or is_tfvars) or _skip_name(name):
            continue
        path = os.path.join(directory, name)
        if not os.path.isfile(path):
            continue
        rel = _rel(path, repo_root)
        if not _within(os.path.realpath(path), roots):
            mod.problems.append(Problem(rel, 1, "a link to outside the repository: not read"))
            continue
        try:
            with open(path, "rb") as fh:
                data = fh.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            mod.problems.append(Problem(rel, 1, f"cannot read: {exc.strerror}"))
            continue
        if len(data) > MAX_FILE_BYTES:
            mod.problems.append(
                Problem(rel, 1, f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: not read")
            )
            continue
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            mod.problems.append(Problem(rel, line, "not UTF-8 (Terraform reads UTF-8 only)"))
            continue
        f = SrcFile(path, rel, Text(path, text), name.endswith(".json"), _is_override(name))
        mod.files.append(f)
        if is_tfvars:
            _index_tfvars(mod, f)
        elif f.is_json:
            _index_json(mod, f)
        else:
            _index_hcl(mod, f)
    return mod


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


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
        # leave the tags they may change unresolved (SourceMapper._override_reasons).
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


# ---------------------------------------------------------------- module instances


@dataclass(eq=False, slots=True)
class Instance:
    """A module instance on an address path: module.a["k"].module.b[0]"""

    tree: SourceTree
    mod: ModuleDef | None  # None: code not available (non-local or missing)
    parent: Instance | None
    call: BlockRef | None
    name: str
    key: Key
    path: tuple[tuple[str, Key], ...]
    nonlocal_call: BlockRef | None = None  # the first call into code that is not in the repo
    nonlocal_source: str | None = None
    missing: str | None = None  # why the module's code is not available
    children: dict[tuple[str, Key], Instance] = field(default_factory=dict)
    memo: dict[tuple[str, str, bool], Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return ".".join(f"module.{n}{format_key(k)}" for n, k in self.path) or "the root module"

    def child(self, name: str, key: Key) -> Instance:
        hit = self.children.get((name, key))
        if hit is not None:
            return hit
        path = (*self.path, (name, key))
        inst = Instance(self.tree, None, self, None, name, key, path)
        if self.mod is None:
            inst.nonlocal_call = self.nonlocal_call
            inst.nonlocal_source = self.nonlocal_source
            inst.missing = self.missing
        else:
            call = self.mod.modules.get(name)
            inst.call = call
            if call is None:
                inst.missing = f"module {name!r} is not called in {self.mod.rel}"
                inst.missing += self.mod.problem_hint()
            else:
                self.tree.attach(inst, call)
        self.children[(name, key)] = inst
        return inst


class SourceTree:
    """One checkout of the code (the PR's or the base's): modules loaded on demand."""

    def __init__(
        self,
        root_dir: str,
        repo_root: str,
        production: ProductionPolicy,
        *,
        repo_known: bool = True,
    ) -> None:
        self.root_dir = os.path.abspath(root_dir)
        self.repo_root = os.path.abspath(repo_root)
        self.production = production
        # Code is read only under these real paths (symlinks followed): the source dir, and
        # the repository root unless that is only the current directory (no .git, no
        # --repo-root: repo_known=False).
        dirs = (self.root_dir, self.repo_root) if repo_known else (self.root_dir,)
        self.within = tuple(os.path.realpath(d) for d in dirs)
        self._modules: dict[str, ModuleDef] = {}
        root_mod = self.module(self.root_dir, root=True)
        self.root = Instance(self, root_mod, None, None, "", None, ())

    def module(self, directory: str, *, root: bool = False) -> ModuleDef:
        directory = os.path.normpath(directory)
        mod = self._modules.get(directory)
        if mod is None:
            mod = load_module(directory, self.repo_root, root=root, within=self.within)
            self._modules[directory] = mod
        return mod

    def attach(self, inst: Instance, call: BlockRef) -> None:
        """Find the code of a module call: local sources are read, others are not."""
        try:
            attr = call.attr("source")
            source_expr = attr.expr() if attr is not None else None
        except _SourceProblem as exc:
            inst.missing = str(exc.problem)
            inst.nonlocal_call = call
            return
        source = source_expr.value if isinstance(source_expr, Lit) else None
        if not isinstance(source, str):
            inst.missing = f"module {inst.name!r} at {call.where} has no literal source"
            inst.nonlocal_call = call
            return
        if not source.startswith(("./", "../")) and source not in (".", ".."):
            inst.nonlocal_source = source
            inst.nonlocal_call = call
            inst.missing = f"module {inst.name!r} comes from {source!r}, whose code is not read"
            return
        directory = os.path.join(os.path.dirname(call.file.abs), source)
        if not os.path.isdir(directory):
            inst.missing = f"module {inst.name!r}: directory {source!r} not found ({call.where})"
            inst.nonlocal_call = call
            return
        if not _within(os.path.realpath(directory), self.within):
            inst.missing = (
                f"module {inst.name!r}: directory {source!r} is outside the repository "
                f"({call.where}): its code is not read"
            )
            inst.nonlocal_call = call
            return
        inst.mod = self.module(directory)

    def instance(self, modules: Iterable[tuple[str, Key]]) -> Instance:
        inst = self.root
        for name, key in modules:
            inst = inst.child(name, key)
        return inst


# ---------------------------------------------------------------- evaluation


@dataclass(frozen=True, slots=True)
class Ctx:
    inst: Instance
    strict: bool  # root variables are unknown (they can be set at plan time)
    key: Key = None  # each.key / count.index
    owner: BlockRef | None = None  # the block whose for_each/count defines each/count
    owner_inst: Instance | None = None  # where that for_each/count is evaluated


class Evaluator:
    """Static evaluation of the expressions the gate needs."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self._active: set[tuple[int, str, bool]] = set()

    # -- entry points

    def attr(self, attr: AttrRef, ctx: Ctx) -> Any:
        try:
            expr = attr.expr()
        except _SourceProblem as exc:
            self.problems.append(exc.problem)
            return Unknown(str(exc.problem))
        except RecursionError:
            return Unknown(f"{attr.name} ({attr.where}) is nested too deeply to read")
        try:
            return self.eval(expr, ctx)
        except RecursionError:
            # References or expressions nested thousands deep: unresolved, never a crash.
            return Unknown(f"{attr.name} ({attr.where}) is nested too deeply to evaluate")

    def eval(self, e: Expr, ctx: Ctx) -> Any:
        if isinstance(e, Lit):
            return e.value
        if isinstance(e, Template):
            return self._template(e, ctx)
        if isinstance(e, Obj):
            out: dict[str, Any] = {}
            for k, v in e.items:
                key = self.eval(k, ctx)
                if isinstance(key, Unknown):
                    return Unknown(f"a key is unknown: {key.reason}")
                if isinstance(key, bool):
                    key = "true" if key else "false"
                if not isinstance(key, str | int | float):
                    return Unknown(f"key `{show(k)}` is not a string")
                out[str(key)] = self.eval(v, ctx)
            return out
        if isinstance(e, Tup):
            return [self.eval(x, ctx) for x in e.items]
        if isinstance(e, Trav):
            return self._trav(e, ctx)
        if isinstance(e, Access):
            return self._steps(self.eval(e.base, ctx), e.steps, ctx, show(e))
        if isinstance(e, Call):
            return self._call(e, ctx)
        if isinstance(e, Cond):
            c = self.eval(e.cond, ctx)
            if isinstance(c, Unknown):
                return Unknown(f"the condition `{show(e.cond)}` is unknown: {c.reason}")
            if not isinstance(c, bool):
                return Unknown(f"the condition `{show(e.cond)}` is not a bool")
            return self.eval(e.then if c else e.other, ctx)
        if isinstance(e, BinOp):
            return self._binop(e, ctx)
        if isinstance(e, Not):
            v = self.eval(e.operand, ctx)
            return (not v) if isinstance(v, bool) else _unknown(v, f"`{show(e)}`")
        assert isinstance(e, Other)
        return Unknown(f"`{e.text}` is not evaluated statically ({e.kind.replace('_', ' ')})")

    # -- pieces

    def _template(self, e: Template, ctx: Ctx) -> Any:
        out = []
        for p in e.parts:
            if isinstance(p, str):
                out.append(p)
                continue
            v = self.eval(p, ctx)
            s = _to_string(v)
            if s is None:
                return _unknown(v, f"`${{{show(p)}}}`")
            out.append(s)
        return "".join(out)

    def _binop(self, e: BinOp, ctx: Ctx) -> Any:
        a, b = self.eval(e.left, ctx), self.eval(e.right, ctx)
        for v in (a, b):
            if isinstance(v, Unknown):
                return v
        if e.op in ("==", "!="):
            if not (_scalar(a) and _scalar(b)):
                return Unknown(f"`{show(e)}` compares collections")
            return (a == b) if e.op == "==" else (a != b)
        if e.op in ("&&", "||") and isinstance(a, bool) and isinstance(b, bool):
            return (a and b) if e.op == "&&" else (a or b)
        return Unknown(f"`{show(e)}` is not evaluated statically")

    def _steps(self, value: Any, steps: Iterable[tuple[str, Any]], ctx: Ctx, what: str) -> Any:
        for kind, raw in steps:
            if isinstance(value, Unknown):
                return value
            key = raw if kind == "attr" else self.eval(raw, ctx)
            if isinstance(key, Unknown):
                return key
            if isinstance(value, dict):
                k = str(key) if not isinstance(key, bool) else ("true" if key else "false")
                if k not in value:
                    return Unknown(f"{what}: no key {k!r}")
                value = value[k]
            elif isinstance(value, list):
                if isinstance(key, str) and key.isdigit():
                    key = int(key)
                if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key < len(value):
                    return Unknown(f"{what}: no element {key!r}")
                value = value[key]
            else:
                return Unknown(f"{what} is not a map or list")
        return value

    def _trav(self, e: Trav, ctx: Ctx) -> Any:
        root, steps = e.root, e.steps
        first = steps[0][1] if steps and steps[0][0] == "attr" else None
        what = show(e)
        if root == "var" and isinstance(first, str):
            return self._steps(self.var(ctx.inst, first, ctx.strict), steps[1:], ctx, what)
        if root == "local" and isinstance(first, str):
            return self._steps(self.local(ctx.inst, first, ctx.strict), steps[1:], ctx, what)
        if root == "each" and first in ("key", "value"):
            if not isinstance(ctx.key, str):
                return Unknown(f"{what} used where each is not defined")
            if first == "key":
                return self._steps(ctx.key, steps[1:], ctx, what)
            return self._steps(self.each_value(ctx), steps[1:], ctx, what)
        if root == "count" and first == "index":
            if not isinstance(ctx.key, int):
                return Unknown(f"{what} used where count is not defined")
            return ctx.key
        if root == "terraform":
            return Unknown(f"{what} is known only when Terraform runs")
        if root in ("path", "self"):
            return Unknown(f"{what} is not evaluated statically")
        if root == "module":
            return Unknown(f"{what} is a module output, known only when Terraform runs")
        if root == "data":
            return Unknown(f"{what} is read from a data source when Terraform runs")
        return Unknown(f"{what} is an attribute of another resource, known only at apply")

    def var(self, inst: Instance, name: str, strict: bool) -> Any:
        memo_key = ("var", name, strict)
        if memo_key in inst.memo:
            return inst.memo[memo_key]
        value = self._guard(inst, memo_key, lambda: self._var(inst, name, strict))
        inst.memo[memo_key] = value
        return value

    def _var(self, inst: Instance, name: str, strict: bool) -> Any:
        mod = inst.mod
        if mod is None:
            return Unknown(f"var.{name}: {inst.missing}")
        decl = mod.variables.get(name)
        if decl is None:
            # Terraform rejects a reference to (or a module argument for) an undeclared
            # variable and ignores its .tfvars value; and a declaration in a file that does
            # not parse may say `sensitive = true`: nothing is read.
            return Unknown(f"var.{name} is not declared in {mod.rel}{mod.problem_hint()}")
        hidden = self._sensitive(mod, decl, name)
        if hidden is not None:
            return hidden
        if inst.parent is None:  # the root module: set at plan time
            if strict:
                return Unknown(
                    f"var.{name} is a root module variable: -var, -var-file or "
                    f"TF_VAR_{name} can set it when Terraform runs"
                )
            tfvar = mod.tfvars.get(name)
            if tfvar is not None:
                return self.attr(tfvar, Ctx(inst, strict))
        elif inst.call is not None:
            try:
                arg = inst.call.attr(name)
            except _SourceProblem as exc:
                self.problems.append(exc.problem)
                return Unknown(str(exc.problem))
            if arg is not None:
                assert inst.parent is not None
                return self.attr(arg, self.call_ctx(inst, strict))
        try:
            default = decl.attr("default")
        except _SourceProblem as exc:
            self.problems.append(exc.problem)
            return Unknown(str(exc.problem))
        if default is None:
            if inst.parent is None:
                return Unknown(f"var.{name} has no default: it is set when Terraform runs")
            return Unknown(f"var.{name} is not set by the module call and has no default")
        return self.attr(default, Ctx(inst, strict))

    def _sensitive(self, mod: ModuleDef, decl: BlockRef, name: str) -> Unknown | None:
        """Unknown for a variable declared `sensitive = true` (or whose declaration cannot be
        read, so it may be): its value is never read, from .tfvars, a module argument or the
        default, so that no tag, reason or note can show it. None for any other variable.
        An override file (not merged otherwise) can make a variable sensitive too."""
        overrides = [
            b for b in mod.other_overrides if b.type == "variable" and b.labels[:1] == (name,)
        ]
        for block in (decl, *overrides):
            try:
                attr = block.attr("sensitive")
                flag = attr.expr() if attr is not None else Lit(False)
            except _SourceProblem as exc:
                # The message may quote the declaration's text, its default included.
                p = exc.problem
                problem = Problem(p.file, p.line, f"cannot read the declaration of var.{name}")
                self.problems.append(problem)
                return Unknown(f"var.{name}: {problem}: it may be sensitive, its value is not read")
            if not (isinstance(flag, Lit) and flag.value is False):
                return Unknown(f"var.{name} is sensitive ({block.where}): its value is not read")
        return None

    def call_ctx(self, inst: Instance, strict: bool) -> Ctx:
        assert inst.parent is not None
        return Ctx(inst.parent, strict, inst.key, inst.call, inst.parent)

    def local(self, inst: Instance, name: str, strict: bool) -> Any:
        memo_key = ("local", name, strict)
        if memo_key in inst.memo:
            return inst.memo[memo_key]
        value = self._guard(inst, memo_key, lambda: self._local(inst, name, strict))
        inst.memo[memo_key] = value
        return value

    def _local(self, inst: Instance, name: str, strict: bool) -> Any:
        mod = inst.mod
        if mod is None:
            return Unknown(f"local.{name}: {inst.missing}")
        attr = mod.locals(self.problems).get(name)
        if attr is None:
            return Unknown(f"local.{name} is not declared in {mod.rel}{mod.problem_hint()}")
        return self.attr(attr, Ctx(inst, strict))

    def _guard(self, inst: Instance, key: tuple[str, str, bool], fn: Callable[[], Any]) -> Any:
        token = (id(inst), f"{key[0]}.{key[1]}", key[2])
        if token in self._active:
            return Unknown(f"{key[0]}.{key[1]} refers to itself")
        self._active.add(token)
        try:
            return fn()
        finally:
            self._active.discard(token)

    def for_each(self, owner: BlockRef, inst: Instance, strict: bool) -> Any:
        memo_key = ("for_each", f"{owner.where}", strict)
        if memo_key in inst.memo:
            return inst.memo[memo_key]
        try:
            attr = owner.attr("for_each")
        except _SourceProblem as exc:
            self.problems.append(exc.problem)
            attr = None
        value: Any = (
            Unknown(f"{owner.where} has no for_each")
            if attr is None
            else self.attr(attr, Ctx(inst, strict))
        )
        if isinstance(value, list):  # a set of strings: each.value is each.key
            value = {str(v): v for v in value if not isinstance(v, Unknown)}
        inst.memo[memo_key] = value
        return value

    def each_value(self, ctx: Ctx) -> Any:
        if ctx.owner is None or ctx.owner_inst is None:
            return Unknown("each.value used where each is not defined")
        fe = self.for_each(ctx.owner, ctx.owner_inst, ctx.strict)
        if isinstance(fe, Unknown):
            return Unknown(f"each.value: for_each is unknown: {fe.reason}")
        if not isinstance(fe, dict):
            return Unknown("each.value: for_each is not a map or set")
        if ctx.key not in fe:
            return Unknown(f"each.value: for_each has no key {ctx.key!r} in {ctx.owner.where}")
        return fe[ctx.key]

    def _call(self, e: Call, ctx: Ctx) -> Any:
        if e.name == "sensitive":
            # Its argument is a secret even when the code spells it out: not evaluated.
            return Unknown("a value passed to sensitive() is not read")
        args = [self.eval(a, ctx) for a in e.args]
        if e.expand and args:
            last = args.pop()
            if isinstance(last, Unknown):
                return last
            if not isinstance(last, list):
                return Unknown(f"`{show(e)}`: expanding something that is not a list")
            args.extend(last)
        fn = _FUNCTIONS.get(e.name)
        if fn is None:
            return Unknown(f"{e.name}() is not evaluated statically")
        try:
            return fn(args)
        except _NotStatic as exc:
            return Unknown(f"`{show(e)}`: {exc}")


class _NotStatic(Exception):
    pass


def _unknown(v: Any, what: str) -> Unknown:
    if isinstance(v, Unknown):
        return v
    return Unknown(f"{what} is not a string")


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, str | int | float | bool)


def _to_string(v: Any) -> str | None:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() else repr(v)
    if isinstance(v, str):
        return v
    return None


def _known(args: list[Any]) -> None:
    for a in args:
        if isinstance(a, Unknown):
            raise _NotStatic(a.reason)


def _merge(args: list[Any]) -> Any:
    _known(args)
    out: dict[str, Any] = {}
    for a in args:
        if a is None:
            continue
        if not isinstance(a, dict):
            raise _NotStatic("merge() of something that is not a map")
        out.update(a)
    return out


def _lookup(args: list[Any]) -> Any:
    if len(args) not in (2, 3):
        raise _NotStatic("lookup() takes 2 or 3 arguments")
    _known(args[:2])
    m, k = args[0], args[1]
    if not isinstance(m, dict):
        raise _NotStatic("lookup() of something that is not a map")
    if str(k) in m:
        return m[str(k)]
    if len(args) == 3:
        return args[2]
    raise _NotStatic(f"no key {k!r}")


def _str_fn(op: Callable[[str], str]) -> Callable[[list[Any]], Any]:
    def fn(args: list[Any]) -> Any:
        _known(args)
        if len(args) != 1 or _to_string(args[0]) is None:
            raise _NotStatic("expects one string")
        return op(_to_string(args[0]) or "")

    return fn


def _coalesce(args: list[Any]) -> Any:
    for a in args:
        if isinstance(a, Unknown):
            raise _NotStatic(a.reason)
        if a is not None and a != "":
            return a
    raise _NotStatic("no non-null argument")


def _concat(args: list[Any]) -> Any:
    _known(args)
    out: list[Any] = []
    for a in args:
        if not isinstance(a, list):
            raise _NotStatic("concat() of something that is not a list")
        out.extend(a)
    return out


def _join(args: list[Any]) -> Any:
    _known(args)
    if len(args) < 2 or not isinstance(args[0], str):
        raise _NotStatic("join(separator, list)")
    items: list[str] = []
    for lst in args[1:]:
        if not isinstance(lst, list):
            raise _NotStatic("join() of something that is not a list")
        for x in lst:
            s = _to_string(x)
            if s is None:
                raise _NotStatic(x.reason if isinstance(x, Unknown) else "not a string")
            items.append(s)
    return args[0].join(items)


def _identity_map(args: list[Any]) -> Any:
    _known(args)
    if len(args) != 1 or not isinstance(args[0], dict):
        raise _NotStatic("expects one map")
    return args[0]


def _to_list(args: list[Any]) -> Any:
    _known(args)
    if len(args) != 1 or not isinstance(args[0], list):
        raise _NotStatic("expects one list")
    out: list[Any] = []
    for x in args[0]:
        if x not in out:
            out.append(x)
    return out


_FUNCTIONS: dict[str, Callable[[list[Any]], Any]] = {
    "merge": _merge,
    "tomap": _identity_map,
    "lookup": _lookup,
    "lower": _str_fn(str.lower),
    "upper": _str_fn(str.upper),
    "trimspace": _str_fn(str.strip),
    "tostring": _str_fn(lambda s: s),
    "coalesce": _coalesce,
    "concat": _concat,
    "join": _join,
    "toset": _to_list,
    "tolist": _to_list,
}


# ---------------------------------------------------------------- resolving an address


@dataclass(slots=True)
class Found:
    """Where an address's code is, in one checkout."""

    inst: Instance
    block: BlockRef | None
    notes: list[str]


def find(tree: SourceTree, addr: Address) -> Found:
    inst = tree.instance(addr.modules)
    if inst.mod is None:
        return Found(inst, None, [])
    block = inst.mod.resources.get((addr.mode, addr.type, addr.name))
    return Found(inst, block, [])


def _module_call_location(inst: Instance) -> Location | None:
    """The innermost module call on the path that is still in the code."""
    if inst.nonlocal_call is not None:
        return inst.nonlocal_call.location("module_call")
    cur: Instance | None = inst
    while cur is not None:
        if cur.call is not None:
            return cur.call.location("module_call")
        cur = cur.parent
    return None


@dataclass(frozen=True, slots=True)
class _Side:
    name: str  # "PR" | "base"
    inst: Instance
    block: BlockRef


class SourceMapper:
    """Builds SourceFacts for the changes of one plan from its head (and base) code."""

    def __init__(
        self,
        head: SourceTree | None,
        base: SourceTree | None,
        production: ProductionPolicy,
        *,
        hcl_keys: bool = True,
    ) -> None:
        self.head = head
        self.base = base
        self.production = production
        self.hcl_keys = hcl_keys  # the plan's keys are HCL-quoted (source_address.py)
        self.tag_keys = {k.casefold() for k in production.tag_keys}
        self.ev = Evaluator()

    def facts(self, change: ResourceChange) -> SourceFacts | None:
        if change.mode not in ("managed", "data"):
            return None
        try:
            addr = parse_address(change.address, hcl_keys=self.hcl_keys)
        except AddressError as exc:
            return SourceFacts(
                notes=(f"source: address not understood: {exc}",),
                unresolved=(f"address {change.address!r} could not be mapped to code",),
            )
        needs_detail = change.destructive or change.action is Action.FORGET
        notes: list[str] = []
        unresolved: list[str] = []
        head = find(self.head, addr) if self.head is not None else None
        base = find(self.base, addr) if self.base is not None else None
        location: Location | None = None
        removed = False
        problems: list[Problem] = []
        tag_maps: dict[str, dict[str, str]] = {}

        if head is not None:
            problems.extend(_path_problems(head.inst))
            if head.block is not None:
                location = head.block.location("resource")
            elif head.inst.nonlocal_source is not None:
                location = _module_call_location(head.inst)
                notes.append(
                    f"declared inside the module {head.inst.nonlocal_source!r}, "
                    "whose code is not in this repository: pointing at the module call"
                )
            elif head.inst.mod is None and head.inst.nonlocal_call is not None:
                # The module is called, but its code cannot be read (no such directory, a
                # source that is not a literal): unknown, not removed.
                location = _module_call_location(head.inst)
                notes.append(f"source: {head.inst.missing}")
            else:
                failed = _failed_file(head.inst)
                if failed is not None:
                    location = Location(failed.file, failed.line, failed.line, "file")
                    unresolved.append(
                        f"{failed}: the code of {addr} may be in this file, which does not "
                        "parse: its tags are unknown"
                    )
                    notes.append(f"source: {failed}")
                else:
                    removed = True
        if head is None and base is not None and base.block is not None:
            location = base.block.location("resource")  # only the base code was given
        elif removed:
            if base is not None and base.block is not None:
                location = base.block.location("removed_block")
            elif head is not None:
                location = _module_call_location(head.inst) or location
        if removed:
            detail = _removed_note(addr, head, base, self.base is not None)
            if detail:
                notes.append(detail)

        pr_only = False
        if needs_detail:
            sides = self._sides(change, head, base, removed)
            pd, cbd, ic = self._lifecycle(head, base, removed, notes)
            if not change.has_attributes:
                tag_maps = self._tags(change, addr, sides, head, removed, unresolved, notes)
                unresolved.extend(self._pr_only(addr, sides, base, tag_maps))
                pr_only = bool(sides) and base is None and all(s.name != "base" for s in sides)
                unresolved.extend(self._override_reasons(addr, sides, tag_maps))
            if head is not None and head.block is not None:
                notes.extend(self._instance_notes(addr, head))
                notes.extend(self._override_notes(addr, head))
            moved_removed, explaining = self._moved_removed(addr, change)
            notes.extend(moved_removed)
            if (
                removed
                and explaining is not None
                and (location is None or location.kind != "removed_block")
            ):
                location = explaining
            problems.extend(self.ev.problems)
            self.ev.problems = []
            for p in _unique(problems):
                note = f"source: {p}"
                if note not in notes:
                    notes.append(note)
        else:
            pd, cbd, ic = False, False, ()
            self.ev.problems = []
            notes = [n for n in notes if not n.startswith("source: ")]

        return SourceFacts(
            tags_from_pr_only=pr_only,
            location=location,
            removed_from_code=removed,
            tags=tag_maps,
            unresolved=tuple(_unique(unresolved)),
            prevent_destroy=pd,
            create_before_destroy=cbd,
            ignore_changes=ic,
            notes=tuple(_unique(notes)),
        )

    # -- which code describes the object being destroyed

    def _sides(
        self,
        change: ResourceChange,
        head: Found | None,
        base: Found | None,
        removed: bool,
    ) -> list[_Side]:
        h = _Side("PR", head.inst, head.block) if head and head.block else None
        b = _Side("base", base.inst, base.block) if base and base.block else None
        if change.action in (Action.DELETE, Action.FORGET):
            # The object being destroyed was built from the base code.
            return [b] if b else ([h] if h else [])
        return [s for s in (h, b) if s is not None]

    # -- lifecycle

    def _lifecycle(
        self, head: Found | None, base: Found | None, removed: bool, notes: list[str]
    ) -> tuple[bool, bool, tuple[str, ...]]:
        if head is None or head.block is None:
            if removed and base is not None and base.block is not None:
                pd, _, _ = self._lifecycle_of(base.inst, base.block, notes)
                if pd:
                    notes.append(
                        f"the base code had lifecycle.prevent_destroy = true ({base.block.where}): "
                        "removing the block removed that protection"
                    )
            return False, False, ()
        return self._lifecycle_of(head.inst, head.block, notes)

    def _lifecycle_of(
        self, inst: Instance, block: BlockRef, notes: list[str]
    ) -> tuple[bool, bool, tuple[str, ...]]:
        try:
            lifecycles = block.blocks("lifecycle")
        except _SourceProblem as exc:
            self.ev.problems.append(exc.problem)
            return False, False, ()
        pd = cbd = False
        ic: list[str] = []
        ctx = Ctx(inst, strict=False)
        for lc in lifecycles:
            try:
                attrs = lc.body().attrs
            except _SourceProblem as exc:
                self.ev.problems.append(exc.problem)
                continue
            for name in ("prevent_destroy", "create_before_destroy"):
                a = attrs.get(name)
                if a is None:
                    continue
                v = self.ev.attr(a, ctx)
                if isinstance(v, Unknown):
                    notes.append(f"lifecycle.{name} at {a.where} is unknown: {v.reason}")
                elif v is True:
                    if name == "prevent_destroy":
                        pd = True
                    else:
                        cbd = True
            a = attrs.get("ignore_changes")
            if a is not None:
                try:
                    e = a.reference()
                except _SourceProblem as exc:
                    self.ev.problems.append(exc.problem)
                    continue
                items = e.items if isinstance(e, Tup) else (e,)
                for item in items:
                    text = item.value if isinstance(item, Lit) else show(item)
                    ic.append(str(text))
        return pd, cbd, tuple(ic)

    # -- tags

    def _tags(
        self,
        change: ResourceChange,
        addr: Address,
        sides: list[_Side],
        head: Found | None,
        removed: bool,
        unresolved: list[str],
        notes: list[str],
    ) -> dict[str, dict[str, str]]:
        if not sides:
            if removed:
                hint = "" if self.base is not None else " (give --base-source to read them)"
                unresolved.append(
                    f"tags of {addr} are unknown: its block was removed from the code{hint}"
                )
            elif head is not None and head.inst.mod is None and not unresolved:
                unresolved.append(f"tags of {addr} are unknown: {head.inst.missing}")
            elif not unresolved:
                unresolved.append(f"tags of {addr} are unknown: its code was not found")
            return {}
        if self.base is None and change.action in (Action.DELETE, Action.REPLACE, Action.UNKNOWN):
            notes.append(
                "tags read from the PR's code (give --base-source to read those of the "
                "object being destroyed)"
            )
        merged: dict[str, dict[str, str]] = {}
        first: dict[str, str] = {}  # attr -> the side its values came from
        for side in sides:
            tags, why = self._side_tags(addr, side)
            unresolved.extend(why)
            for attr, m in tags.items():
                into = merged.setdefault(attr, {})
                first.setdefault(attr, side.name)
                for k, v in m.items():
                    if k not in into:
                        into[k] = v
                        continue
                    if into[k] == v or k.casefold() not in self.tag_keys:
                        continue
                    notes.append(
                        f"{attr}.{k} is {into[k]!r} in the {first[attr]} code and {v!r} in the "
                        f"{side.name} code"
                    )
                    # Fail closed: the production value is the one that counts.
                    if not self._is_prod(k, into[k]) and self._is_prod(k, v):
                        into[k] = v
        return merged

    def _pr_only(
        self, addr: Address, sides: list[_Side], base: Found | None, tags: dict[str, dict[str, str]]
    ) -> list[str]:
        """The PR's code is self-reported: its tags can make the object being destroyed
        production, never clear it. When the base code does not describe the object, the
        change stays possibly production unless the PR's tags already make it production."""
        if not sides or any(s.name == "base" for s in sides):
            return []
        if any(self._is_prod(k, v) for m in tags.values() for k, v in m.items()):
            return []
        if base is None:
            # No --base-source: the PR's tags are used, with a note (see _tags).
            return []
        if base.inst.mod is None:
            why = f"in the base code, {base.inst.missing}"
        else:
            why = f"it is not in the base code{base.inst.mod.problem_hint()}"
        return [
            f"tags of the destroyed object come from the PR's code, not the base ({why}): "
            f"they can make {addr} production, never clear it"
        ]

    def _override_reasons(
        self, addr: Address, sides: list[_Side], tags: dict[str, dict[str, str]]
    ) -> list[str]:
        """Override files that may change the tags and are not merged here: a module call on
        the address's path, locals, variables or providers of a module on it. Unless the
        tags are production already, the change stays possibly production."""
        if any(self._is_prod(k, v) for m in tags.values() for k, v in m.items()):
            return []
        out: list[str] = []
        for side in sides:
            cur: Instance | None = side.inst
            child: str | None = None  # the module call on the path, in cur's module
            while cur is not None:
                for o in cur.mod.other_overrides if cur.mod is not None else ():
                    if o.type == "module" and o.labels[:1] != (child,):
                        continue
                    what = f"{o.type} {o.labels[0]!r}" if o.labels else o.type
                    out.append(
                        f"tags of {addr} may be changed by the override file {o.where} "
                        f"({what}, {side.name} code), which is not read"
                    )
                child = cur.name
                cur = cur.parent
        return out

    def _is_prod(self, key: str, value: str) -> bool:
        return key.casefold() in self.tag_keys and bool(
            globs.first_match(self.production.tag_values, value, casefold=True)
        )

    def _side_tags(self, addr: Address, side: _Side) -> tuple[dict[str, dict[str, str]], list[str]]:
        tags: dict[str, dict[str, str]] = {}
        why: list[str] = []
        inst, block = side.inst, side.block
        ctx = Ctx(inst, False, addr.key, block, inst)
        strict = Ctx(inst, True, addr.key, block, inst)
        try:
            attrs = _merged_attrs(side)
        except _SourceProblem as exc:
            self.ev.problems.append(exc.problem)
            why.append(f"tags of {addr} are unknown: {exc.problem}")
            return tags, why
        for attr_name in self.production.tag_attributes:
            if attr_name == "tags_all":
                provider = self._provider_config(addr, side)
                if provider is _NOT_AWS:
                    continue
                if provider is None and "tags" in self.production.tag_attributes:
                    # No default_tags: tags_all is tags, whose reasons are reported already.
                    if "tags" in tags:
                        tags["tags_all"] = dict(tags["tags"])
                    continue
                loose = self._tags_all(side, ctx, provider)
                tight = self._tags_all(side, strict, provider)
                where = block.where
            else:
                a = attrs.get(attr_name)
                if a is None:
                    continue
                loose = self.ev.attr(a, ctx)
                tight = self.ev.attr(a, strict)
                where = a.where
            if loose is _ABSENT:
                continue
            label = f"{attr_name} ({where}, {side.name} code)"
            m = self._interpret(loose, label, why)
            if m is None:
                continue
            tags[attr_name] = m
            if any(self._is_prod(k, v) for k, v in m.items()):
                continue  # production already: an override could not make it less so
            self._overridable(m, tight, label, why)
        return tags, why

    def _interpret(self, value: Any, label: str, why: list[str]) -> dict[str, str] | None:
        if isinstance(value, Unknown):
            why.append(f"{label}: {value.reason}")
            return None
        if not isinstance(value, dict):
            return None
        out: dict[str, str] = {}
        for k, v in value.items():
            if isinstance(v, Unknown):
                if k.casefold() in self.tag_keys:
                    why.append(f"{label}: {k} is unknown: {v.reason}")
                continue
            s = _to_string(v)
            if s is not None:
                out[k] = s
        return out

    def _overridable(self, m: dict[str, str], tight: Any, label: str, why: list[str]) -> None:
        """Values that rest on root variables can be overridden at plan time: say which."""
        if isinstance(tight, Unknown):
            why.append(f"{label}: {tight.reason}")
            return
        if not isinstance(tight, dict):
            return
        for k, v in tight.items():
            if isinstance(v, Unknown) and k.casefold() in self.tag_keys and k in m:
                why.append(f"{label}: {k} = {m[k]!r} can change: {v.reason}")

    def _tags_all(self, side: _Side, ctx: Ctx, provider: Any) -> Any:
        """tags_all = the AWS provider's default_tags merged with the resource's tags."""
        try:
            tags_attr = _merged_attrs(side).get("tags")
        except _SourceProblem:
            tags_attr = None
        own: Any = self.ev.attr(tags_attr, ctx) if tags_attr is not None else {}
        if provider is None:
            return _ABSENT if tags_attr is None else own
        pinst, pblock = provider
        defaults: Any = {}
        try:
            for dt in pblock.blocks("default_tags"):
                a = dt.attr("tags")
                if a is not None:
                    defaults = self.ev.attr(a, Ctx(pinst, ctx.strict))
        except _SourceProblem as exc:
            self.ev.problems.append(exc.problem)
            defaults = Unknown(str(exc.problem))
        if isinstance(defaults, Unknown):
            return Unknown(f"the provider's default_tags ({pblock.where}): {defaults.reason}")
        if isinstance(own, Unknown):
            return own
        if not isinstance(defaults, dict) or not isinstance(own, dict):
            return own
        return {**defaults, **own}

    def _provider_config(self, addr: Address, side: _Side) -> Any:
        """The AWS provider configuration (instance, block) a resource uses, following module
        inheritance; None when there is none; _NOT_AWS for other providers."""
        name, alias = addr.type.split("_", 1)[0], None
        try:
            pattr = _merged_attrs(side).get("provider")
            if pattr is not None:
                ref = pattr.reference()
                if isinstance(ref, Trav):
                    name = ref.root
                    alias = ref.steps[0][1] if ref.steps and ref.steps[0][0] == "attr" else None
        except _SourceProblem as exc:
            self.ev.problems.append(exc.problem)
        if name != "aws":
            return _NOT_AWS
        inst: Instance | None = side.inst
        while inst is not None and inst.mod is not None:
            for p in inst.mod.providers:
                if p.labels[0] != name:
                    continue
                try:
                    a = p.attr("alias")
                except _SourceProblem:
                    continue
                palias = a.expr() if a is not None else None
                pval = palias.value if isinstance(palias, Lit) else None
                if pval == alias:
                    return inst, p
            # Not configured here: inherited from the caller (through `providers = {}`).
            if inst.call is None or inst.parent is None:
                return None
            local_name = name if alias is None else f"{name}.{alias}"
            passed = self._passed_provider(inst.call, local_name)
            if passed is False:
                return None
            if passed is not None:
                name, alias = passed
            elif alias is not None:
                return None  # aliased configurations are never inherited implicitly
            inst = inst.parent
        return None

    def _passed_provider(
        self, call: BlockRef, local_name: str
    ) -> tuple[str, str | None] | Literal[False] | None:
        """(name, alias) the call passes as local_name; None: no providers map (implicit
        inheritance); False: a providers map that does not pass it."""
        try:
            a = call.attr("providers")
            if a is None:
                return None
            e = a.reference()
        except _SourceProblem:
            return False
        if not isinstance(e, Obj):
            return False
        for k, v in e.items:
            key = k.value if isinstance(k, Lit) else show(k)
            if key == local_name and isinstance(v, Trav):
                alias = v.steps[0][1] if v.steps and v.steps[0][0] == "attr" else None
                return v.root, alias if isinstance(alias, str) else None
        return False

    # -- notes

    def _instance_notes(self, addr: Address, head: Found) -> list[str]:
        """Is this instance still in the code? (count shrink, for_each key removed), for the
        resource and for each module instance on its path."""
        assert head.block is not None
        out: list[str] = []
        chain: list[tuple[str, BlockRef, Instance, Key]] = []
        cur: Instance | None = head.inst
        while cur is not None and cur.parent is not None and cur.call is not None:
            chain.append((f"module instance {cur.label}", cur.call, cur.parent, cur.key))
            cur = cur.parent
        chain.reverse()
        chain.append(("instance", head.block, head.inst, addr.key))
        for what, block, inst, key in chain:
            note = self._instance_note(what, block, inst, key)
            if note:
                out.append(note)
        return out

    def _instance_note(self, what: str, block: BlockRef, inst: Instance, key: Key) -> str | None:
        try:
            count = block.attr("count")
            fe = block.attr("for_each")
        except _SourceProblem:
            return None
        if count is not None and isinstance(key, int):
            n = self.ev.attr(count, Ctx(inst, False))
            if isinstance(n, str) and n.isdigit():
                n = int(n)
            if isinstance(n, int) and not isinstance(n, bool) and key >= n:
                return f"count is {n} at {count.where}: {what} [{key}] is no longer in the code"
        elif fe is not None and isinstance(key, str):
            keys = self.ev.for_each(block, inst, False)
            if isinstance(keys, dict) and key not in keys:
                return (
                    f"for_each at {fe.where} no longer has the key {key!r}: "
                    f"this {what} was removed from the code"
                )
        return None

    def _override_notes(self, addr: Address, head: Found) -> list[str]:
        mod = head.inst.mod
        if mod is None:
            return []
        return [
            f"also configured in the override file {b.where}: the attributes it sets replace "
            "the block's (tags are read from it; lifecycle, count and for_each are not)"
            for b in mod.overrides.get((addr.mode, addr.type, addr.name), [])
        ]

    def _moved_removed(
        self, addr: Address, change: ResourceChange
    ) -> tuple[list[str], Location | None]:
        """Notes for the moved/removed blocks that mention the address, and the location of
        the innermost one."""
        if self.head is None:
            return [], None
        out: list[str] = []
        where: Location | None = None
        previous = None
        if change.previous_address:
            try:
                previous = parse_address(change.previous_address, hcl_keys=self.hcl_keys)
            except AddressError:
                previous = None
        inst: Instance | None = self.head.instance(addr.modules)
        chain: list[Instance] = []
        while inst is not None:
            chain.append(inst)
            inst = inst.parent
        for inst in chain:
            if inst.mod is None:
                continue
            for block in inst.mod.moved:
                try:
                    frm = block.attr("from")
                    to = block.attr("to")
                    if frm is None or to is None:
                        continue
                    f_ref, t_ref = frm.reference(), to.reference()
                except _SourceProblem as exc:
                    out.append(f"source: {exc.problem}")
                    continue
                hit = _ref_matches(f_ref, inst.path, addr) or _ref_matches(t_ref, inst.path, addr)
                if previous is not None:
                    hit = hit or _ref_matches(f_ref, inst.path, previous)
                if hit:
                    out.append(f"moved block at {block.where}: from {show(f_ref)} to {show(t_ref)}")
                    where = where or block.location("file")
            for block in inst.mod.removed:
                try:
                    frm = block.attr("from")
                    if frm is None:
                        continue
                    f_ref = frm.reference()
                    destroy = self._removed_destroy(block)
                except _SourceProblem as exc:
                    out.append(f"source: {exc.problem}")
                    continue
                if _ref_matches(f_ref, inst.path, addr):
                    what = (
                        "lifecycle.destroy = false: Terraform forgets it, the object is kept"
                        if destroy is False
                        else "Terraform destroys it"
                    )
                    out.append(f"removed block at {block.where} for {show(f_ref)}: {what}")
                    where = where or block.location("file")
        return out, where

    def _removed_destroy(self, block: BlockRef) -> bool | None:
        for lc in block.blocks("lifecycle"):
            a = lc.attr("destroy")
            if a is not None:
                e = a.expr()
                if isinstance(e, Lit) and isinstance(e.value, bool):
                    return e.value
        return None


_ABSENT = object()
_NOT_AWS = object()


def _merged_attrs(side: _Side) -> dict[str, AttrRef]:
    """The block's attributes as Terraform sees them: each override file (*_override.tf,
    override.tf, in lexical order) that configures the same resource replaces the attributes
    it sets. Raises _SourceProblem."""
    block, mod = side.block, side.inst.mod
    attrs = block.body().attrs
    if mod is None or block.type not in ("resource", "data") or len(block.labels) != 2:
        return attrs
    key = ("managed" if block.type == "resource" else "data", block.labels[0], block.labels[1])
    overrides = mod.overrides.get(key, [])
    if not overrides:
        return attrs
    merged = dict(attrs)
    for o in overrides:
        merged.update(o.body().attrs)
    return merged


def _unique(items: Iterable[Any]) -> list[Any]:
    seen: set[Any] = set()
    out = []
    for x in items:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def _path_problems(inst: Instance) -> list[Problem]:
    out: list[Problem] = []
    cur: Instance | None = inst
    while cur is not None:
        if cur.mod is not None:
            out.extend(cur.mod.problems)
        cur = cur.parent
    return list(reversed(out))


def _failed_file(inst: Instance) -> Problem | None:
    """A file that did not parse in the module where the lookup stopped (the deepest module
    on the path whose code was read): the missing block or module call may be in it."""
    cur: Instance | None = inst
    while cur is not None and cur.mod is None:
        cur = cur.parent
    if cur is None or cur.mod is None:
        return None
    for p in cur.mod.problems:
        if p.file.endswith((".tf", ".tf.json")):
            return p
    return None


def _removed_note(
    addr: Address, head: Found | None, base: Found | None, have_base: bool
) -> str | None:
    """What is known about a removed block (the classifier says "removed" itself)."""
    if base is not None and base.block is not None:
        return f"in the base code its block was at {base.block.where}"
    if head is not None and head.inst.mod is None and head.inst.missing:
        return head.inst.missing
    if have_base:
        return f"{addr} is not in the base code either"
    return None


def _ref_matches(ref: Expr, prefix: tuple[tuple[str, Key], ...], addr: Address) -> bool:
    """Does a moved/removed reference (relative to the module at prefix) cover addr?"""
    if not isinstance(ref, Trav):
        return False
    parts: list[tuple[str, Any]] = [("attr", ref.root), *ref.steps]
    modules: list[tuple[str, Key | object]] = []
    i = 0
    while i < len(parts) and parts[i] == ("attr", "module"):
        if i + 1 >= len(parts) or parts[i + 1][0] != "attr":
            return False
        name = str(parts[i + 1][1])
        key: Key | object = _ANY
        if i + 2 < len(parts) and parts[i + 2][0] == "index":
            key = _lit_key(parts[i + 2][1])
            i += 1
        modules.append((name, key))
        i += 2
    full = list(prefix) + modules
    if len(full) > len(addr.modules):
        return False
    for (n, k), (an, ak) in zip(full, addr.modules, strict=False):
        if n != an or (k is not _ANY and k != ak):
            return False
    rest = parts[i:]
    if not rest:  # a whole module moved or removed
        return True
    if len(full) != len(addr.modules):
        return False
    mode = "managed"
    if rest[0] == ("attr", "data"):
        mode, rest = "data", rest[1:]
    if len(rest) < 2 or rest[0][0] != "attr" or rest[1][0] != "attr":
        return False
    if (mode, rest[0][1], rest[1][1]) != (addr.mode, addr.type, addr.name):
        return False
    if len(rest) >= 3 and rest[2][0] == "index":
        return _lit_key(rest[2][1]) == addr.key
    return True


_ANY = object()


def _lit_key(e: Any) -> Key | object:
    if isinstance(e, Lit) and isinstance(e.value, int | str) and not isinstance(e.value, bool):
        return e.value
    return _ANY


# ---------------------------------------------------------------- entry points


def find_repo_root(directory: str) -> str:
    """The nearest directory at or above `directory` that holds `.git`, else the CWD."""
    return _git_root(directory) or os.getcwd()


def _git_root(directory: str) -> str | None:
    cur = os.path.abspath(directory)
    while True:
        if os.path.exists(os.path.join(cur, ".git")):
            return cur
        parent = os.path.dirname(cur)
        if parent == cur:
            return None
        cur = parent


def build_source_map(
    plans: Iterable[Plan],
    sources: Mapping[str, str],
    bases: Mapping[str, str] | None = None,
    *,
    production: ProductionPolicy | None = None,
    repo_root: str | None = None,
) -> dict[tuple[str, str], SourceFacts]:
    """(plan label, address) -> SourceFacts for every change of every plan that has code.

    `sources`/`bases` map plan labels to directories (the PR's and the base's checkout of
    that plan's root module)."""
    production = production or ProductionPolicy()
    bases = bases or {}
    out: dict[tuple[str, str], SourceFacts] = {}
    trees: dict[tuple[str, str], SourceTree] = {}

    def tree(directory: str | None) -> SourceTree | None:
        if directory is None:
            return None
        found = repo_root or _git_root(directory)
        root = found or os.getcwd()
        k = (os.path.abspath(directory), os.path.abspath(root))
        if k not in trees:
            # Without a repository root, code is read only under the source dir.
            trees[k] = SourceTree(directory, root, production, repo_known=found is not None)
        return trees[k]

    for plan in plans:
        head_dir, base_dir = sources.get(plan.label), bases.get(plan.label)
        if head_dir is None and base_dir is None:
            continue
        mapper = SourceMapper(
            tree(head_dir),
            tree(base_dir),
            production,
            hcl_keys=hcl_quoted_keys(plan.terraform_version),
        )
        for change in plan.changes:
            try:
                facts = mapper.facts(change)
            except RecursionError:
                # Code nested too deeply for a reader that does not catch it itself.
                mapper.ev.problems = []
                facts = SourceFacts(
                    notes=("source: the code is nested too deeply to read",),
                    unresolved=(
                        f"tags of {change.address} are unknown: the code is nested too deeply "
                        "to read",
                    ),
                )
            if facts is not None:
                out[(plan.label, change.address)] = facts
    return out
