"""Reading plan bytes: `terraform show -json` documents (typed msgspec structs, only the
fields the gate needs), with the checks that make a corrupted or foreign file fail closed,
and the dispatch to the streaming-log parser (`plan.log`).

Decoding keeps a 140 MB plan far below the time and memory of building dicts of everything.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

import msgspec

from gatekeeper.errors import PlanError
from gatekeeper.plan.model import (
    ABSENT,
    MAX_NESTING_HINT,
    SUPPORTED_MAJOR,
    Action,
    Plan,
    ResourceChange,
    map_actions,
    raw_value,
)

# ---------------------------------------------------------------- show -json structs


class _Change(msgspec.Struct):
    actions: list[str]
    before: msgspec.Raw = ABSENT
    after: msgspec.Raw = ABSENT
    after_unknown: msgspec.Raw = ABSENT
    before_sensitive: msgspec.Raw = ABSENT
    after_sensitive: msgspec.Raw = ABSENT
    replace_paths: list[list[str | int]] | None = None
    importing: msgspec.Raw = ABSENT


class _ResourceChange(msgspec.Struct):
    change: _Change
    address: str = ""  # Terraform 1.0.0 omitted it in resource_drift
    mode: str = "managed"
    type: str = ""
    name: str = ""
    index: int | str | None = None
    module_address: str | None = None
    provider_name: str = ""
    deposed: str | bool | None = None  # Terraform 0.12.0-dev wrote a bool here
    action_reason: str | None = None
    previous_address: str | None = None


class _ActionInvocation(msgspec.Struct):
    address: str = "(unnamed action)"
    type: str = ""
    provider_name: str = ""


class _StateResource(msgspec.Struct):
    address: str = ""
    mode: str = "managed"
    deposed_key: str | None = None
    values: msgspec.Raw = ABSENT  # a slice, decoded only for a destroyed object's tags


class _Module(msgspec.Struct):
    resources: list[_StateResource] = []
    child_modules: list[_Module] = []


class _Values(msgspec.Struct):  # planned_values, and prior_state's "values"
    root_module: _Module | None = None


class _State(msgspec.Struct):
    values: _Values | None = None


class _OutputChange(msgspec.Struct):
    actions: list[str] = []


class _ShowPlan(msgspec.Struct):
    format_version: str | None = None
    plan_format_version: str | None = None  # HCP Terraform's redacted plan JSON
    # Kept raw (a slice, not decoded): read only to cross-check a plan with no changes.
    planned_values: msgspec.Raw = ABSENT
    prior_state: msgspec.Raw = ABSENT
    output_changes: dict[str, _OutputChange] | None = None
    applyable: bool | None = None  # Terraform 1.8+
    complete: bool | None = None  # Terraform 1.8+: false when changes were deferred
    action_invocations: list[_ActionInvocation] | None = None
    terraform_version: str | None = None
    resource_changes: list[_ResourceChange] | None = None
    resource_drift: list[_ResourceChange] | None = None
    errored: bool = False


_show_decoder = msgspec.json.Decoder(_ShowPlan)
_values_decoder = msgspec.json.Decoder(_Values)
_state_decoder = msgspec.json.Decoder(_State)

# ---------------------------------------------------------------- reading bytes


def decode_text(data: bytes, path: str) -> bytes:
    """Return UTF-8 bytes without BOM. Accepts UTF-8 (BOM optional) and UTF-16 with BOM."""
    if not data or data.isspace():
        raise PlanError(
            f"{path}: the plan is empty", "run `terraform show -json tfplan > plan.json`"
        )
    if data.startswith(b"PK\x03\x04"):
        raise PlanError(
            f"{path}: this is a binary plan file (zip), not JSON",
            "convert it with `terraform show -json tfplan > plan.json`",
        )
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError as exc:
            raise PlanError(f"{path}: invalid UTF-16 at byte {exc.start}", _ENC_HINT) from None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    if b"\x00" in data[:4096]:
        raise PlanError(f"{path}: binary data, not a JSON plan", _ENC_HINT)
    return data


_ENC_HINT = "write the plan as UTF-8: `terraform show -json tfplan > plan.json`"
_UTF8_CHUNK = 1 << 22


def check_utf8(text: bytes, path: str) -> None:
    """Refuse invalid UTF-8 anywhere in the plan. The decoder checks only the strings it
    decodes: an object key it skips (a mangled `resource_changes`) or an attribute value kept
    raw would pass unseen, and a gated change could vanish with the key it sits under."""
    if text.isascii():  # the common case, checked at memory speed
        return
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(text)
    for start in range(0, len(text), _UTF8_CHUNK):
        carried = len(decoder.getstate()[0])  # a sequence split across chunks
        last = start + _UTF8_CHUNK >= len(text)
        try:
            decoder.decode(view[start : start + _UTF8_CHUNK], final=last)
        except UnicodeDecodeError as exc:
            where = start - carried + exc.start
            raise PlanError(f"{path}: invalid UTF-8 at byte {where}", _ENC_HINT) from None


_WRAPPER_HINT = (
    "set `terraform_wrapper: false` on hashicorp/setup-terraform, or call `terraform-bin`"
)
_TEXT_HINT = "give the JSON plan: `terraform show -json tfplan > plan.json`"


def parse_plan(data: bytes, *, label: str, path: str) -> Plan:
    """Parse a plan from bytes, detecting the format from the content."""
    import hashlib

    digest = hashlib.sha256(data).hexdigest()
    text = decode_text(data, path)
    check_utf8(text, path)
    # Sniff the format from the head only: slicing or stripping the whole plan would copy it.
    head = text[:65536]
    start = len(head) - len(head.lstrip())
    stripped = text[start : start + 65536]
    if stripped.startswith(b"[command]") or b"\n::set-output name=stdout::" in text[-65536:]:
        # The wrapper's capture is not the plan: it may be altered, and guessing is unsafe.
        raise PlanError(
            f"{path}: output captured through the hashicorp/setup-terraform wrapper", _WRAPPER_HINT
        )
    if stripped.startswith(b"{"):
        # Only the head of the first line: a `show -json` plan is one line of hundreds of MB.
        first_line_end = stripped.find(b"\n")
        first = stripped if first_line_end < 0 else stripped[:first_line_end]
        if _looks_like_log_line(first) and text.find(b"\n", start) >= 0:
            from gatekeeper.plan.log import parse_log

            return parse_log(text, label=label, path=path, digest=digest)
        return _parse_show(text, label=label, path=path, digest=digest)
    if stripped.startswith(b"["):
        # Log messages collected into one JSON array (as OpenTofu's equivalence tests store them).
        from gatekeeper.plan.log import parse_log_array

        return parse_log_array(text, label=label, path=path, digest=digest)
    stray = _stray_line_before_log(stripped)
    if stray is not None:
        raise stray_error(path, *stray)
    if _looks_like_text_plan(stripped):
        raise PlanError(
            f"{path}: this is the human-readable output of `terraform plan`", _TEXT_HINT
        )
    raise PlanError(f"{path}: not a JSON plan (it does not start with `{{`)", _TEXT_HINT)


_STDERR_HINT = (
    "do not redirect stderr into the log: run `terraform plan -json > plan.jsonl` "
    "without `2>&1` (warnings go to stderr)"
)


def _stray_line_before_log(head: bytes) -> tuple[int, bytes] | None:
    """(line number, line) of a non-JSON line ahead of `terraform plan -json` log lines: a
    stderr message mixed into the log, not the human-readable plan."""
    stray: tuple[int, bytes] | None = None
    for n, line in enumerate(head.split(b"\n")[:200], start=1):
        s = line.strip()
        if s.startswith(b"{") and _looks_like_log_line(s):
            return stray
        if s and stray is None:
            stray = (n, s)
    return None


def stray_error(path: str, n: int, line: bytes) -> PlanError:
    shown = line[:60].decode("utf-8", "replace")
    return PlanError(
        f"{path}:{n}: a line that is not JSON in a `terraform plan -json` log: {shown!r}",
        _STDERR_HINT,
    )


def _looks_like_log_line(line: bytes) -> bool:
    return b'"@level"' in line and (b'"type"' in line or b'"@message"' in line)


def _looks_like_text_plan(text: bytes) -> bool:
    head = text[:4000]
    return any(
        marker in head
        for marker in (
            b"Terraform will perform",
            b"OpenTofu will perform",
            b"Terraform used the selected providers",
            b"OpenTofu used the selected providers",
            b"No changes.",
            b"Refreshing state...",
            b"  # ",
        )
    )


def _decode_error(path: str, exc: Exception) -> PlanError:
    msg = str(exc)
    if "truncated" in msg or "Input data was truncated" in msg:
        return PlanError(
            f"{path}: the JSON ends early (truncated)",
            "the file was cut off: regenerate it with `terraform show -json tfplan > plan.json`",
        )
    if "recursion" in msg.lower() or "nested" in msg.lower() or "depth" in msg.lower():
        return PlanError(f"{path}: {MAX_NESTING_HINT}", _TEXT_HINT)
    if "utf-8" in msg.lower():
        return PlanError(f"{path}: invalid UTF-8 in the plan ({msg})", _ENC_HINT)
    return PlanError(f"{path}: not a valid Terraform plan: {msg}", _TEXT_HINT)


def _parse_show(text: bytes, *, label: str, path: str, digest: str) -> Plan:
    try:
        raw = _show_decoder.decode(text)
    except msgspec.ValidationError as exc:
        raise PlanError(
            f"{path}: JSON of the wrong shape for a Terraform plan: {exc}", _TEXT_HINT
        ) from None
    except (msgspec.DecodeError, RecursionError, ValueError) as exc:
        raise _decode_error(path, exc) from None
    fv = _check_format_version(raw, path)
    if raw.resource_changes is None and not bytes(raw.planned_values):
        raise PlanError(f"{path}: JSON, but not a Terraform plan (no resource_changes)", _TEXT_HINT)
    if raw.errored:
        raise PlanError(
            f"{path}: Terraform marked this plan as errored: it is incomplete",
            "fix the errors `terraform plan` reports; a failed plan cannot be gated",
        )
    rcs = raw.resource_changes or []
    listed = bool(rcs)
    prior = _prior_objects(raw, path) if any("delete" in rc.change.actions for rc in rcs) else {}
    # Drained as converted: each decoded struct is freed once its change is built, so the
    # two never both exist for the whole plan (less peak memory on a big plan).
    rcs.reverse()
    changes = tuple(
        _show_change(rcs.pop(), label, drift=False, prior=prior) for _ in range(len(rcs))
    )
    # Terraform 1.14 action invocations run provider side effects this program cannot judge:
    # report each as an unknown action, which fails closed.
    changes += tuple(_invocation(ai, label) for ai in raw.action_invocations or [])
    drift = tuple(_show_change(rc, label, drift=True) for rc in raw.resource_drift or [])
    _cross_check(raw, changes, path, listed=listed)
    return Plan(
        label=label,
        path=path,
        format="show-json",
        format_version=fv,
        terraform_version=raw.terraform_version,
        changes=changes,
        drift=drift,
        diagnostics=(),
        errored=raw.errored,
        sha256=digest,
    )


_DISAGREE_HINT = (
    "regenerate it with `terraform show -json tfplan > plan.json`: a plan whose parts "
    "disagree cannot be gated"
)


def _cross_check(
    raw: _ShowPlan, changes: tuple[ResourceChange, ...], path: str, *, listed: bool
) -> None:
    """Fail closed when the plan's parts disagree. Terraform omits `resource_changes` when
    nothing changes, so a missing key alone proves nothing; but one flipped bit in that key
    reads as "no changes". What Terraform writes elsewhere must then agree: `applyable` and
    `complete` (1.8+), `planned_values` and `prior_state` (each lists every managed resource,
    and every resource has a `resource_changes` entry, if only a no-op), `output_changes`.
    The sections are decoded only when `resource_changes` is empty: off the hot path."""

    def disagree(what: str) -> PlanError:
        return PlanError(
            f"{path}: the plan's parts disagree: {what}: it is corrupted or edited",
            _DISAGREE_HINT,
        )

    if raw.complete is False:
        raise PlanError(
            f"{path}: Terraform marked this plan incomplete (`complete: false`): some changes "
            "were deferred and are not in it",
            "apply the deferred changes first, or plan without deferral; an incomplete plan "
            "cannot be gated",
        )
    if raw.applyable is False and any(c.action is not Action.NOOP for c in changes):
        raise disagree("`applyable` is false, but resource_changes has changes")
    if listed:  # resource_changes lists something
        return
    planned = _managed(raw.planned_values, _values_decoder, path)
    if planned:
        raise disagree(
            f"planned_values lists {len(planned)} managed resource(s) ({planned[0]}), "
            "but there are no resource_changes"
        )
    prior = _managed(raw.prior_state, _state_decoder, path)
    if prior and raw.applyable is not False and not raw.resource_drift:
        # A destroy plan whose resource_changes went missing (a refresh-only plan either
        # reports drift or is not applyable).
        raise disagree(
            f"prior_state lists {len(prior)} managed resource(s) ({prior[0]}) that neither "
            "remain in planned_values nor appear in resource_changes"
        )
    outputs = any(set(o.actions) != {"no-op"} for o in (raw.output_changes or {}).values())
    if raw.applyable is True and not changes and not outputs and not raw.resource_drift:
        raise disagree("`applyable` is true, but nothing changes")


def _managed(section: msgspec.Raw, decoder: msgspec.json.Decoder[Any], path: str) -> list[str]:
    """Addresses of the managed resources a planned_values/prior_state section lists."""
    if raw_value(section) is None:
        return []
    try:
        doc = decoder.decode(section)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, ValueError) as exc:
        raise PlanError(f"{path}: a plan section of the wrong shape: {exc}", _TEXT_HINT) from None
    values = doc.values if isinstance(doc, _State) else doc
    root = values.root_module if values is not None else None
    out: list[str] = []
    stack = [root] if root is not None else []
    while stack:
        mod = stack.pop()
        out.extend(r.address for r in mod.resources if r.mode == "managed")
        stack.extend(mod.child_modules)
    return out


def _check_format_version(raw: _ShowPlan, path: str) -> str:
    # A plan with no format_version is not something Terraform writes: refuse it rather than
    # guess how to read it (fail closed).
    fv = raw.format_version or raw.plan_format_version
    if fv is None:
        raise PlanError(
            f"{path}: no format_version: not `terraform show -json` output",
            "give the unmodified output of `terraform show -json tfplan`",
        )
    # Bounded digits: int() of a 5,000-digit string raises (CPython's int/str limit).
    m = re.fullmatch(r"(\d{1,9})\.(\d{1,9})", fv)
    if not m:
        shown = fv if len(fv) <= 40 else fv[:37] + "..."
        raise PlanError(f"{path}: unrecognized format_version {shown!r}", _TEXT_HINT)
    if int(m.group(1)) not in SUPPORTED_MAJOR:
        raise PlanError(
            f"{path}: plan format_version {fv} is newer than this gatekeeper understands (0.x-1.x)",
            "upgrade plan-gatekeeper",
        )
    return fv


def _prior_objects(raw: _ShowPlan, path: str) -> dict[tuple[str, str | None], msgspec.Raw]:
    """(address, deposed key) -> the object's values in prior_state (raw slices)."""
    if raw_value(raw.prior_state) is None:
        return {}
    try:
        state = _state_decoder.decode(raw.prior_state)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, ValueError) as exc:
        raise PlanError(f"{path}: prior_state of the wrong shape: {exc}", _TEXT_HINT) from None
    root = state.values.root_module if state.values is not None else None
    out: dict[tuple[str, str | None], msgspec.Raw] = {}
    stack = [root] if root is not None else []
    while stack:
        mod = stack.pop()
        for r in mod.resources:
            values = raw_value(r.values)
            if r.mode == "managed" and values is not None:
                out[(r.address, r.deposed_key or None)] = values
        stack.extend(mod.child_modules)
    return out


