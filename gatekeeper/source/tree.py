"""The checkout on disk: the only module of the source map that reads the file system.

It lists a module's directory, reads its .tf / .tf.json (and, in the root module, .tfvars)
files, follows local module sources, and finds the git checkout holding the code. Code is
read only under the repository root and the source dir (real paths: a module source or
symlink leading outside is not followed), and no file over MAX_FILE_BYTES. Everything else
(splitting files into blocks, evaluation) is pure and gets text from here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gatekeeper.policy.model import ProductionPolicy
from gatekeeper.source.address import Address, Key, format_key
from gatekeeper.source.blocks import BlockRef, ModuleDef, Problem, SourceProblem, index_file
from gatekeeper.source.expr import Lit


def _skip_name(name: str) -> bool:
    # Terraform ignores editor backups and hidden files.
    return name.startswith((".", "#")) or name.endswith("~")


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
    """The module in `directory`: each Terraform file in it read and split into blocks
    (problems recorded, never raised). `within`: real paths the module's files must resolve
    under (symlinks are followed); default: the repository root."""
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
        index_file(mod, path, rel, name, text, tfvars=is_tfvars)
    return mod


def _rel(path: str, root: str) -> str:
    return os.path.relpath(path, root).replace(os.sep, "/")


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
        """The instance as an address prefix (module.a["k"].module.b[0]), for messages."""
        return ".".join(f"module.{n}{format_key(k)}" for n, k in self.path) or "the root module"

    def child(self, name: str, key: Key) -> Instance:
        """The instance `key` of module call `name` in this one (created and attached once)."""
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
        """The module in `directory`, read once."""
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
        except SourceProblem as exc:
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
        """The module instance at this path of (call name, key) from the root."""
        inst = self.root
        for name, key in modules:
            inst = inst.child(name, key)
        return inst


@dataclass(slots=True)
class Found:
    """Where an address's code is, in one checkout."""

    inst: Instance
    block: BlockRef | None
    notes: list[str]


def find(tree: SourceTree, addr: Address) -> Found:
    """Where `addr`'s block is in this checkout (block None when it is not there)."""
    inst = tree.instance(addr.modules)
    if inst.mod is None:
        return Found(inst, None, [])
    block = inst.mod.resources.get((addr.mode, addr.type, addr.name))
    return Found(inst, block, [])


def find_repo_root(directory: str, cwd: str) -> str:
    """The nearest directory at or above `directory` that holds `.git`, else `cwd` (the
    caller's current directory)."""
    return git_root(directory) or cwd


def git_root(directory: str) -> str | None:
    """The nearest directory at or above `directory` that holds `.git`; None if there is none."""
    cur = os.path.abspath(directory)
    while True:
        if os.path.exists(os.path.join(cur, ".git")):
            return cur
        parent = os.path.dirname(cur)
        if parent == cur:
            return None
        cur = parent


class Checkouts:
    """The SourceTree of each source dir, each read once: the repository root is
    `repo_root`, else the git checkout holding the dir, else `cwd`."""

    def __init__(self, production: ProductionPolicy, *, repo_root: str | None, cwd: str) -> None:
        self.production = production
        self.repo_root = repo_root
        self.cwd = cwd
        self._trees: dict[tuple[str, str], SourceTree] = {}

    def get(self, directory: str | None) -> SourceTree | None:
        """The tree of `directory`; None for None (no code given)."""
        if directory is None:
            return None
        found = self.repo_root or git_root(directory)
        root = found or self.cwd
        k = (os.path.abspath(directory), os.path.abspath(root))
        if k not in self._trees:
            # Without a repository root, code is read only under the source dir.
            self._trees[k] = SourceTree(
                directory, root, self.production, repo_known=found is not None
            )
        return self._trees[k]


def is_directory(path: str) -> bool:
    """Is `path` a directory? (for the command line's --source/--base-source)"""
    return os.path.isdir(path)
