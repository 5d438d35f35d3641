"""HCL expressions as a small immutable model, parsed with python-hcl2's lark grammar.

python-hcl2 8.x serializes expressions back to strings ("${merge(local.a, {...})}") and its
`with_meta` option adds no line numbers, so this module walks the raw lark tree
(`propagate_positions=True`) itself and keeps only what static evaluation needs. Expressions
it does not model (for-expressions, splats, arithmetic, ...) become `Other` and never
resolve: the caller reports them as unresolved (fail closed).

python-hcl2 is imported lazily, on the first parse, and its LALR parser is built once per
process (`hcl2.parser.parser` is cached; `_parser` caches it again here).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Union

from gatekeeper.source.scan import ScanError, skip_code, unescape

# ---------------------------------------------------------------- the model


@dataclass(frozen=True, slots=True)
class Lit:
    value: Any  # str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Template:
    parts: tuple[str | Expr, ...]


@dataclass(frozen=True, slots=True)
class Obj:
    items: tuple[tuple[Expr, Expr], ...]


@dataclass(frozen=True, slots=True)
class Tup:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Call:
    name: str
    args: tuple[Expr, ...]
    expand: bool  # f(x...)


# A traversal step: ("attr", name) or ("index", key expression)
Step = tuple[str, Union[str, "Expr"]]


@dataclass(frozen=True, slots=True)
class Trav:
    """A reference: var.x, local.y["k"], each.key, aws_s3_bucket.b.tags, ..."""

    root: str
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Access:
    """Attribute or index access on something that is not a plain reference: f(x).a"""

    base: Expr
    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Cond:
    cond: Expr
    then: Expr
    other: Expr


@dataclass(frozen=True, slots=True)
class BinOp:
    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class Other:
    """An expression this program does not evaluate; `text` is its source (shortened)."""

    kind: str
    text: str


Expr = Lit | Template | Obj | Tup | Call | Trav | Access | Cond | BinOp | Not | Other


class ExprError(Exception):
    """python-hcl2 could not parse an expression. `line` is 1-based within the snippet."""

    def __init__(self, line: int, column: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.column = column
        self.message = message


# ---------------------------------------------------------------- parsing


@functools.cache
def _parser() -> Any:
    from hcl2.parser import parser

    return parser()


_cache: dict[str, Expr] = {}


def parse_attribute(snippet: str) -> Expr:
    """Parse `name = expression` (the exact source span, which may span lines) and return
    the expression. Raises ExprError."""
    hit = _cache.get(snippet)
    if hit is not None:
        return hit
    m = _ASSIGN.match(snippet)
    fast = _literal(m.group(1)) if m else None
    if fast is not None:
        return fast
    try:
        tree = _parser().parse(snippet + "\n")
    except Exception as exc:  # lark raises many types; all mean "cannot parse this"
        line = int(getattr(exc, "line", 1) or 1)
        col = int(getattr(exc, "column", 1) or 1)
        # The message quotes the offending token: not when it may be a sensitive() argument.
        message = "a syntax error" if _SENSITIVE_CALL.search(snippet) else _lark_message(exc)
        raise ExprError(line, col, message) from None
    body = _first_tree(tree, "body")
    attr = _first_tree(body, "attribute") if body is not None else None
    if attr is None:
        raise ExprError(1, 1, "not an attribute")
    exprs = [c for c in attr.children if _is_tree(c)]
    # children: identifier (name), expression
    try:
        expr = _conv(exprs[-1], snippet)
    except RecursionError:  # ((((...)))) thousands deep: unresolved, not a crash
        raise ExprError(1, 1, "the expression is nested too deeply") from None
    if len(_cache) < 200_000:
        _cache[snippet] = expr
    return expr


# ---------------------------------------------------------------- literal fast path
#
# Most attributes the gate reads are plain literals (`count = 2`, `prevent_destroy = true`,
# `tags = { env = "prod", Name = "x" }`). Lark takes about a millisecond for each; these
# patterns take microseconds. Anything with interpolation, escapes other than the simple
# ones, comments or nesting does not match and goes to python-hcl2.

_ASSIGN = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*[ \t]*=(.*)\Z", re.S)
_SCALAR = r'"(?:[^"\\$%\n]|\\[nrt"\\])*"|-?[0-9]+(?:\.[0-9]+)?|true|false|null'
_WHOLE_SCALAR = re.compile(r"[ \t]*(" + _SCALAR + r")[ \t]*\Z")
_TOKEN = re.compile(r"[ \t]+|(\n|,)|([=:])|(" + _SCALAR + r")|([A-Za-z_][A-Za-z0-9_-]*)")


def _scalar_value(tok: str) -> Any:
    if tok.startswith('"'):
        return unescape(tok[1:-1])
    if tok in ("true", "false", "null"):
        return {"true": True, "false": False, "null": None}[tok]
    return float(tok) if "." in tok else int(tok)


def _literal(text: str) -> Expr | None:
    """A literal scalar, or a flat object/tuple of literal scalars; else None."""
    m = _WHOLE_SCALAR.match(text)
    if m:
        return Lit(_scalar_value(m.group(1)))
    body = text.strip(" \t")
    if len(body) < 2 or (body[0], body[-1]) not in (("{", "}"), ("[", "]")):
        return None
    obj = body[0] == "{"
    toks: list[tuple[str, str]] = []  # (kind, text): sep | eq | lit | name
    pos, inner = 0, body[1:-1]
    while pos < len(inner):
        t = _TOKEN.match(inner, pos)
        if t is None:
            return None
        pos = t.end()
        if t.group(1):
            toks.append(("sep", t.group(1)))
        elif t.group(2):
            toks.append(("eq", t.group(2)))
        elif t.group(3):
            toks.append(("lit", t.group(3)))
        elif t.group(4):
            toks.append(("name", t.group(4)))
    # Expect: sep* (item sep+)* item? with item = key eq lit (object) or lit (tuple).
    items: list[Any] = []
    i, n = 0, len(toks)
    need_sep = False
    while i < n:
        kind = toks[i][0]
        if kind == "sep":
            need_sep = False
            i += 1
            continue
        if need_sep:
            return None
        if obj:
            if i + 2 >= n or toks[i + 1][0] != "eq" or toks[i + 2][0] != "lit":
                return None
            key_kind, key = toks[i]
            if key_kind == "name" and key in ("true", "false", "null"):
                return None
            if key_kind == "lit":
                if not key.startswith('"'):
                    return None
                key = unescape(key[1:-1])
            elif key_kind != "name":
                return None
            items.append((Lit(key), Lit(_scalar_value(toks[i + 2][1]))))
            i += 3
        else:
            if kind != "lit":
                return None
            items.append(Lit(_scalar_value(toks[i][1])))
            i += 1
        need_sep = True
    return Obj(tuple(items)) if obj else Tup(tuple(items))


def parse_expression(text: str) -> Expr:
    """Parse a bare expression (e.g. the text of a JSON string that holds one)."""
    return parse_attribute("__x = " + text)


def _lark_message(exc: Exception) -> str:
    name = type(exc).__name__
    token = getattr(exc, "token", None)
    if name == "UnexpectedToken" and token is not None:
        shown = str(token).strip().split("\n", 1)[0][:20] or "end of line"
        return f"unexpected {shown!r}"
    if name == "UnexpectedCharacters":
        char = getattr(exc, "char", "")
        return f"unexpected character {char!r}"
    if name == "UnexpectedEOF":
        return "unexpected end of input"
    first = str(exc).strip().split("\n", 1)[0]
    return first[:120] or name


def _is_tree(x: Any) -> bool:
    return hasattr(x, "data")


def _first_tree(tree: Any, data: str) -> Any:
    for c in tree.children:
        if _is_tree(c) and c.data == data:
            return c
    return None


def _trees(tree: Any) -> list[Any]:
    return [c for c in tree.children if _is_tree(c) and c.data != "new_line_or_comment"]


def _source(tree: Any, snippet: str) -> str:
    meta = getattr(tree, "meta", None)
    if meta is None or getattr(meta, "empty", True):
        return tree.data  # type: ignore[no-any-return]
    return _short(snippet[meta.start_pos : meta.end_pos])


def _conv(t: Any, snippet: str) -> Expr:
    d = t.data
    if d == "expr_term":
        kids = _trees(t)
        toks = [c for c in t.children if not _is_tree(c)]
        if toks and str(toks[0]) == "(":
            return _conv(kids[0], snippet)
        if len(kids) == 1:
            return _conv(kids[0], snippet)
        return Other("expression", _source(t, snippet))
    if d == "identifier":
        return Trav(str(t.children[0]), ())
    if d == "literal_value":
        word = str(t.children[0])
        return Lit({"true": True, "false": False, "null": None}[word])
    if d == "int_lit":
        return Lit(int(str(t.children[0])))
    if d == "float_lit":
        return Lit(float(str(t.children[0])))
    if d == "string":
        return _string(t, snippet)
    if d in ("heredoc_template", "heredoc_template_trim"):
        return _heredoc(str(t.children[0]), trim=d.endswith("trim"), source=_source(t, snippet))
    if d == "tuple":
        return Tup(tuple(_conv(c, snippet) for c in _trees(t)))
    if d == "object":
        items = []
        for elem in _trees(t):
            key_tree, value_tree = _trees(elem)[0], _trees(elem)[-1]
            items.append((_key(key_tree, snippet), _conv(value_tree, snippet)))
        return Obj(tuple(items))
    if d == "function_call":
        names = [str(c.children[0]) for c in t.children if _is_tree(c) and c.data == "identifier"]
        args_tree = _first_tree(t, "arguments")
        args: tuple[Expr, ...] = ()
        expand = False
        if args_tree is not None:
            args = tuple(_conv(c, snippet) for c in _trees(args_tree))
            expand = any(not _is_tree(c) and str(c) == "..." for c in args_tree.children)
        return Call("::".join(names), args, expand)
    if d in ("get_attr_expr_term", "index_expr_term"):
        base_tree, step_tree = _trees(t)[0], _trees(t)[-1]
        base = _conv(base_tree, snippet)
        step = _step(step_tree, snippet)
        if step is None:
            return Other("expression", _source(t, snippet))
        if isinstance(base, Trav):
            return Trav(base.root, (*base.steps, step))
        if isinstance(base, Access):
            return Access(base.base, (*base.steps, step))
        return Access(base, (step,))
    if d == "conditional":
        a, b, c = _trees(t)
        return Cond(_conv(a, snippet), _conv(b, snippet), _conv(c, snippet))
    if d == "binary_op":
        kids = _trees(t)
        left = _conv(kids[0], snippet)
        term = kids[1]  # binary_term: binary_operator, operand
        op_tree, operand = _trees(term)[0], _trees(term)[-1]
        op = "".join(str(c).strip() for c in op_tree.children)
        return BinOp(op, left, _conv(operand, snippet))
    if d == "unary_op":
        op = str(t.children[0])
        operand = _conv(_trees(t)[0], snippet)
        if op == "-" and isinstance(operand, Lit) and isinstance(operand.value, int | float):
            return Lit(-operand.value)
        if op == "!":
            return Not(operand)
        return Other("expression", _source(t, snippet))
    return Other(d, _source(t, snippet))


def _step(t: Any, snippet: str) -> Step | None:
    if t.data == "get_attr":
        kid = _trees(t)[0]
        return ("attr", str(kid.children[0]))
    if t.data == "braces_index":
        return ("index", _conv(_trees(t)[0], snippet))
    if t.data == "short_index":
        tok = [c for c in t.children if not _is_tree(c)][-1]
        return ("index", Lit(int(str(tok))))
    return None


def _key(t: Any, snippet: str) -> Expr:
    """An object key: a bare name is a literal string, anything else an expression."""
    kids = _trees(t)
    if not kids:
        return Lit(str(t.children[0]))
    k = kids[0]
    if k.data == "keyword":
        return Lit(str(k.children[0]))
    if k.data == "expr_term":
        inner = _trees(k)
        toks = [c for c in k.children if not _is_tree(c)]
        if len(inner) == 1 and not toks and inner[0].data == "identifier":
            return Lit(str(inner[0].children[0]))
        if len(inner) == 1 and not toks and inner[0].data == "literal_value":
            return Lit(str(inner[0].children[0]))
    return _conv(k, snippet)


def _string(t: Any, snippet: str) -> Expr:
    parts: list[str | Expr] = []
    for part in t.children:
        if not _is_tree(part):
            continue  # the quotes
        for piece in part.children:
            if _is_tree(piece):
                if piece.data == "interpolation":
                    parts.append(_conv(_trees(piece)[0], snippet))
                else:  # %{ if } / %{ for } directives
                    return Other("template directive", _source(t, snippet))
            else:
                tok = str(piece)
                kind = getattr(piece, "type", "")
                if kind == "ESCAPED_INTERPOLATION":
                    parts.append(tok[1:])  # $${ -> ${
                elif kind == "ESCAPED_DIRECTIVE":
                    parts.append(tok[1:])  # %%{ -> %{
                else:
                    parts.append(unescape(tok))
    return _template(parts)


def _template(parts: list[str | Expr]) -> Expr:
    merged: list[str | Expr] = []
    for p in parts:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] = merged[-1] + p
        else:
            merged.append(p)
    if not merged:
        return Lit("")
    if len(merged) == 1:
        # "${x}" alone is x itself, not its string form (HCL's template rule).
        return Lit(merged[0]) if isinstance(merged[0], str) else merged[0]
    return Template(tuple(merged))


_INTERP = re.compile(r"(?<!\$)\$\{|(?<!%)%\{")


def _heredoc(token: str, *, trim: bool, source: str) -> Expr:
    first_nl = token.find("\n")
    lines = token[first_nl + 1 :].split("\n")
    # The last element is "" (trailing newline); the one before it is the closing marker.
    while lines and lines[-1].strip() == "":
        lines.pop()
    body_lines = lines[:-1]
    if trim:
        indents = [len(x) - len(x.lstrip(" \t")) for x in body_lines if x.strip()]
        cut = min(indents) if indents else 0
        body_lines = [x[cut:] for x in body_lines]
    body = "\n".join(body_lines) + ("\n" if body_lines else "")
    if _INTERP.search(body):
        return Other("heredoc template", source)
    return Lit(body.replace("$${", "${").replace("%%{", "%{"))


# ---------------------------------------------------------------- JSON syntax (.tf.json)


def json_template(s: str) -> Expr:
    """A JSON string in a .tf.json file is a template: "${var.x}-suffix"."""
    if "${" not in s and "%{" not in s:
        return Lit(s)
    parts: list[str | Expr] = []
    pos = 0
    while True:
        m = _TEMPLATE_START.search(s, pos)
        if m is None:
            parts.append(s[pos:])
            break
        tok = m.group()
        parts.append(s[pos : m.start()])
        if tok in ("$${", "%%{"):
            parts.append(tok[1:])
            pos = m.end()
            continue
        if tok == "%{":
            return Other("template directive", _short(s))
        try:
            close = skip_code(s, m.end(), len(s), stop_at_newline=False)
        except ScanError:
            return Other("template", _short(s))
        if close >= len(s) or s[close] != "}":
            return Other("template", _short(s))
        try:
            parts.append(parse_expression(s[m.end() : close]))
        except ExprError:
            return Other("template", _short(s))
        pos = close + 1
    return _template([p for p in parts if p != ""])


_TEMPLATE_START = re.compile(r"\$\$\{|%%\{|\$\{|%\{")


def _short(s: str) -> str:
    """Source text to show in a message: sensitive() arguments hidden, one line, shortened."""
    s = " ".join(hide_sensitive(s).split())
    return s if len(s) <= 80 else s[:77] + "..."


# ---------------------------------------------------------------- sensitive() arguments
#
# What is passed to sensitive() is a secret even when the code spells it out
# (`sensitive("hunter2")`): no message may show it. `show` prints such a call as
# `sensitive(...)`, the source text kept for an unevaluated expression (`Other.text`) has the
# arguments cut out, and a parse error in an expression that calls sensitive() quotes nothing.

_SENSITIVE_CALL = re.compile(r"(?<!\w)sensitive\s*\(")
HIDDEN = "sensitive(...)"


def hide_sensitive(text: str) -> str:
    """`text` (HCL source) with the arguments of every sensitive(...) call cut out. When the
    end of a call cannot be found, everything after its opening parenthesis is cut."""
    out: list[str] = []
    pos = 0
    while True:
        m = _SENSITIVE_CALL.search(text, pos)
        if m is None:
            out.append(text[pos:])
            return "".join(out)
        out.append(text[pos : m.start()] + HIDDEN)
        try:
            close = skip_code(text, m.end(), len(text), stop_at_newline=False)
        except ScanError:
            return "".join(out)
        if close >= len(text) or text[close] != ")":
            return "".join(out)
        pos = close + 1


def from_json(value: Any) -> Expr:
    """A JSON value in a .tf.json file as an expression (strings are templates)."""
    if isinstance(value, str):
        return json_template(value)
    if isinstance(value, dict):
        return Obj(tuple((Lit(k), from_json(v)) for k, v in value.items() if k != "//"))
    if isinstance(value, list):
        return Tup(tuple(from_json(v) for v in value))
    return Lit(value)


# ---------------------------------------------------------------- showing expressions


def show(expr: Expr) -> str:
    """Source-like text of an expression (for traversals: `tags["Name"]`, `aws_x.y[0]`)."""
    if isinstance(expr, Lit):
        if isinstance(expr.value, str):
            return _quote(expr.value)
        if expr.value is None:
            return "null"
        if isinstance(expr.value, bool):
            return "true" if expr.value else "false"
        return str(expr.value)
    if isinstance(expr, Trav):
        return expr.root + _steps(expr.steps)
    if isinstance(expr, Access):
        return show(expr.base) + _steps(expr.steps)
    if isinstance(expr, Call):
        if expr.name == "sensitive":
            return HIDDEN
        return f"{expr.name}({', '.join(show(a) for a in expr.args)}{'...' if expr.expand else ''})"
    if isinstance(expr, Other):
        return expr.text
    if isinstance(expr, Template):
        inner = "".join(
            p.replace('"', '\\"') if isinstance(p, str) else "${" + show(p) + "}"
            for p in expr.parts
        )
        return f'"{inner}"'
    if isinstance(expr, Tup):
        return "[" + ", ".join(show(x) for x in expr.items) + "]"
    if isinstance(expr, Obj):
        return "{" + ", ".join(f"{show(k)} = {show(v)}" for k, v in expr.items) + "}"
    if isinstance(expr, Cond):
        return f"{show(expr.cond)} ? {show(expr.then)} : {show(expr.other)}"
    if isinstance(expr, BinOp):
        return f"{show(expr.left)} {expr.op} {show(expr.right)}"
    return "!" + show(expr.operand)


def _steps(steps: tuple[Step, ...]) -> str:
    out = []
    for kind, val in steps:
        if kind == "attr":
            out.append(f".{val}")
        else:
            out.append(f"[{show(val) if not isinstance(val, str) else _quote(val)}]")
    return "".join(out)


def _quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
