#!/usr/bin/env python3
"""Benchmark: `gatekeeper check --format json` on four plan shapes vs a plain JSON decode.

One run generates every shape, runs each side in its own process (as a user runs it) and
prints wall time and peak RSS, best of N, with the ratios against the baseline measured in
the same run. Not a test: figures depend on the machine; the ratios are what to compare.

Shapes (issue 17):
- corpus: real resource_changes from fixtures/corpus replicated under new addresses, with
  planned_values, prior_state and configuration sections as Terraform writes them;
- worst: 100k changes, all in resource_changes, none no-op, half prod-tagged (~132 MiB);
- estate: 50k resources, all listed (planned_values, prior_state, no-op changes), 20 real;
- log: a 100k-change `terraform plan -json` log (~87 MiB); baseline `json.loads` per line.
Then: a small plan end to end vs `python -c pass`, `--version` and `--help`, and the worst
shape at 10k/100k/300k changes (time and memory against the file size).

    python scripts/bench_plan.py [--quick] [--repeat 3] [--keep DIR]
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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "fixtures" / "corpus"
SMALL = ROOT / "fixtures" / "terraform" / "replace_prod_db" / "plan.json"
TEMPLATES = (
    "infracost/terraform_v0.14_aws_modules.json",
    "tfcompliance/aws_2deletes_tags_drift_tf100.json",
    "regula/aws_stage_prod_tags.json",
    "tfreveal/advanced_4replaces_delete_sensitive.json",
    "checkov/aws_oidc_modules_data_tags.json",
    "infracost/azure_express_route_sensitive.json",
)
MIB = 1024 * 1024
GOAL_TIME, GOAL_MEM = 0.15, 0.35


def _templates() -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in TEMPLATES:
        doc = json.loads((CORPUS / name).read_text())
        out.extend(doc.get("resource_changes", []))
    return out


def _write_array(fh: TextIO, items: Iterator[Any]) -> None:
    """A JSON array written item by item: the generator never holds the whole document."""
    fh.write("[")
    for i, item in enumerate(items):
        if i:
            fh.write(",")
        fh.write(json.dumps(item, separators=(",", ":")))
    fh.write("]")


def _write_plan(path: Path, sections: dict[str, Any]) -> None:
    """`{"format_version": ..., key: value-or-iterator, ...}` written in one pass."""
    with open(path, "w") as fh:
        fh.write('{"format_version":"1.2","terraform_version":"1.9.5"')
        for key, value in sections.items():
            fh.write(f',"{key}":')
            if isinstance(value, Iterator):
                _write_array(fh, value)
            else:
                fh.write(json.dumps(value, separators=(",", ":")))
        fh.write("}")


def gen_corpus(path: Path, n: int) -> None:
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
    _write_plan(
        path,
        {
            "planned_values": {"root_module": {"resources": planned}},
            "resource_changes": iter(changes),
            "prior_state": {
                "format_version": "1.0",
                "values": {"root_module": {"resources": prior}},
            },
            "configuration": {"root_module": {"resources": config}},
        },
    )


# Terraform's action lists, none of them no-op: deletes and replaces (destructive, gated when
# prod-tagged), updates and creates.
_WORST_ACTIONS = (["delete"], ["delete", "create"], ["update"], ["create", "delete"], ["create"])


def _instance(i: int, prod: bool, secret: bool) -> dict[str, Any]:
    """An aws_instance-like object of about 800 bytes."""
    tags = {"Name": f"web-{i}", "env": "prod" if prod else "staging", "team": f"t{i % 13}"}
    obj: dict[str, Any] = {
        "id": f"i-{i:017x}",
        "ami": "ami-0c55b159cbfafe1f0",
        "instance_type": "t3.medium",
        "availability_zone": f"eu-west-1{'abc'[i % 3]}",
        "subnet_id": f"subnet-{i % 4096:08x}",
        "vpc_security_group_ids": [f"sg-{i % 977:08x}", "sg-0000beef"],
        "private_ip": f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}",
        "monitoring": bool(i % 2),
        "root_block_device": [{"volume_size": 20 + i % 50, "volume_type": "gp3"}],
        "tags": tags,
        "tags_all": dict(tags),
        "user_data": None,
        "arn": f"arn:aws:ec2:eu-west-1:123456789012:instance/i-{i:017x}",
        "metadata_options": [{"http_endpoint": "enabled", "http_tokens": "required"}],
        "credit_specification": [{"cpu_credits": "unlimited"}],
        "iam_instance_profile": f"profile-{i % 31}",
    }
    if secret:
        obj["user_data"] = f"password=s3cr3t-{i}"
    return obj


def _worst_change(i: int) -> dict[str, Any]:
    actions = _WORST_ACTIONS[i % len(_WORST_ACTIONS)]
    prod = i % 2 == 0
    secret = i % 100 == 3  # 1% carry a sensitive value: masking runs, but is not the shape
    before = None if actions == ["create"] else _instance(i, prod, secret)
    after = None if actions == ["delete"] else _instance(i, prod, secret)
    if after is not None:
        after["instance_type"] = "t3.large"
    sens = {"user_data": True} if secret else {}
    unknown: Any = {} if after is not None else False
    if after is not None and actions != ["update"]:
        unknown = {"id": True, "private_ip": True}
    mod = f"module.m{i % 97}"
    rc: dict[str, Any] = {
        "address": f"{mod}.aws_instance.r{i}" if i % 3 else f"aws_instance.r{i}",
        "mode": "managed",
        "type": "aws_instance",
        "name": f"r{i}",
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {
            "actions": actions,
            "before": before,
            "after": after,
            "after_unknown": unknown,
            "before_sensitive": sens if before is not None else False,
            "after_sensitive": sens if after is not None else False,
        },
    }
    if i % 3:
        rc["module_address"] = mod
    if len(actions) == 2:
        rc["change"]["replace_paths"] = [["ami"]]
        rc["action_reason"] = "replace_because_cannot_update"
    return rc


def gen_worst(path: Path, n: int) -> None:
    _write_plan(path, {"resource_changes": (_worst_change(i) for i in range(n))})


def gen_estate(path: Path, n: int, real: int = 20) -> None:
    """A real-shaped estate: every resource listed in planned_values, prior_state and
    resource_changes (as no-op), `real` of them really changing (a delete, replaces, updates)."""
    step = n // real

    def actions(i: int) -> list[str]:
        if i % step:
            return ["no-op"]
        return (["delete"], ["delete", "create"], ["update"], ["update"])[i // step % 4]

    def change(i: int) -> dict[str, Any]:
        obj = _instance(i, i % 7 == 0, i % 10 == 3)
        acts = actions(i)
        after = None if acts == ["delete"] else dict(obj)
        sens = {"user_data": True} if i % 10 == 3 else {}
        return {
            "address": f"aws_instance.r{i}",
            "mode": "managed",
            "type": "aws_instance",
            "name": f"r{i}",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "change": {
                "actions": acts,
                "before": obj,
                "after": after,
                "after_unknown": {} if after is not None else False,
                "before_sensitive": sens,
                "after_sensitive": sens if after is not None else False,
            },
        }

    def resource(i: int) -> dict[str, Any]:
        return {
            "address": f"aws_instance.r{i}",
            "mode": "managed",
            "type": "aws_instance",
            "name": f"r{i}",
            "provider_name": "registry.terraform.io/hashicorp/aws",
            "schema_version": 1,
            "values": _instance(i, i % 7 == 0, i % 10 == 3),
            "sensitive_values": {"tags": {}, "tags_all": {}},
        }

    def planned() -> Iterator[dict[str, Any]]:
        return (resource(i) for i in range(n) if actions(i) != ["delete"])

    with open(path, "w") as fh:
        fh.write('{"format_version":"1.2","terraform_version":"1.9.5",')
        fh.write('"planned_values":{"root_module":{"resources":')
        _write_array(fh, planned())
        fh.write('}},"resource_changes":')
        _write_array(fh, (change(i) for i in range(n)))
        fh.write(',"prior_state":{"format_version":"1.0","terraform_version":"1.9.5",')
        fh.write('"values":{"root_module":{"resources":')
        _write_array(fh, (resource(i) for i in range(n)))
        fh.write("}}}")
        fh.write(',"configuration":{"root_module":{}},"applyable":true,"complete":true}')


def _log_resource(i: int) -> dict[str, Any]:
    mod = f"module.m{i % 97}" if i % 3 else ""
    addr = f"{mod}.aws_instance.r{i}" if mod else f"aws_instance.r{i}"
    return {
        "addr": addr,
        "module": mod,
        "resource": f"aws_instance.r{i}",
        "implied_provider": "aws",
        "resource_type": "aws_instance",
        "resource_name": f"r{i}",
        "resource_key": None,
    }


def gen_log(path: Path, n: int) -> None:
    """A `terraform plan -json` log: refresh lines for existing objects, one planned_change
    per change, the summary. About 2.5 lines per change, as Terraform writes them."""
    words = ("create", "update", "delete", "replace", "update")
    add = change = remove = 0
    ts = "2026-11-24T03:02:09.071212Z"
    with open(path, "w") as fh:

        def line(doc: dict[str, Any]) -> None:
            fh.write(json.dumps(doc, separators=(",", ":")) + "\n")

        line(
            {
                "@level": "info",
                "@message": "Terraform 1.9.5",
                "@module": "terraform.ui",
                "@timestamp": ts,
                "terraform": "1.9.5",
                "type": "version",
                "ui": "1.2",
            }
        )
        for i in range(n):
            res = _log_resource(i)
            action = words[i % len(words)]
            if action != "create" and i % 4 != 1:
                for kind, verb in (
                    ("refresh_start", "Refreshing state..."),
                    ("refresh_complete", "Refresh complete"),
                ):
                    line(
                        {
                            "@level": "info",
                            "@message": f"{res['addr']}: {verb} [id=i-{i:017x}]",
                            "@module": "terraform.ui",
                            "@timestamp": ts,
                            "hook": {"resource": res, "id_key": "id", "id_value": f"i-{i:017x}"},
                            "type": kind,
                        }
                    )
            ch: dict[str, Any] = {"resource": res, "action": action}
            if action == "replace":
                ch["reason"] = "cannot_update"
            add += action in ("create", "replace")
            change += action == "update"
            remove += action in ("delete", "replace")
            line(
                {
                    "@level": "info",
                    "@message": f"{res['addr']}: Plan to {action}",
                    "@module": "terraform.ui",
                    "@timestamp": ts,
                    "change": ch,
                    "type": "planned_change",
                }
            )
        line(
            {
                "@level": "info",
                "@message": f"Plan: {add} to add, {change} to change, {remove} to destroy.",
                "@module": "terraform.ui",
                "@timestamp": ts,
                "changes": {"add": add, "change": change, "remove": remove, "operation": "plan"},
                "type": "change_summary",
            }
        )


GENERATORS: dict[str, Callable[[Path, int], None]] = {
    "corpus": gen_corpus,
    "worst": gen_worst,
    "estate": gen_estate,
    "log": gen_log,
}


# ------------------------------------------------------------------------ measuring


def measure(cmd: list[str]) -> tuple[float, int]:
    """(wall seconds, peak RSS bytes) of one child process; exits on a failed run."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr is not None else ""
    if code not in (0, 1):
        sys.exit(f"command failed ({code}): {' '.join(cmd)}\n{err}")
    return wall, usage.ru_maxrss * 1024


