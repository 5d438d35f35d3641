"""The source mapper: SourceFacts for every change of a plan, from its head (and base) code.

For each change: where its block is (the resource, the module call leading to code that is
not read, the removed block, a file that does not parse), its lifecycle settings, the tags
the code gives it (`tags.py`), whether this instance is still in the code (count, for_each),
and the moved/removed blocks that explain it. `build_source_map` is the entry point; the
package docstring (`gatekeeper/source/__init__.py`) says what is decided and why.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gatekeeper.plan.model import Action, Plan, ResourceChange
from gatekeeper.policy.model import ProductionPolicy
from gatekeeper.source.address import (
    Address,
    AddressError,
    Key,
    hcl_quoted_keys,
    parse_address,
)
from gatekeeper.source.blocks import BlockRef, Problem, SourceProblem
from gatekeeper.source.evaluate import Ctx, Evaluator, Unknown
from gatekeeper.source.expr import Expr, Lit, Trav, Tup, show
from gatekeeper.source.model import Location, LocationKind, SourceFacts
from gatekeeper.source.tags import Side, TagReader
from gatekeeper.source.tree import Checkouts, Found, Instance, SourceTree, find


def _module_call_location(inst: Instance) -> Location | None:
    """The innermost module call on the path that is still in the code."""
    if inst.nonlocal_call is not None:
        return inst.nonlocal_call.location(LocationKind.MODULE_CALL)
    cur: Instance | None = inst
    while cur is not None:
        if cur.call is not None:
            return cur.call.location(LocationKind.MODULE_CALL)
        cur = cur.parent
    return None


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
        self.hcl_keys = hcl_keys  # the plan's keys are HCL-quoted (address.py)
        self.ev = Evaluator()
        self.tags = TagReader(self.ev, production, have_base=base is not None)

    def facts(self, change: ResourceChange) -> SourceFacts | None:
        """What the code says about one change; None for a change that is neither a managed
        resource nor a data source."""
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
                location = head.block.location(LocationKind.RESOURCE)
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
                    location = Location(failed.file, failed.line, failed.line, LocationKind.FILE)
                    unresolved.append(
                        f"{failed}: the code of {addr} may be in this file, which does not "
                        "parse: its tags are unknown"
                    )
                    notes.append(f"source: {failed}")
                else:
                    removed = True
        if head is None and base is not None and base.block is not None:
            location = base.block.location(LocationKind.RESOURCE)  # only the base code was given
        elif removed:
            if base is not None and base.block is not None:
                location = base.block.location(LocationKind.REMOVED_BLOCK)
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
                tag_maps = self.tags.read(change, addr, sides, head, removed, unresolved, notes)
                unresolved.extend(self.tags.pr_only_reasons(addr, sides, base, tag_maps))
                pr_only = bool(sides) and base is None and all(s.name != "base" for s in sides)
                unresolved.extend(self.tags.override_reasons(addr, sides, tag_maps))
            if head is not None and head.block is not None:
                notes.extend(self._instance_notes(addr, head))
                notes.extend(self._override_notes(addr, head))
            moved_removed, explaining = self._moved_removed(addr, change)
            notes.extend(moved_removed)
            if (
                removed
                and explaining is not None
                and (location is None or location.kind is not LocationKind.REMOVED_BLOCK)
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
    ) -> list[Side]:
        h = Side("PR", head.inst, head.block) if head and head.block else None
        b = Side("base", base.inst, base.block) if base and base.block else None
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
        except SourceProblem as exc:
            self.ev.problems.append(exc.problem)
            return False, False, ()
        pd = cbd = False
        ic: list[str] = []
        ctx = Ctx(inst, strict=False)
        for lc in lifecycles:
            try:
                attrs = lc.body().attrs
            except SourceProblem as exc:
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
                except SourceProblem as exc:
                    self.ev.problems.append(exc.problem)
                    continue
                items = e.items if isinstance(e, Tup) else (e,)
                for item in items:
                    text = item.value if isinstance(item, Lit) else show(item)
                    ic.append(str(text))
        return pd, cbd, tuple(ic)

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
        except SourceProblem:
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
                except SourceProblem as exc:
                    out.append(f"source: {exc.problem}")
                    continue
                hit = _ref_matches(f_ref, inst.path, addr) or _ref_matches(t_ref, inst.path, addr)
                if previous is not None:
                    hit = hit or _ref_matches(f_ref, inst.path, previous)
                if hit:
                    out.append(f"moved block at {block.where}: from {show(f_ref)} to {show(t_ref)}")
                    where = where or block.location(LocationKind.FILE)
            for block in inst.mod.removed:
                try:
                    frm = block.attr("from")
                    if frm is None:
                        continue
                    f_ref = frm.reference()
                    destroy = self._removed_destroy(block)
                except SourceProblem as exc:
                    out.append(f"source: {exc.problem}")
                    continue
                if _ref_matches(f_ref, inst.path, addr):
                    what = (
                        "lifecycle.destroy = false: Terraform forgets it, the object is kept"
                        if destroy is False
                        else "Terraform destroys it"
                    )
                    out.append(f"removed block at {block.where} for {show(f_ref)}: {what}")
                    where = where or block.location(LocationKind.FILE)
        return out, where

    def _removed_destroy(self, block: BlockRef) -> bool | None:
        for lc in block.blocks("lifecycle"):
            a = lc.attr("destroy")
            if a is not None:
                e = a.expr()
                if isinstance(e, Lit) and isinstance(e.value, bool):
                    return e.value
        return None


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


def build_source_map(
    plans: Iterable[Plan],
    sources: Mapping[str, str],
    bases: Mapping[str, str] | None = None,
    *,
    production: ProductionPolicy | None = None,
    repo_root: str | None = None,
    cwd: str,
) -> dict[tuple[str, str], SourceFacts]:
    """(plan label, address) -> SourceFacts for every change of every plan that has code.

    `sources`/`bases` map plan labels to directories (the PR's and the base's checkout of
    that plan's root module). Paths are relative to `repo_root`, else to the git checkout
    holding the code, else to `cwd` (the caller's current directory)."""
    production = production or ProductionPolicy()
    bases = bases or {}
    out: dict[tuple[str, str], SourceFacts] = {}
    checkouts = Checkouts(production, repo_root=repo_root, cwd=cwd)

    for plan in plans:
        head_dir, base_dir = sources.get(plan.label), bases.get(plan.label)
        if head_dir is None and base_dir is None:
            continue
        mapper = SourceMapper(
            checkouts.get(head_dir),
            checkouts.get(base_dir),
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
