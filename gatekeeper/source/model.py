"""What the Terraform source says about one resource change: where it is declared, tags that
resolve statically, lifecycle settings. Produced by `mapper.py`, consumed by the classifier
and the renderers. Pure data (named `model`, not `facts`: `pr/facts` are the pull request's)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class LocationKind(enum.StrEnum):
    """What a Location points at (its value is what reports print)."""

    RESOURCE = "resource"  # the resource block
    MODULE_CALL = "module_call"  # the call of a module whose code is not read
    REMOVED_BLOCK = "removed_block"  # the block in the base code (gone from the PR's)
    FILE = "file"  # a moved/removed block, or a file that does not parse


@dataclass(frozen=True, slots=True)
class Location:
    file: str  # relative to the repository root (or the --source dir when unknown)
    line: int
    end_line: int
    kind: LocationKind


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
