""".github/workflows/release.yml: what a release promises (multi-arch image with provenance,
PyPI by trusted publishing, a release commit whose action.yml runs the image by digest), with
least privilege per job and every action pinned by commit SHA. actionlint and zizmor lint it
in .ci/lint-action; this checks the properties they cannot know."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = yaml.safe_load((ROOT / ".github" / "workflows" / "release.yml").read_text("utf-8"))
JOBS: dict[str, Any] = WORKFLOW["jobs"]


def _steps(job: str) -> list[dict[str, Any]]:
    return list(JOBS[job]["steps"])


def _uses(job: str, action: str) -> dict[str, Any]:
    found = [s for s in _steps(job) if str(s.get("uses", "")).startswith(action + "@")]
    assert len(found) == 1, f"{job}: {action} used {len(found)} times"
    return found[0]


def test_runs_on_version_tags_only_with_no_default_permissions() -> None:
    assert WORKFLOW[True] == {"push": {"tags": ["v[0-9]+.[0-9]+.[0-9]+"]}}  # `on:`
    assert WORKFLOW["permissions"] == {}


def test_every_action_is_pinned_by_commit_sha() -> None:
    for name, job in JOBS.items():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), (name, step)


def test_least_privilege_per_job() -> None:
    assert {n: j["permissions"] for n, j in JOBS.items()} == {
        "test": {"contents": "read"},
        "image": {
            "contents": "read",
            "packages": "write",
            "id-token": "write",
            "attestations": "write",
        },
        "dist": {"contents": "read", "id-token": "write", "attestations": "write"},
        "pypi": {"id-token": "write"},
        "release": {"contents": "write"},
    }
    for job in JOBS.values():
        for step in job["steps"]:
            if str(step.get("uses", "")).startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False


def test_image_is_multi_arch_pushed_and_attested() -> None:
    build = _uses("image", "docker/build-push-action")
    assert build["with"]["platforms"] == "linux/amd64,linux/arm64"
    assert build["with"]["push"] is True
    _uses("image", "docker/setup-qemu-action")
    _uses("image", "docker/setup-buildx-action")
    assert _uses("image", "docker/login-action")["with"]["registry"] == "ghcr.io"
    attest = _uses("image", "actions/attest-build-provenance")["with"]
    assert attest["subject-digest"] == "${{ steps.build.outputs.digest }}"
    assert attest["push-to-registry"] is True
    assert JOBS["image"]["outputs"]["digest"] == "${{ steps.build.outputs.digest }}"


def test_pypi_by_trusted_publishing_after_tests() -> None:
    job = JOBS["pypi"]
    assert job["environment"]["name"] == "pypi"
    publish = _uses("pypi", "pypa/gh-action-pypi-publish")
    assert "password" not in publish.get("with", {}), "trusted publishing needs no token"
    assert set(job["needs"]) == {"image", "dist"}
    assert JOBS["image"]["needs"] == "test" and JOBS["dist"]["needs"] == "test"


def test_release_commit_points_action_yml_at_the_digest(tmp_path: Path) -> None:
    """The release job's own rewrite, run on this action.yml: exactly the image line changes,
    to `docker://IMAGE@DIGEST`, and the result is still the same action."""
    script = next(s["run"] for s in _steps("release") if "run" in s)
    lines = [x.strip() for x in script.splitlines()]
    rewrite = "\n".join(
        x for x in lines if x.startswith(("ref=", "sed -i", "grep -qxF", 'test "$(git diff'))
    )
    assert rewrite.count("\n") == 3, rewrite
    shutil.copy2(ROOT / "action.yml", tmp_path / "action.yml")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "action.yml"], cwd=tmp_path, check=True)
    digest = "sha256:" + "ab" * 32
    env = {"IMAGE": "ghcr.io/acme/plan-gatekeeper", "DIGEST": digest, "PATH": "/usr/bin:/bin"}
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", rewrite],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    before = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
    after = yaml.safe_load((tmp_path / "action.yml").read_text("utf-8"))
    assert before["runs"]["image"] == "Dockerfile"
    assert after["runs"]["image"] == f"docker://ghcr.io/acme/plan-gatekeeper@{digest}"
    after["runs"]["image"] = "Dockerfile"
    assert after == before
