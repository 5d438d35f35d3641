#!/usr/bin/env python3
"""Benchmark the source map (gatekeeper/source/) on a generated 1 MB root module.

Generates a root module of about 1 MB of .tf across 200 files (resources with tags built from
locals and merge(), variables, moved blocks, a few local modules called with for_each and
count), builds a synthetic `terraform plan -json` log over it, and times
`build_source_map` in a fresh process. Next to it, in the same run: the time to read the same
files, and python-hcl2 parsing the same bytes whole (what a naive implementation does).

Scenarios:
  typical   every resource is in the plan; 10% of them are destroyed or replaced
  worst     every resource is destroyed (tags, lifecycle and count read for each)

Usage: python scripts/bench_source.py [--size 1000000] [--files 200] [--keep DIR]
Budget: each scenario must map in under 5 s (exit 1 otherwise).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

BUDGET_S = 5.0

_RESOURCE = """
resource "aws_instance" "{name}" {{
  count         = {count}
  ami           = "ami-{n:08x}"
  instance_type = var.instance_type
  subnet_id     = "subnet-{n:06d}"
  user_data     = <<-EOT
    #!/bin/bash
    echo "node {name} $${{HOSTNAME}}" > /etc/motd
  EOT
  tags = merge(local.common_{group}, {{
    Name    = "{name}-${{count.index}}"
    Service = "{service}"
    Tier    = "{tier}"
  }})

  lifecycle {{
    ignore_changes = [ami, tags["Owner"]]
  }}
}}
"""

_SG = """
resource "aws_security_group" "{name}" {{
  name        = "{name}"
  description = "security group {n} for {service}"
  tags        = {{ env = "{env}", Name = "{name}" }}

  ingress {{
    from_port   = {port}
    to_port     = {port}
    protocol    = "tcp"
    cidr_blocks = ["10.{a}.{b}.0/24"]
  }}
}}
"""

_LOCALS = """
locals {{
  common_{group} = {{
    env   = "{env}"
    team  = "{team}"
    Owner = var.owner
  }}
}}
"""

_MODULE_CALL = """
module "{name}" {{
  source   = "./modules/{module}"
  for_each = toset(["a", "b"])
  env      = "{env}"
  name     = "{name}-${{each.key}}"
}}
"""

_MODULE = """
variable "env" {{
  type = string
}}

variable "name" {{
  type = string
}}

resource "aws_sns_topic" "topic" {{
  name = var.name
  tags = {{ env = var.env, Name = var.name }}
}}

resource "aws_sqs_queue" "queue" {{
  count = 2
  name  = "${{var.name}}-${{count.index}}"
  tags  = {{ env = var.env }}
}}
"""

_HEADER = """
variable "instance_type" {
  type    = string
  default = "t3.micro"
}

variable "owner" {
  type = string
}

provider "aws" {
  region = "eu-west-1"

  default_tags {
    tags = {
      ManagedBy = "terraform"
    }
  }
}
"""


def generate(root: str, size: int, files: int, seed: int = 7) -> list[str]:
    """Write the module tree; return the resource addresses."""
    rng = random.Random(seed)
    os.makedirs(root, exist_ok=True)
    addresses: list[str] = []
    per_file = size // files
    groups = [f"g{i}" for i in range(20)]
    for mod in ("web", "data", "ops"):
        os.makedirs(os.path.join(root, "modules", mod), exist_ok=True)
        with open(os.path.join(root, "modules", mod, "main.tf"), "w") as fh:
            fh.write(_MODULE.format())
    n = 0
    for i in range(files):
        parts: list[str] = []
        if i == 0:
            parts.append(_HEADER)
        if i < len(groups):
            env = rng.choice(["prod", "staging", "dev"])
            parts.append(_LOCALS.format(group=groups[i], env=env, team=f"team-{i}"))
        if i % 40 == 1:
            module = ("web", "data", "ops")[(i // 40) % 3]
            name = f"svc_{i}"
            parts.append(
                _MODULE_CALL.format(name=name, module=module, env=rng.choice(["prod", "dev"]))
            )
            for key in ("a", "b"):
                addresses.append(f'module.{name}["{key}"].aws_sns_topic.topic')
                addresses += [f'module.{name}["{key}"].aws_sqs_queue.queue[{c}]' for c in (0, 1)]
        while sum(len(p) for p in parts) < per_file:
            n += 1
            if n % 3:
                name = f"node_{n}"
                count = rng.randint(1, 3)
                parts.append(
                    _RESOURCE.format(
                        name=name,
                        n=n,
                        count=count,
                        group=rng.choice(groups),
                        service=f"svc-{rng.randint(1, 99)}",
                        tier=rng.choice(["web", "app", "db"]),
                    )
                )
                addresses += [f"aws_instance.{name}[{c}]" for c in range(count)]
            else:
                name = f"sg_{n}"
                parts.append(
                    _SG.format(
                        name=name,
                        n=n,
                        env=rng.choice(["prod", "dev"]),
                        service=f"svc-{n}",
                        port=rng.choice([22, 80, 443, 5432]),
                        a=n % 250,
                        b=(n // 250) % 250,
                    )
                )
                addresses.append(f"aws_security_group.{name}")
        with open(os.path.join(root, f"file_{i:03d}.tf"), "w") as fh:
            fh.write("".join(parts))
    return addresses


def plan_log(addresses: list[str], destroy_ratio: float, seed: int = 11) -> bytes:
    rng = random.Random(seed)
    lines = [{"@level": "info", "type": "version", "terraform": "1.9.0", "ui": "1.2"}]
    for addr in addresses:
        r = rng.random()
        action = (
            ("delete" if r < destroy_ratio / 2 else "replace") if r < destroy_ratio else "create"
        )
        rtype = addr.split(".")[-2].split("[")[0]
        lines.append(
            {
                "@level": "info",
                "@message": f"{addr}: Plan to {action}",
                "type": "planned_change",
                "change": {
                    "resource": {
                        "addr": addr,
                        "module": "",
                        "resource_type": rtype,
                        "resource_name": "x",
                        "implied_provider": "aws",
                    },
                    "action": action,
                },
            }
        )
    lines.append({"@level": "info", "@message": "Plan", "type": "change_summary", "changes": {}})
    return "\n".join(json.dumps(x) for x in lines).encode() + b"\n"


_MAPPER = """
import json, sys, time
t0 = time.perf_counter()
from gatekeeper.plan.parse import parse_plan
from gatekeeper.policy.model import ProductionPolicy
from gatekeeper.source.mapper import build_source_map
plan = parse_plan(open(sys.argv[1], "rb").read(), label="p", path=sys.argv[1])
t1 = time.perf_counter()
prod = ProductionPolicy()
m = build_source_map([plan], {"p": sys.argv[2]}, production=prod, repo_root=sys.argv[2],
                     cwd=sys.argv[2])