def _show_change(
    rc: _ResourceChange,
    label: str,
    *,
    drift: bool,
    prior: dict[tuple[str, str | None], msgspec.Raw] | None = None,
) -> ResourceChange:
    actions = tuple(rc.change.actions)
    action, order = map_actions(actions)
    c = rc.change
    module_address = rc.module_address or ""
    deposed = rc.deposed if isinstance(rc.deposed, str) and rc.deposed else None
    prior_raw = prior.get((rc.address, deposed)) if prior and "delete" in actions else None
    return ResourceChange(
        plan=label,
        address=rc.address or _synth_address(rc),
        module_address=module_address,
        mode=rc.mode,
        type=rc.type,
        name=rc.name,
        index=rc.index,
        provider=rc.provider_name,
        actions=actions,
        action=action,
        replace_order=order,
        action_reason=rc.action_reason,
        replace_paths=tuple(tuple(p) for p in c.replace_paths) if c.replace_paths else (),
        deposed=deposed,
        previous_address=rc.previous_address,
        importing=raw_value(c.importing) is not None,
        drift=drift,
        prior_raw=prior_raw,
        before_raw=raw_value(c.before),
        after_raw=raw_value(c.after),
        after_unknown_raw=raw_value(c.after_unknown),
        before_sensitive_raw=raw_value(c.before_sensitive),
        after_sensitive_raw=raw_value(c.after_sensitive),
    )


def _synth_address(rc: _ResourceChange) -> str:
    base = f"{rc.type}.{rc.name}" if rc.mode != "data" else f"data.{rc.type}.{rc.name}"
    if rc.module_address:
        base = f"{rc.module_address}.{base}"
    if isinstance(rc.index, int):
        base += f"[{rc.index}]"
    elif isinstance(rc.index, str):
        base += f"[{json.dumps(rc.index)}]"
    return base


def _invocation(ai: _ActionInvocation, label: str) -> ResourceChange:
    return ResourceChange(
        plan=label,
        address=ai.address,
        module_address="",
        mode="action",
        type=ai.type,
        name=ai.address.rsplit(".", 1)[-1],
        index=None,
        provider=ai.provider_name,
        actions=("invoke",),
        action=Action.UNKNOWN,
        replace_order=None,
        action_reason=None,
        replace_paths=(),
        deposed=None,
        previous_address=None,
        importing=False,
        drift=False,
        has_attributes=False,
    )
