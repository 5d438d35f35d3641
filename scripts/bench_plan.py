#!/usr/bin/env python3
"""Benchmark: `gatekeeper check --format json` on a 100,000-change plan vs plain json.load.

Generates a plan shaped like the corpus (real resource_changes from fixtures/corpus replicated
under new addresses, with planned_values, prior_state and configuration sections as Terraform
writes them), then runs each side in its own process and prints wall time and peak RSS, and the
ratios. Not a test: figures depend on the machine; the ratios are what to compare.

    python scripts/bench_plan.py [--changes 100000] [--keep PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fixtures" / "corpus"
TEMPLATES = (
    "infracost/terraform_v0.14_aws_modules.json",
    "tfcompliance/aws_2deletes_tags_drift_tf100.json",
    "regula/aws_stage_prod_tags.json",
    "tfreveal/advanced_4replaces_delete_sensitive.json",
    "checkov/aws_oidc_modules_data_tags.json",
    "infracost/azure_express_route_sensitive.json",
)


def _templates() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in TEMPLATES:
        doc = json.loads((CORPUS / name).read_text())
        out.extend(doc.get("resource_changes", []))
    return out


def generate(path: Path, n: int) -> None:
    templates = _templates()
    changes, planned, prior, config = [], [], [], []
    for i in range(n):
        t = copy.deepcopy(templates[i % len(templates)])
        t.pop("module_address", None)
        base = f"{t['type']}.r{i}"
        t["address"] = f"module.m{i % 97}.{base}" if i % 3 else base
        if i % 3:
            t["module_address"] = f"module.m{i % 97}"
        t["name"] = f"r{i}"
        t.pop("index", None)
        changes.append(t)
        values = t["change"].get("after") or t["change"].get("before") or {}
        planned.append(
            {
                "address": t["address"],
                "mode": "managed",
                "type": t["type"],
                "name": t["name"],
                "provider_name": t.get("provider_name", ""),
                "schema_version": 0,
                "values": values,
            }
        )
        # prior_state repeats `before`; a sample keeps the file near the 140 MB.
        if t["change"].get("before") is not None and i % 5 == 0:
            prior.append(
                {
                    "address": t["address"],
                    "mode": "managed",
                    "type": t["type"],
                    "name": t["name"],
                    "values": t["change"]["before"],
                }
            )
        if i % 10 == 0:
            config.append(
                {
                    "address": base,
                    "mode": "managed",
                    "type": t["type"],
                    "name": t["name"],
                    "expressions": {"tags": {"constant_value": {}}},
                }
            )
    doc = {
        "format_version": "1.2",
        "terraform_version": "1.9.5",
        "planned_values": {"root_module": {"resources": planned}},
        "resource_changes": changes,
        "prior_state": {"format_version": "1.0", "values": {"root_module": {"resources": prior}}},
        "configuration": {"root_module": {"resources": config}},
    }
    with open(path, "w") as fh:
        json.dump(doc, fh, separators=(",", ":"))


def measure(cmd: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS bytes, exit code) of one child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.stderr is not None:
        err = proc.stderr.read().decode()
        if proc.returncode not in (0, 1):
            sys.exit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss * 1024, proc.returncode


def best(cmd: list[str], repeat: int) -> tuple[float, int]:
    runs = [measure(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--changes", type=int, default=100_000)
    ap.add_argument("--keep", help="write the generated plan here and keep it")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    tmpdir = tempfile.mkdtemp(prefix="gk-bench-")
    path = Path(args.keep) if args.keep else Path(tmpdir) / "plan.json"
    if not path.exists():
        generate(path, args.changes)
    size = path.stat().st_size
    py = sys.executable
    baseline = [py, "-c", "import json,sys; json.load(open(sys.argv[1], 'rb'))", str(path)]
    gate = [py, "-m", "gatekeeper", "check", "--format", "json", str(path)]
    startup = [
        py,
        "-m",
        "gatekeeper",
        "check",
        "--format",
        "json",
        str(ROOT / "fixtures/terraform/replace_prod_db/plan.json"),
    ]
    b_time, b_mem = best(baseline, args.repeat)
    g_time, g_mem = best(gate, args.repeat)
    s_time, _ = best(startup, max(args.repeat, 5))
    mib = 1024 * 1024
    print(f"plan: {args.changes} resource changes, {size / mib:.1f} MiB ({path})")
    print(f"{'':28}{'wall s':>10}{'peak MiB':>12}")
    print(f"{'json.load (baseline)':28}{b_time:10.2f}{b_mem / mib:12.0f}")
    print(f"{'gatekeeper check --format json':28}{g_time:10.2f}{g_mem / mib:12.0f}")
    print(f"ratio time   {g_time / b_time:.2f}x  (target <= 0.25x)")
    print(f"ratio memory {g_mem / b_mem:.2f}x  (target <= 0.50x)")
    print(f"small plan (replace_prod_db) end to end: {s_time:.3f} s (target < 0.3 s)")
    if not args.keep:
        path.unlink()
        os.rmdir(tmpdir)


if __name__ == "__main__":
    main()
