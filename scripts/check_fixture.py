"""Checks one regenerated Terraform fixture against its expected.json (run by make-fixtures.sh).

Usage: check_fixture.py NAME EXPECTED_JSON OUT_DIR WORK_ROOT

expected.json:
  {"exit": "ok",
   "resource_changes": {ADDR: {"actions": [...], "action_reason": ..., "previous_address": ...,
                               "importing": {...}}},
   "checks": {CHECK_ADDR: "pass" | "fail" | "error" | "unknown"},       (optional)
   "log_changes": {ADDR: [ACTION, ...]},                                 (optional)
   "absent": [STRING, ...]}            (optional: e.g. an ephemeral secret given in plan-args)
  or {"exit": "error", "error_summary": "substring of an error diagnostic's summary",
      "errored_plan": true, "resource_changes": {...}}   (the last two: 1.15 wrote a plan file
                                                           marked errored; plan.json is checked)

`gate` (production addresses, for tests/test_fixtures_terraform_1_15.py) is not checked here.
A deposed object's key is "ADDR (deposed)" (its deposed key is random on every run). Keys other
than `actions` appear only where Terraform writes them: every one Terraform writes must be listed.
`log_changes` lists the planned_change actions of the streaming log per address, in any order
(a tainted current object and a deposed one give two messages for one address).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

OPTIONAL_KEYS = ("action_reason", "previous_address")


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _load_events(path: str, problems: list[str]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                events.append(json.loads(line))
            except ValueError as exc:
                problems.append(f"plan.jsonl line {n} is not JSON: {exc}")
    if not events or events[0].get("type") != "version":
        problems.append("plan.jsonl does not start with a version message")
    return events


def _plan_changes(plan: dict[str, Any], problems: list[str]) -> dict[str, dict[str, Any]]:
    got: dict[str, dict[str, Any]] = {}
    for rc in plan.get("resource_changes", []):
        key = rc["address"] + (" (deposed)" if rc.get("deposed") else "")
        if key in got:
            problems.append(f"{key} appears twice in resource_changes")
        entry: dict[str, Any] = {"actions": rc["change"]["actions"]}
        for k in OPTIONAL_KEYS:
            if k in rc:
                entry[k] = rc[k]
        if "importing" in rc["change"]:
            entry["importing"] = rc["change"]["importing"]
        got[key] = entry
    return got


def _compare(what: str, want: dict[str, Any], got: dict[str, Any], problems: list[str]) -> None:
    for key in sorted(set(want) | set(got)):
        if want.get(key) != got.get(key):
            problems.append(f"{what} {key}: expected {want.get(key)}, got {got.get(key)}")


def check(expected: dict[str, Any], out: str, work_root: str) -> list[str]:
    problems: list[str] = []
    events = _load_events(os.path.join(out, "plan.jsonl"), problems)
    for fn in ("plan.json", "plan.jsonl"):
        p = os.path.join(out, fn)
        if os.path.exists(p) and work_root in _read(p):
            problems.append(f"{fn} contains the temp dir path {work_root}")
        for secret in expected.get("absent", []):
            if os.path.exists(p) and secret in _read(p):
                problems.append(f"{fn} contains {secret!r}, which must be absent")
    errors = [
        e
        for e in events
        if e.get("type") == "diagnostic" and e.get("diagnostic", {}).get("severity") == "error"
    ]
    summaries = [e["diagnostic"].get("summary", "") for e in errors]
    plan_path = os.path.join(out, "plan.json")
    if expected["exit"] == "error":
        want = expected["error_summary"]
        if not any(want in s for s in summaries):
            problems.append(f"no error diagnostic with a summary containing {want!r}: {summaries}")
        if not expected.get("errored_plan"):
            return problems
        if not os.path.exists(plan_path):
            problems.append("expected an errored plan.json, there is none")
            return problems
    elif errors:
        problems.append(f"unexpected error diagnostics: {summaries}")
    plan = json.loads(_read(plan_path))
    if "format_version" not in plan:
        problems.append("plan.json has no format_version")
    errored = bool(plan.get("errored"))
    if errored != (expected["exit"] == "error"):
        problems.append(f"plan.json errored is {plan.get('errored')!r}")
    _compare("resource", expected["resource_changes"], _plan_changes(plan, problems), problems)
    if "checks" in expected:
        got_checks = {c["address"]["to_display"]: c["status"] for c in plan.get("checks", [])}
        _compare("check", expected["checks"], got_checks, problems)
    if "log_changes" in expected:
        log: dict[str, list[str]] = {}
        for e in events:
            if e.get("type") == "planned_change":
                ch = e["change"]
                log.setdefault(ch["resource"]["addr"], []).append(ch["action"])
        want_log = {k: sorted(v) for k, v in expected["log_changes"].items()}
        _compare("log", want_log, {k: sorted(v) for k, v in log.items()}, problems)
    # the streaming log must have one change summary (errored plans also end with one)
    summary = [e for e in events if e.get("type") == "change_summary"]
    if len(summary) != 1:
        problems.append(f"plan.jsonl has {len(summary)} change_summary messages, expected 1")
    return problems


def main(argv: list[str]) -> int:
    name, expected_path, out, work_root = argv
    with open(expected_path, encoding="utf-8") as fh:
        expected = json.load(fh)
    problems = check(expected, out, work_root)
    for p in problems:
        print(f"  {name}: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
