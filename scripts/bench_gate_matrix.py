#!/usr/bin/env python3
"""Benchmark: one gate evaluation over a matrix of plan jobs (one bundle per leg).

Against the local GitHub test server (tests/ghserver, real HTTP), in the same run:
- matrix: a plan run of N legs (default 300), each uploading `gatekeeper-plan-<stack>` with
  one plan; C changes in total (default 30,000); the gate's `artifact-name` is the pattern
  `gatekeeper-plan-*`;
- baseline: the single-bundle path with the same plans and changes in one artifact
  `gatekeeper-plan` (what the hardened setup did before: every plan in one job).

Each side is `gatekeeper gate` on a pull_request_target event, run in its own process
(`--no-comment`: the evaluation and its check run), and prints the requests it sent (API and
blob downloads, as the server logged them), wall time and peak RSS, and the ratios. Both must
reach the same plan digest. Not a test: figures depend on the machine; compare the ratios.

    python scripts/bench_gate_matrix.py [--legs 300] [--changes 30000] [--repeat 3]
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
sys.path.insert(0, str(ROOT))

from gatekeeper.bundle.format import BUNDLE_FILE, MatrixLeg, build_bundle  # noqa: E402
from gatekeeper.plan.model import Plan, canonical_json  # noqa: E402
from gatekeeper.plan.parse import parse_plan  # noqa: E402
from tests.ghserver import GHServer  # noqa: E402
from tests.ghserver.state import make_zip  # noqa: E402

REPO = "acme/infra"
POLICY = "version: 1\n"  # built-in production rules: tags env=prod, prod in the address
WEBHOOK = ROOT / "tests" / "data" / "webhooks" / "pull_request.synchronize.22.json"


def _resource(stack: int, i: int) -> dict[str, Any]:
    """One resource change shaped like a real aws_instance entry; 1 in 25 is replaced, and
    one in every 10 stacks replaces a production one (tagged env=prod)."""
    tags = {"env": "prod" if stack % 10 == 0 else "staging", "team": f"t{stack % 7}"}
    before = {
        "ami": f"ami-{stack:04d}{i:04d}",
        "instance_type": "m5.large",
        "subnet_id": f"subnet-{i % 16:02d}",
        "tags": tags,
        "tags_all": dict(tags),
        "monitoring": True,
        "root_block_device": [{"volume_size": 50, "volume_type": "gp3", "encrypted": True}],
        "user_data": "#!/bin/sh\necho hello\n" * 4,
        "vpc_security_group_ids": [f"sg-{stack:03d}a", f"sg-{stack:03d}b"],
    }
    after = copy.deepcopy(before)
    after["instance_type"] = "m5.xlarge"
    replace = i % 25 == 0
    if replace:
        after["ami"] = f"ami-{stack:04d}{i:04d}-new"
    return {
        "address": f"module.app.aws_instance.web[{i}]",
        "module_address": "module.app",
        "mode": "managed",
        "type": "aws_instance",
        "name": "web",
        "index": i,
        "provider_name": "registry.terraform.io/hashicorp/aws",
        "change": {
            "actions": ["delete", "create"] if replace else ["update"],
            "before": before,
            "after": after,
            "after_unknown": {"id": True} if replace else {},
            "before_sensitive": {},
            "after_sensitive": {},
            **({"replace_paths": [["ami"]]} if replace else {}),
        },
        **({"action_reason": "replace_because_cannot_update"} if replace else {}),
    }


def make_plans(legs: int, changes: int) -> list[Plan]:
    per = [changes // legs + (1 if s < changes % legs else 0) for s in range(legs)]
    out = []
    for s, n in enumerate(per):
        doc = {
            "format_version": "1.2",
            "terraform_version": "1.9.5",
            "resource_changes": [_resource(s, i) for i in range(n)],
        }
        label = f"stack-{s:03d}"
        out.append(parse_plan(json.dumps(doc).encode(), label=label, path=f"{label}/plan.json"))
    return out


def bundle_zip(plans: list[Plan], pr: Any, matrix: MatrixLeg | None) -> bytes:
    doc = build_bundle(plans, repository=REPO, head_sha=pr.head_sha)
    doc.update(pr_number=pr.number, base_ref=pr.base_ref)
    if matrix is not None:
        doc["matrix"] = {"job": matrix.job, "legs": matrix.legs}
    return make_zip({BUNDLE_FILE: canonical_json(doc)})


def event(pr: Any) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(WEBHOOK.read_text())
    doc["repository"]["full_name"] = REPO
    doc["repository"]["name"] = "infra"
    p = doc["pull_request"]
    p["number"], p["head"]["sha"], p["head"]["ref"] = pr.number, pr.head_sha, pr.head_ref
    p["base"]["sha"], p["base"]["ref"] = pr.base_sha, pr.base_ref
    return doc


Result = tuple[float, float, int, int, str]


def gate_once(srv: GHServer, tmp: Path, pr: Any, artifact: str) -> Result:
    """(wall s, CPU s, peak RSS bytes, requests, plan digest) of one `gatekeeper gate`
    process. CPU time is the gate's own (user + system): on a loaded machine it varies less
    than wall time; the server's work (in this process) is in neither."""
    ev, out, summary = tmp / "event.json", tmp / "output", tmp / "summary.md"
    ev.write_text(json.dumps(event(pr)))
    out.write_text("")
    summary.write_text("")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp),
        "GITHUB_EVENT_NAME": "pull_request_target",
        "GITHUB_EVENT_PATH": str(ev),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_API_URL": srv.url,
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_TOKEN": srv.bot_token,
        "GITHUB_OUTPUT": str(out),
        "GITHUB_STEP_SUMMARY": str(summary),
        "GITHUB_RUN_ID": "1",
        "INPUT_ARTIFACT-NAME": artifact,
    }
    cmd = [sys.executable, "-m", "gatekeeper", "gate", "--no-comment"]
    log = tmp / "gate.log"
    srv.reset_log()
    start = time.perf_counter()
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 1):
        sys.exit(f"gate failed ({proc.returncode}):\n{log.read_text()}")
    lines = out.read_text().split("\n")
    digest = lines[lines.index(next(x for x in lines if x.startswith("plan-digest<<"))) + 1]
    if len(digest) != 64:
        sys.exit(f"no plan digest:\n{log.read_text()}")
    cpu = usage.ru_utime + usage.ru_stime
    return wall, cpu, usage.ru_maxrss * 1024, len(srv.log), digest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--legs", type=int, default=300)
    ap.add_argument("--changes", type=int, default=30_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    t0 = time.perf_counter()
    plans = make_plans(args.legs, args.changes)
    with GHServer() as srv, tempfile.TemporaryDirectory(prefix="gk-bench-matrix-") as tmpdir:
        tmp = Path(tmpdir)
        st = srv.state
        st.add_repo(REPO, files={".github/gatekeeper.yml": POLICY, "main.tf": "# base\n"})
        st.add_user("op", name="Op")
        st.set_permission("op", "write")
        commit = {"message": "Change", "author": "op", "contents": {"main.tf": "# x\n"}}
        matrix_pr = st.add_pull(author="op", head_ref="matrix", commits=[commit])
        single_pr = st.add_pull(author="op", head_ref="single", commits=[commit])

        run = st.add_workflow_run(matrix_pr.head_sha)
        st.add_job(run, "changes")
        leg = MatrixLeg("plan", args.legs)
        total_zip = 0
        for p in plans:
            data = bundle_zip([p], matrix_pr, leg)
            total_zip += len(data)
            st.add_artifact(run, f"gatekeeper-plan-{p.label}", data)
            st.add_job(run, f"plan ({p.label})")
        one = st.add_workflow_run(single_pr.head_sha)
        st.add_job(one, "terraform plan")
        single = bundle_zip(plans, single_pr, None)
        st.add_artifact(one, "gatekeeper-plan", single)
        del plans
        setup = time.perf_counter() - t0

        results: dict[str, list[Result]] = {"single": [], "matrix": []}
        for _ in range(args.repeat):
            results["single"].append(gate_once(srv, tmp, single_pr, "gatekeeper-plan"))
            results["matrix"].append(gate_once(srv, tmp, matrix_pr, "gatekeeper-plan-*"))
        srv.verify()

    mib = 1024 * 1024
    best = {
        k: (min(r[0] for r in v), min(r[1] for r in v), min(r[2] for r in v), v[0][3], v[0][4])
        for k, v in results.items()
    }
    s, m = best["single"], best["matrix"]
    if s[4] != m[4]:
        sys.exit(f"the digests differ: single {s[4]} matrix {m[4]}")
    print(
        f"{args.legs} bundles, {args.changes} changes ({total_zip / mib:.1f} MiB of zips; the "
        f"single bundle {len(single) / mib:.1f} MiB); setup {setup:.1f} s; best of {args.repeat}; "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    print(f"{'one gate evaluation':30}{'requests':>10}{'wall s':>9}{'CPU s':>9}{'peak MiB':>10}")
    for name, r in (("single bundle (baseline)", s), (f"matrix of {args.legs} bundles", m)):
        print(f"{name:30}{r[3]:10d}{r[0]:9.2f}{r[1]:9.2f}{r[2] / mib:10.0f}")
    print(
        f"ratio: requests {m[3] / s[3]:.1f}x ({(m[3] - s[3]) / args.legs:.2f} more per bundle), "
        f"wall {m[0] / s[0]:.2f}x, CPU {m[1] / s[1]:.2f}x, peak memory {m[2] / s[2]:.2f}x"
    )
    print(f"same plan digest: {m[4]}")


if __name__ == "__main__":
    main()
