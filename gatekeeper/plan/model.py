"""The plan model: one plan, its resource changes and the closed sets of actions, shared by
both parsers (`plan.parse` for `terraform show -json`, `plan.log` for `terraform plan -json`).

The large attribute values (`before`, `after`, ...) are kept as raw JSON slices until
something asks for them (`ResourceChange.before` and friends decode on demand).
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

import msgspec

from gatekeeper.errors import PlanError

# `show -json` format versions this program understands. 2.x would be a breaking change.
SUPPORTED_MAJOR = {0, 1}
MAX_NESTING_HINT = "the document nests deeper than any Terraform plan does"


class Action(enum.StrEnum):
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    REPLACE = "replace"
    NOOP = "no-op"
    FORGET = "forget"
    UNKNOWN = "unknown"


class ReplaceOrder(enum.StrEnum):
    DESTROY_BEFORE_CREATE = "destroy-then-create"
    CREATE_BEFORE_DESTROY = "create-then-destroy"
    UNKNOWN = "unknown"  # the streaming log says "replace" without an order


class ResourceChange(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One planned change to one resource instance (or deposed object).

    A frozen msgspec Struct rather than a dataclass: a big plan has 100,000 of these, and a
    frozen dataclass's __init__ costs several times more per object."""

    plan: str
    address: str
    module_address: str
    mode: str
    type: str
    name: str
    index: int | str | None
    provider: str
    actions: tuple[str, ...]
    action: Action
    replace_order: ReplaceOrder | None
    action_reason: str | None
    replace_paths: tuple[tuple[str | int, ...], ...]
    deposed: str | None
    previous_address: str | None
    importing: bool
    drift: bool
    # False for the streaming log, which carries no attribute values at all.
    has_attributes: bool = True
    # Raw JSON slices of the attribute values (zero-copy views into the plan bytes);
    # None stands for JSON null or absent.
    before_raw: msgspec.Raw | None = None
    after_raw: msgspec.Raw | None = None
    after_unknown_raw: msgspec.Raw | None = None
    before_sensitive_raw: msgspec.Raw | None = None
    after_sensitive_raw: msgspec.Raw | None = None
    # The destroyed object as prior_state lists it (show -json; delete/replace only): a second
    # copy of `before`, so a corrupted `before` cannot alone hide production tags.
    prior_raw: msgspec.Raw | None = None

    @property
    def destructive(self) -> bool:
        return self.action in (Action.DELETE, Action.REPLACE, Action.UNKNOWN)

    def before(self) -> Any:
        return _decode(self.before_raw, self, "before")

    def after(self) -> Any:
        return _decode(self.after_raw, self, "after")

    def after_unknown(self) -> Any:
        return _decode(self.after_unknown_raw, self, "after_unknown")

    def before_sensitive(self) -> Any:
        return _decode(self.before_sensitive_raw, self, "before_sensitive")

    def after_sensitive(self) -> Any:
        return _decode(self.after_sensitive_raw, self, "after_sensitive")

    def prior(self) -> Any:
        return _decode(self.prior_raw, self, "prior_state")


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: str
    summary: str
    detail: str
    address: str | None


@dataclass(frozen=True, slots=True)
class Plan:
    label: str
    path: str
    format: str  # "show-json" | "plan-log"
    format_version: str | None
    terraform_version: str | None
    changes: tuple[ResourceChange, ...]
    drift: tuple[ResourceChange, ...]
    diagnostics: tuple[Diagnostic, ...]
    errored: bool
    sha256: str


def plan_metadata(plan: Plan) -> dict[str, Any]:
    """What identifies a plan in the report and the bundle (the one serialisation of it)."""
    return {
        "label": plan.label,
        "path": plan.path,
        "format": plan.format,
        "format_version": plan.format_version,
        "terraform_version": plan.terraform_version,
        "sha256": plan.sha256,
    }


def _decode(raw: msgspec.Raw | None, change: ResourceChange, field: str) -> Any:
    """Decode one lazily kept attribute value. A value that cannot be read (a number out of
    range such as 1e400 or a 5,000-digit integer, nesting past the limit) is bad input: the
    plan is corrupted. Reported with where it is, never a crash."""
    if raw is None:
        return None
    try:
        value = msgspec.json.decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, ValueError) as exc:
        raise _value_error(change, field, str(exc)) from None
    return value


def _value_error(change: ResourceChange, field: str, why: str) -> PlanError:
    return PlanError(
        f"plan {change.plan}: {change.address}: {field} cannot be read: {why}",
        "the plan is corrupted: regenerate it with `terraform show -json tfplan > plan.json`",
    )


# An absent field decodes to an empty Raw; JSON null to Raw(b"null"). Both mean "no value".
ABSENT = msgspec.Raw(b"")

NULL_RAW = msgspec.Raw(b"null")


def raw_value(v: msgspec.Raw) -> msgspec.Raw | None:
    """The slice, or None when the field was absent or JSON null (both mean "no value")."""
    n = len(v)
    return None if n == 0 or (n == 4 and v == NULL_RAW) else v


# Terraform's `actions` lists, mapped to one action. Anything else is unknown (fail closed).
_ACTIONS: dict[tuple[str, ...], tuple[Action, ReplaceOrder | None]] = {
    ("create",): (Action.CREATE, None),
    ("read",): (Action.READ, None),
    ("update",): (Action.UPDATE, None),
    ("delete",): (Action.DELETE, None),
    ("no-op",): (Action.NOOP, None),
    ("forget",): (Action.FORGET, None),
    ("delete", "create"): (Action.REPLACE, ReplaceOrder.DESTROY_BEFORE_CREATE),
    ("create", "delete"): (Action.REPLACE, ReplaceOrder.CREATE_BEFORE_DESTROY),
    # Terraform 1.14+/OpenTofu can forget one object while creating its successor.
    ("create", "forget"): (Action.CREATE, None),
    ("forget", "create"): (Action.CREATE, None),
}

# Streaming-log action words (views/json/change.go). "move"/"import" are no-ops on the object.
_LOG_ACTIONS: dict[str, tuple[Action, ReplaceOrder | None]] = {
    "create": (Action.CREATE, None),
    "read": (Action.READ, None),
    "update": (Action.UPDATE, None),
    "delete": (Action.DELETE, None),
    "replace": (Action.REPLACE, ReplaceOrder.UNKNOWN),
    "noop": (Action.NOOP, None),
    "no-op": (Action.NOOP, None),
    "move": (Action.NOOP, None),
    "import": (Action.NOOP, None),
    "forget": (Action.FORGET, None),
    "remove": (Action.FORGET, None),
}


def map_actions(
    actions: tuple[str, ...], fmt: str = "show-json"
) -> tuple[Action, ReplaceOrder | None]:
    """The action (and replace order) Terraform's `actions` mean in a plan of format `fmt`
    (the streaming log writes one word per change). Anything else is unknown: fail closed."""
    if fmt == "plan-log":
        if len(actions) != 1:
            return (Action.UNKNOWN, None)
        return _LOG_ACTIONS.get(actions[0], (Action.UNKNOWN, None))
    return _ACTIONS.get(actions, (Action.UNKNOWN, None))


# The streaming log has no field for a deposed object: its delete shares the address of the
# current object's change. Such a delete is kept as its own entry under this key.
LOG_DEPOSED = "(key not in the plan log)"


def canonical_json(value: Any) -> bytes:
    """Canonical JSON used for digests: sorted keys, no spaces, ASCII."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode(
        "ascii"
    )