t2 = time.perf_counter()
located = sum(1 for f in m.values() if f.location is not None)
tagged = sum(1 for f in m.values() if f.tags)
print(json.dumps({"map_s": t2 - t1, "total_s": t2 - t0, "facts": len(m),
                  "located": located, "tagged": tagged}))
"""

_READ = """
import os, sys, time
t0 = time.perf_counter()
n = 0
for dirpath, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith(".tf"):
            with open(os.path.join(dirpath, name), encoding="utf-8") as fh:
                n += len(fh.read())
print(time.perf_counter() - t0)
"""

_HCL2 = """
import os, sys, time
t0 = time.perf_counter()
import hcl2
for name in sorted(os.listdir(sys.argv[1])):
    if name.endswith(".tf"):
        with open(os.path.join(sys.argv[1], name), encoding="utf-8") as fh:
            hcl2.parses_to_tree(fh.read())
print(time.perf_counter() - t0)
"""


def _py(code: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True
    )
    return out.stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1_000_000, help="bytes of .tf in the root")
    ap.add_argument("--files", type=int, default=200)
    ap.add_argument("--keep", metavar="DIR", help="generate into DIR and keep it")
    ap.add_argument("--skip-hcl2", action="store_true", help="skip the slow whole-parse baseline")
    args = ap.parse_args()
    work = args.keep or tempfile.mkdtemp(prefix="gk-bench-")
    try:
        root = os.path.join(work, "root")
        addresses = generate(root, args.size, args.files)
        tf_bytes = sum(
            os.path.getsize(os.path.join(root, f)) for f in os.listdir(root) if f.endswith(".tf")
        )
        print(
            f"root module: {tf_bytes:,} bytes of .tf in {args.files} files (+3 local modules), "
            f"{len(addresses):,} resource instances"
        )
        read_s = float(_py(_READ, root))
        print(f"baseline  read the files:                 {read_s:7.3f} s")
        hcl2_s = None
        if not args.skip_hcl2:
            hcl2_s = float(_py(_HCL2, root))
            print(f"baseline  python-hcl2 parse of every file: {hcl2_s:7.3f} s")
        worst = 0.0
        for name, ratio in (("typical", 0.10), ("worst", 1.0)):
            plan_path = os.path.join(work, f"plan-{name}.jsonl")
            with open(plan_path, "wb") as fh:
                fh.write(plan_log(addresses, ratio))
            r = json.loads(_py(_MAPPER, plan_path, root))
            worst = max(worst, r["map_s"])
            vs = f", {r['map_s'] / hcl2_s:.2f}x the whole parse" if hcl2_s else ""
            print(
                f"{name:8}  source map ({r['facts']:,} changes, {r['tagged']:,} with tags): "
                f"{r['map_s']:7.3f} s  ({r['map_s'] / read_s:.0f}x reading{vs}; "
                f"process total with imports {r['total_s']:.3f} s)"
            )
        ok = worst < BUDGET_S
        print(f"budget {BUDGET_S:.1f} s: {'ok' if ok else 'EXCEEDED'} (slowest {worst:.3f} s)")
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
