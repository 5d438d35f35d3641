#!/usr/bin/env python3
"""Benchmark: policies with many address globs (issue 13), to show the cost is linear.

For N = 1,000, 10,000 and 100,000 globs (`module.svcI.aws_*.xI*`, each one distinct, as a
big estate's generated policy would list them), loads the policy and classifies 1,000
destroyed addresses against it, in-process, and prints seconds per step and the ratio to the
N = 1,000 run of the same process. Linear: the ratio grows about 10x per 10x globs for the
load and stays about flat for the matching; a glob tried one by one would grow 10x per step.
Not a test: figures depend on the machine; compare the ratios.

    python scripts/bench_policy.py [--sizes 1000,10000,100000] [--lookups 1000]
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gatekeeper import globs
from gatekeeper.adapters.policy_file import load_policy_file


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--lookups", type=int, default=1000)
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    gc.disable()  # as gatekeeper.cli does for its one short batch run
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = os.path.join(tmp, f"policy-{n}.yml")
            with open(path, "w") as fh:
                fh.write("production:\n  addresses:\n")
                fh.writelines(f'    - "module.svc{i}.aws_*.x{i}*"\n' for i in range(n))
            t0 = time.perf_counter()
            policy = load_policy_file(path)
            t1 = time.perf_counter()
            addrs = policy.production.addresses
            globs.glob_set(addrs)  # compiled once per policy
            t15 = time.perf_counter()
            step = max(1, n // args.lookups)
            hits = 0
            for j in range(args.lookups):
                i = (j * step) % n
                hits += globs.first_match(addrs, f"module.svc{i}.aws_db.x{i}7") is not None
                hits += globs.first_match(addrs, f"module.other{j}.aws_db.x") is not None
            t2 = time.perf_counter()
            assert hits == args.lookups, hits
            size = os.path.getsize(path) / 1e6
            rows.append((n, size, t1 - t0, t15 - t1, t2 - t15))
    base = rows[0]
    head = ("globs", "MB", "load s", "x", "index s", "x", "match s", "x")
    print("{:>8} {:>6} {:>8} {:>6} {:>8} {:>6} {:>8} {:>6}".format(*head))
    for n, size, load, index, match in rows:
        print(
            f"{n:>8} {size:>6.2f} {load:>8.3f} {load / base[2]:>6.1f} "
            f"{index:>8.3f} {index / base[3]:>6.1f} {match:>8.3f} {match / base[4]:>6.1f}"
        )
    print(f"({2 * args.lookups} lookups per size, half of them hits)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
