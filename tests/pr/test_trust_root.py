from __future__ import annotations

import pytest

from gatekeeper.policy.load import parse_policy
from gatekeeper.policy.model import Policy
from gatekeeper.pr.facts import ChangedFile
from gatekeeper.pr.trust_root import trust_root_changes

POLICY = Policy()


@pytest.mark.parametrize(
    ("path", "what"),
    [
        (".github/workflows/plan.yml", "gate path"),
        (".github/workflows/nested/deep.yaml", "gate path"),
        (".GitHub/Workflows/x.yml", "gate path"),  # case-insensitive: stricter
        (".github/actions/setup/action.yml", "gate path"),
        ("CODEOWNERS", "gate path"),
        (".github/CODEOWNERS", "gate path"),
        ("docs/CODEOWNERS", "gate path"),
        (".github/gatekeeper.yml", "policy file"),
        (".github/gatekeeper/allowed_signers", "allowed_signers file"),
    ],
)
def test_trust_root_paths(path: str, what: str) -> None:
    (hit,) = trust_root_changes([ChangedFile(path)], POLICY)
    assert hit.what == what and hit.path == path


@pytest.mark.parametrize(
    "path",
    ["main.tf", "modules/db/main.tf", "src/CODEOWNERS", ".github/dependabot.yml", "workflows/x"],
)
def test_ordinary_paths(path: str) -> None:
    assert trust_root_changes([ChangedFile(path)], POLICY) == ()


def test_rename_out_of_the_trust_root_counts() -> None:
    f = ChangedFile("old/plan.yml", "renamed", previous_path=".github/workflows/plan.yml")
    (hit,) = trust_root_changes([f], POLICY)
    assert hit.path == ".github/workflows/plan.yml" and hit.status == "renamed"


def test_policy_paths_follow_the_policy() -> None:
    p = parse_policy(
        b"gate_paths: ['infra/ci/**']\noverrides:\n  allowed_signers: sec/signers\n",
        source="t",
        path="sec/gatekeeper.yml",
    )
    files = [
        ChangedFile(x)
        for x in ("infra/ci/a.yml", "sec/signers", "sec/gatekeeper.yml", ".github/workflows/x")
    ]
    assert [h.path for h in trust_root_changes(files, p)] == [
        "infra/ci/a.yml",
        "sec/signers",
        "sec/gatekeeper.yml",
    ]


def test_unseen_files_count_as_a_trust_root_change() -> None:
    hits = trust_root_changes([ChangedFile("main.tf")], POLICY, truncated=True)
    assert [h.what for h in hits] == ["unseen changed files"]
