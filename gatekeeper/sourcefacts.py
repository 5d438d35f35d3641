"""What the Terraform source says about one resource change: where it is declared, tags that
resolve statically, lifecycle settings. Produced by `source.py`, consumed by the classifier
and the renderers. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Location:
    file: str  # relative to the repository root (or the --source dir when unknown)
    line: int
    end_line: int
    kind: str  # "resource" | "module_call" | "removed_block" | "file"


@dataclass(frozen=True, slots=True)
class SourceFacts:
    location: Location | None = None
    # True when the block is gone from the PR's code (a delete of a removed resource).
    removed_from_code: bool = False
    # attribute name -> statically resolved tag map (e.g. {"tags": {"env": "prod"}})
    tags: dict[str, dict[str, str]] = field(default_factory=dict)
    # why some tags could not be resolved (each keeps the change "possibly production")
    unresolved: tuple[str, ...] = ()
    prevent_destroy: bool = False
    create_before_destroy: bool = False
    ignore_changes: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # moved/removed blocks that explain the change, parse errors
    # The tags above were read only from the PR's code (no base code describes the object):
    # they were written by the PR's author, so they may make the change production, never
    # clear it (the classifier keeps it possibly production).
    tags_from_pr_only: bool = False