def best(cmd: list[str], repeat: int) -> tuple[float, int]:
    runs = [measure(cmd) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


PY = sys.executable
JSON_LOAD = "import json,sys; json.load(open(sys.argv[1], 'rb'))"
# Each message decoded and kept, as json.load keeps the document it decodes.
JSON_LINES = "import json,sys; [json.loads(line) for line in open(sys.argv[1], 'rb')]"


def gatekeeper(*args: str) -> list[str]:
    return [PY, "-m", "gatekeeper", *args]


def _mark(ok: bool) -> str:
    return "ok" if ok else "MISSED"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3, help="runs per figure (best is kept)")
    ap.add_argument(
        "--quick", action="store_true", help="1 run each, shapes at 1/4 size, linearity 10k/50k"
    )
    ap.add_argument(
        "--keep", metavar="DIR", help="generate the plans in DIR and keep them (reused)"
    )
    ap.add_argument("--only", help="comma-separated shapes to run (corpus,worst,estate,log)")
    ap.add_argument("--generate", nargs=3, metavar=("SHAPE", "N", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.generate:
        shape, n, out = args.generate
        GENERATORS[shape](Path(out), int(n))
        return
    repeat = 1 if args.quick else args.repeat
    scale = 4 if args.quick else 1
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="gk-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)

    def plan(name: str, n: int) -> Path:
        # Generated in a child: Linux keeps a process's peak RSS across fork and exec, so a
        # parent that held a generated plan would inflate every measured child's figure.
        path = tmp / f"{name}-{n}.json"
        if not path.exists():
            subprocess.run([PY, __file__, "--generate", name, str(n), str(path)], check=True)
        return path

    k = 1000 // scale  # thousands of changes at this scale
    shapes: list[tuple[str, str, int, str]] = [
        ("corpus", f"corpus-shaped, {100 * k // 1000}k changes", 100 * k, JSON_LOAD),
        ("worst", f"worst: {100 * k // 1000}k changes, none no-op", 100 * k, JSON_LOAD),
        ("estate", f"estate: {50 * k // 1000}k listed, 20 change", 50 * k, JSON_LOAD),
        ("log", f"plan -json log, {100 * k // 1000}k changes", 100 * k, JSON_LINES),
    ]
    if args.only:
        keep = set(args.only.split(","))
        shapes = [s for s in shapes if s[0] in keep]
    print(f"best of {repeat}; wall s / peak MiB; ratio = gatekeeper / baseline in this run")
    print(
        f"{'shape':32}{'MiB':>6}{'base s':>8}{'gk s':>7}{'time':>7}"
        f"{'base MiB':>9}{'gk MiB':>7}{'mem':>6}  goal {GOAL_TIME}x / {GOAL_MEM}x"
    )
    missed = 0
    for key, title, n, base_code in shapes:
        path = plan(key, n)
        size = path.stat().st_size
        b_t, b_m = best([PY, "-c", base_code, str(path)], repeat)
        g_t, g_m = best(gatekeeper("check", "--format", "json", str(path)), repeat)
        rt, rm = g_t / b_t, g_m / b_m
        ok = rt <= GOAL_TIME and rm <= GOAL_MEM
        missed += not ok
        print(
            f"{title:32}{size / MIB:6.0f}{b_t:8.2f}{g_t:7.2f}{rt:6.2f}x"
            f"{b_m / MIB:9.0f}{g_m / MIB:7.0f}{rm:5.2f}x  {_mark(ok)}"
        )

    r = max(repeat, 5)
    p_t, _ = best([PY, "-c", "pass"], r)
    s_t, _ = best(gatekeeper("check", "--format", "json", str(SMALL)), r)
    v_t, _ = best(gatekeeper("--version"), r)
    h_t, _ = best(gatekeeper("--help"), r)
    print(f"\nstartup, best of {r} (python -c pass: {p_t * 1000:.0f} ms)")
    for label, t, goal in (
        ("small plan (replace_prod_db) check --format json", s_t, 0.060),
        ("gatekeeper --version", v_t, 0.040),
        ("gatekeeper --help", h_t, 0.040),
    ):
        missed += t > goal
        print(
            f"  {label:50}{t * 1000:6.0f} ms  {t / p_t:4.1f}x pass  "
            f"goal {goal * 1000:.0f} ms  {_mark(t <= goal)}"
        )

    sizes = (10_000, 50_000) if args.quick else (10_000, 100_000, 300_000)
    print(f"\nlinearity, worst shape, best of {repeat}")
    print(
        f"  {'changes':>8}{'MiB':>7}{'wall s':>8}{'us/change':>10}{'peak MiB':>9}{'peak/file':>10}"
    )
    for n in sizes:
        path = plan("worst", n)
        size = path.stat().st_size
        t, m = best(gatekeeper("check", "--format", "json", str(path)), repeat)
        print(f"  {n:8}{size / MIB:7.0f}{t:8.2f}{t / n * 1e6:10.1f}{m / MIB:9.0f}{m / size:9.2f}x")
    print(f"\n{missed} figure(s) outside their goal")
    if not args.keep:
        for f in tmp.iterdir():
            f.unlink()
        tmp.rmdir()


if __name__ == "__main__":
    main()
