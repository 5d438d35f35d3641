"""The streaming `terraform plan -json` log: one JSON message per line, no attribute values.

Split from plan.py (which detects the format and calls in here); the model is plan.py's.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from gatekeeper.errors import PlanError
from gatekeeper.plan.model import (
    ABSENT,
    LOG_DEPOSED,
    Action,
    Diagnostic,
    Plan,
    ResourceChange,
    map_actions,
    raw_value,
)
from gatekeeper.plan.parse import stray_error


class _LogResource(msgspec.Struct):
    addr: str
    module: str = ""
    resource_type: str = ""
    resource_name: str = ""
    resource_key: int | str | None = None
    implied_provider: str = ""


class _LogChange(msgspec.Struct):
    resource: _LogResource
    action: str
    reason: str | None = None
    previous_resource: _LogResource | None = None
    importing: msgspec.Raw = ABSENT


class _LogDiag(msgspec.Struct):
    severity: str = "error"
    summary: str = ""
    detail: str = ""
    address: str | None = None


class _LogSummary(msgspec.Struct):
    add: int = 0
    change: int = 0
    remove: int = 0
    forget: int = 0
    operation: str = "plan"


class _LogLine(msgspec.Struct):
    # `@level`, `@message` and the rest are not read: left out, msgspec skips them undecoded.
    type: str | None = None
    terraform: str | None = None
    ui: str | None = None
    change: _LogChange | None = None
    changes: _LogSummary | None = None
    diagnostic: _LogDiag | None = None


_line_decoder = msgspec.json.Decoder(_LogLine)
_array_decoder = msgspec.json.Decoder(list[_LogLine])
_LOG_HINT = "give the raw output of `terraform plan -json` (one JSON object per line)"


_SPACE = frozenset(b" \t\n\r\x0b\x0c")  # what bytes.strip() strips


def _iter_lines(text: bytes) -> Iterator[tuple[int, memoryview]]:
    """(line number, line without surrounding whitespace) of each non-blank line, as slices
    of one memoryview: splitting the log would copy it whole into 250k byte strings."""
    view = memoryview(text)
    end = len(text)
    pos, n = 0, 0
    while pos <= end:
        nl = text.find(b"\n", pos)
        if nl < 0:
            nl = end
        n += 1
        s, e = pos, nl
        while s < e and text[s] in _SPACE:
            s += 1
        while e > s and text[e - 1] in _SPACE:
            e -= 1
        if s < e:
            yield n, view[s:e]
        pos = nl + 1


def parse_log(text: bytes, *, label: str, path: str, digest: str) -> Plan:
    """The plan a `terraform plan -json` log (one message per line) describes."""
    return _log_plan(_decode_lines(text, path), label, path, digest)


def parse_log_array(text: bytes, *, label: str, path: str, digest: str) -> Plan:
    """The plan a JSON array of log messages (as OpenTofu's equivalence tests store them)
    describes."""
    try:
        lines = _array_decoder.decode(text)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, ValueError) as exc:
        raise PlanError(
            f"{path}: a JSON array that is not a list of `terraform plan -json` messages: {exc}",
            _LOG_HINT,
        ) from None
    return _log_plan(((n, m) for n, m in enumerate(lines, 1)), label, path, digest)


def _decode_lines(text: bytes, path: str) -> Iterator[tuple[int, _LogLine]]:
    for n, line in _iter_lines(text):
        if line[0] != 0x7B:  # "{"
            raise stray_error(path, n, bytes(line))
        try:
            yield n, _line_decoder.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError, ValueError) as exc:
            raise PlanError(
                f"{path}:{n}: not a `terraform plan -json` log line: {exc}", _LOG_HINT
            ) from None


def _log_plan(messages: Iterator[tuple[int, _LogLine]], label: str, path: str, digest: str) -> Plan:
    changes: list[ResourceChange] = []
    drift: list[ResourceChange] = []
    diags: list[Diagnostic] = []
    version: str | None = None
    ui: str | None = None
    summary: _LogSummary | None = None
    for _n, msg in messages:
        t = msg.type
        if t == "version":
            version, ui = msg.terraform, msg.ui
        elif t == "planned_change" and msg.change is not None:
            # Every message is kept: with a deposed object Terraform sends two for one address.
            changes.append(_log_change(msg.change, label, drift=False))
        elif t == "resource_drift" and msg.change is not None:
            drift.append(_log_change(msg.change, label, drift=True))
        elif t == "change_summary":
            summary = msg.changes or _LogSummary()
        elif t == "diagnostic" and msg.diagnostic is not None:
            d = msg.diagnostic
            diags.append(Diagnostic(d.severity, d.summary, d.detail, d.address))
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        first = errors[0]
        where = f" ({first.address})" if first.address else ""
        detail = f": {first.detail}" if first.detail else ""
        raise PlanError(
            f"{path}: terraform plan failed{where}: {first.summary}{detail}",
            "fix the error Terraform reports; a failed plan cannot be gated",
        )
    if ui is not None and not ui.startswith(("0.", "1.")):
        raise PlanError(f"{path}: log ui version {ui} is newer than this gatekeeper understands")
    if summary is None:
        # Without the summary line the log may be cut off: some changes could be missing.
        raise PlanError(
            f"{path}: the plan log has no change_summary line: it is incomplete",
            "capture the whole output of `terraform plan -json`",
        )
    _check_summary(summary, changes, path)
    return Plan(
        label=label,
        path=path,
        format="plan-log",
        format_version=ui,
        terraform_version=version,
        changes=_mark_deposed(changes),
        drift=tuple(drift),
        diagnostics=tuple(diags),
        errored=False,
        sha256=digest,
    )


def _mark_deposed(changes: list[ResourceChange]) -> tuple[ResourceChange, ...]:
    """A delete that shares its address with another change of the same log is a deposed
    object's (Terraform sends it before the current object's replace): say so."""
    counts: dict[str, int] = {}
    for c in changes:
        counts[c.address] = counts.get(c.address, 0) + 1
    if all(n == 1 for n in counts.values()):
        return tuple(changes)
    out: list[ResourceChange] = []
    current: set[str] = {c.address for c in changes if c.action is not Action.DELETE}
    for c in changes:
        if counts[c.address] > 1 and c.action is Action.DELETE:
            if c.address in current:
                c = msgspec.structs.replace(c, deposed=LOG_DEPOSED)
            else:
                # Several deletes alone: the first may be the current object.
                current.add(c.address)
        out.append(c)
    return tuple(out)


def _check_summary(summary: _LogSummary, changes: list[ResourceChange], path: str) -> None:
    """Terraform's own counts must match the messages: a log that lost or gained a message
    (cut, edited, merged from two runs) fails closed. Replaces count as one add and one
    remove, as Terraform counts them."""
    add = sum(c.action in (Action.CREATE, Action.REPLACE) for c in changes)
    change = sum(c.action is Action.UPDATE for c in changes)
    remove = sum(c.action in (Action.DELETE, Action.REPLACE) for c in changes)
    if summary.operation != "plan":  # an apply log's counts are of what was applied
        return
    # A create-then-forget replace (Terraform 1.14+) is counted as a forget, not a remove.
    slack = summary.forget
    mismatch = [
        f"{summary.remove} to destroy but {remove} destroy messages"
        if not remove - slack <= summary.remove <= remove
        else "",
        f"{summary.add} to add but {add} create messages" if summary.add != add else "",
        f"{summary.change} to change but {change} update messages"
        if summary.change != change
        else "",
    ]
    found = [m for m in mismatch if m]
    if found:
        raise PlanError(
            f"{path}: the plan log's change_summary says {'; '.join(found)}: "
            "it is incomplete or edited",
            "capture the whole, unmodified output of `terraform plan -json` (stdout only)",
        )


def _log_change(c: _LogChange, label: str, *, drift: bool) -> ResourceChange:
    action, order = map_actions((c.action,), "plan-log")
    r = c.resource
    return ResourceChange(
        plan=label,
        address=r.addr,
        module_address=r.module,
        mode="data" if r.addr.split(".")[0] == "data" or ".data." in r.addr else "managed",
        type=r.resource_type,
        name=r.resource_name,
        index=r.resource_key,
        provider=r.implied_provider,
        actions=(c.action,),
        action=action,
        replace_order=order,
        action_reason=c.reason,
        replace_paths=(),
        deposed=None,
        previous_address=c.previous_resource.addr if c.previous_resource else None,
        importing=raw_value(c.importing) is not None,
        drift=drift,
        has_attributes=False,
    )
