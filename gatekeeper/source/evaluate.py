"""Static evaluation of the expressions the gate needs: variables, locals, each/count, a few
pure functions. Anything that does not resolve statically is an `Unknown` with the reason,
which keeps a destructive change "possibly production" (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from gatekeeper.source.address import Key
from gatekeeper.source.blocks import AttrRef, BlockRef, ModuleDef, Problem, SourceProblem
from gatekeeper.source.expr import (
    Access,
    BinOp,
    Call,
    Cond,
    Expr,
    Lit,
    Not,
    Obj,
    Other,
    Template,
    Trav,
    Tup,
    show,
)
from gatekeeper.source.tree import Instance


class Unknown:
    """A value that does not resolve statically, with the reason why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"Unknown({self.reason!r})"


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
        """The attribute's value, or Unknown (with the reason) where it does not resolve."""
        try:
            expr = attr.expr()
        except SourceProblem as exc:
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
        """The expression's value (str, number, bool, None, list, dict) or Unknown."""
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
            s = to_string(v)
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
        """The value of var.`name` in the module instance, or Unknown; `strict`: root
        variables are Unknown."""
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
            except SourceProblem as exc:
                self.problems.append(exc.problem)
                return Unknown(str(exc.problem))
            if arg is not None:
                assert inst.parent is not None
                return self.attr(arg, self.call_ctx(inst, strict))
        try:
            default = decl.attr("default")
        except SourceProblem as exc:
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
            except SourceProblem as exc:
                # The message may quote the declaration's text, its default included.
                p = exc.problem
                problem = Problem(p.file, p.line, f"cannot read the declaration of var.{name}")
                self.problems.append(problem)
                return Unknown(f"var.{name}: {problem}: it may be sensitive, its value is not read")
            if not (isinstance(flag, Lit) and flag.value is False):
                return Unknown(f"var.{name} is sensitive ({block.where}): its value is not read")
        return None

    def call_ctx(self, inst: Instance, strict: bool) -> Ctx:
        """The context a module call's arguments are evaluated in: the caller's, with the
        call's each/count."""
        assert inst.parent is not None
        return Ctx(inst.parent, strict, inst.key, inst.call, inst.parent)

    def local(self, inst: Instance, name: str, strict: bool) -> Any:
        """The value of local.`name` in the module instance, or Unknown."""
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
        """The block's for_each as a map (a set becomes {v: v}), or Unknown."""
        memo_key = ("for_each", f"{owner.where}", strict)
        if memo_key in inst.memo:
            return inst.memo[memo_key]
        try:
            attr = owner.attr("for_each")
        except SourceProblem as exc:
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
        """each.value for the context's key, or Unknown."""
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


def to_string(v: Any) -> str | None:
    """How Terraform shows a scalar in a string; None for anything else (collections, Unknown)."""
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
        if len(args) != 1 or to_string(args[0]) is None:
            raise _NotStatic("expects one string")
        return op(to_string(args[0]) or "")

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
            s = to_string(x)
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
