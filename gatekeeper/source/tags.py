"""Which tags the code gives the object a change destroys: the tag attributes of its block
(override files merged), the AWS provider's default_tags for tags_all, and the reasons a
tag stays unknown. Written for SourceMapper, which owns the rest of a change's facts.

The PR's code is self-reported: where the base code does not describe the object, its tags
can make a change production, never clear it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from gatekeeper import globs
from gatekeeper.plan.model import Action, ResourceChange
from gatekeeper.policy.model import ProductionPolicy
from gatekeeper.source.address import Address
from gatekeeper.source.blocks import AttrRef, BlockRef, SourceProblem
from gatekeeper.source.evaluate import Ctx, Evaluator, Unknown, to_string
from gatekeeper.source.expr import Lit, Obj, Trav, show
from gatekeeper.source.tree import Found, Instance

_ABSENT = object()
_NOT_AWS = object()


@dataclass(frozen=True, slots=True)
class Side:
    """One checkout's block for the object being changed."""

    name: str  # "PR" | "base"
    inst: Instance
    block: BlockRef


class TagReader:
    """Reads the tags of one plan's changes; shares the mapper's Evaluator (and its problems)."""

    def __init__(self, ev: Evaluator, production: ProductionPolicy, *, have_base: bool) -> None:
        self.ev = ev
        self.production = production
        self.have_base = have_base  # --base-source was given
        self.tag_keys = {k.casefold() for k in production.tag_keys}

    def read(
        self,
        change: ResourceChange,
        addr: Address,
        sides: list[Side],
        head: Found | None,
        removed: bool,
        unresolved: list[str],
        notes: list[str],
    ) -> dict[str, dict[str, str]]:
        """{tag attribute: {key: value}} read from the sides' code; why a tag is unknown goes
        to `unresolved`, disagreements between the PR's and the base code to `notes`."""
        if not sides:
            if removed:
                hint = "" if self.have_base else " (give --base-source to read them)"
                unresolved.append(
                    f"tags of {addr} are unknown: its block was removed from the code{hint}"
                )
            elif head is not None and head.inst.mod is None and not unresolved:
                unresolved.append(f"tags of {addr} are unknown: {head.inst.missing}")
            elif not unresolved:
                unresolved.append(f"tags of {addr} are unknown: its code was not found")
            return {}
        if not self.have_base and change.action in (Action.DELETE, Action.REPLACE, Action.UNKNOWN):
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

    def pr_only_reasons(
        self, addr: Address, sides: list[Side], base: Found | None, tags: dict[str, dict[str, str]]
    ) -> list[str]:
        """The PR's code is self-reported: its tags can make the object being destroyed
        production, never clear it. When the base code does not describe the object, the
        change stays possibly production unless the PR's tags already make it production."""
        if not sides or any(s.name == "base" for s in sides):
            return []
        if any(self._is_prod(k, v) for m in tags.values() for k, v in m.items()):
            return []
        if base is None:
            # No --base-source: the PR's tags are used, with a note (see read).
            return []
        if base.inst.mod is None:
            why = f"in the base code, {base.inst.missing}"
        else:
            why = f"it is not in the base code{base.inst.mod.problem_hint()}"
        return [
            f"tags of the destroyed object come from the PR's code, not the base ({why}): "
            f"they can make {addr} production, never clear it"
        ]

    def override_reasons(
        self, addr: Address, sides: list[Side], tags: dict[str, dict[str, str]]
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

    def _side_tags(self, addr: Address, side: Side) -> tuple[dict[str, dict[str, str]], list[str]]:
        tags: dict[str, dict[str, str]] = {}
        why: list[str] = []
        inst, block = side.inst, side.block
        ctx = Ctx(inst, False, addr.key, block, inst)
        strict = Ctx(inst, True, addr.key, block, inst)
        try:
            attrs = _merged_attrs(side)
        except SourceProblem as exc:
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
            s = to_string(v)
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

    def _tags_all(self, side: Side, ctx: Ctx, provider: Any) -> Any:
        """tags_all = the AWS provider's default_tags merged with the resource's tags."""
        try:
            tags_attr = _merged_attrs(side).get("tags")
        except SourceProblem:
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
        except SourceProblem as exc:
            self.ev.problems.append(exc.problem)
            defaults = Unknown(str(exc.problem))
        if isinstance(defaults, Unknown):
            return Unknown(f"the provider's default_tags ({pblock.where}): {defaults.reason}")
        if isinstance(own, Unknown):
            return own
        if not isinstance(defaults, dict) or not isinstance(own, dict):
            return own
        return {**defaults, **own}

    def _provider_config(self, addr: Address, side: Side) -> Any:
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
        except SourceProblem as exc:
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
                except SourceProblem:
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
        except SourceProblem:
            return False
        if not isinstance(e, Obj):
            return False
        for k, v in e.items:
            key = k.value if isinstance(k, Lit) else show(k)
            if key == local_name and isinstance(v, Trav):
                alias = v.steps[0][1] if v.steps and v.steps[0][0] == "attr" else None
                return v.root, alias if isinstance(alias, str) else None
        return False


def _merged_attrs(side: Side) -> dict[str, AttrRef]:
    """The block's attributes as Terraform sees them: each override file (*_override.tf,
    override.tf, in lexical order) that configures the same resource replaces the attributes
    it sets. Raises SourceProblem."""
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
