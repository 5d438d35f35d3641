"""Every offline command README.md shows works as shown.

The commands are read from README.md itself: each line of a fenced ```sh block (backslash
continuations joined) and each inline `gatekeeper check ...` code span. Every command is either
run here (the offline `gatekeeper check` ones, in a temporary directory holding the files
they name, made from the real Terraform fixtures) or listed in ELSEWHERE with where it is
proven instead. A command added to the README that is neither fails the test, and so does an
expectation whose command is no longer in the README.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
FIXTURES = ROOT / "fixtures" / "terraform"
GATEKEEPER = str(Path(sys.executable).with_name("gatekeeper"))

# Offline commands: (exit code, a line the output must contain).
EXPECTED: dict[str, tuple[int, str]] = {
    "gatekeeper check --config fixtures/example-policy.yml "
    "fixtures/terraform/replace_prod_db/plan.json": (
        1,
        "BLOCKED: 1 destructive production change needs approval from distinct humans",
    ),
    "gatekeeper check --config .github/gatekeeper.yml plan.json": (
        1,
        "BLOCKED: 1 destructive production change needs approval from distinct humans",
    ),
    "gatekeeper check --plan plan.json": (
        0,
        "ALLOWED: the 1 destructive change is not production",
    ),
    "terraform show -json tfplan | gatekeeper check --plan -": (
        0,
        "ALLOWED: the 1 destructive change is not production",
    ),
    "gatekeeper check --plan stacks/a/plan.json --plan prod-eu=stacks/b/plan.jsonl "
    "--config .github/gatekeeper.yml --format json": (1, '  "decision": "block",'),
    "gatekeeper check --plan plan.jsonl --source infra/ --base-source base/infra/ --annotations": (
        0,
        "  ! null_resource.legacy_queue  delete  [plan plan.jsonl]  at base/infra/main.tf:7",
    ),
}

# Commands not run here, and where each is proven.
ELSEWHERE = {
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/python -m pytest": (
        ".ci/run runs it verbatim in a fresh clone"
    ),
    ".venv/bin/python scripts/bench_plan.py": "a benchmark of minutes, run by hand",
    "gatekeeper check --format json": "names what scripts/bench_plan.py times (on its own plan)",
    "GH_TOKEN=$(gh auth token) gatekeeper doctor --repo OWNER/REPO [--environment gatekeeper]": (
        "needs GitHub: tests/commands/test_doctor.py against tests/ghserver"
    ),
    "terraform plan -out=tfplan && terraform show -json tfplan > tfplan.json": (
        "Terraform's own commands (examples/apply.yml); fixtures/terraform are their output"
    ),
    'GITHUB_TOKEN=... gatekeeper verify --plan tfplan.json --commit "$GITHUB_SHA"': (
        "needs GitHub: tests/commands/test_verify.py against tests/ghserver"
    ),
    "terraform apply tfplan": "Terraform's own command, after verify (examples/apply.yml)",
    ".venv/bin/python scripts/bench_gate_matrix.py # --legs 300 --changes 30000 --repeat 3": (
        "a benchmark of minutes, run by hand"
    ),
    "gatekeeper sign --repo acme/infra --pr 1234 --key ~/.ssh/gatekeeper_sk --plan "
    'prod=plan.json --reason "INC-4711 rotate master credentials" --post': (
        "needs GitHub: tests/commands/test_sign.py against tests/ghserver"
    ),
}
# The newcomer command's install part runs in .ci/run (fresh clone); its `gatekeeper check`
# part is one of EXPECTED.
INSTALL_PREFIX = "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/"


def readme_commands() -> list[str]:
    commands: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```$", README, flags=re.S | re.M):
        joined = re.sub(r"\\\n\s*", "", block)
        commands += [" ".join(line.split()) for line in joined.splitlines() if line.strip()]
    for span in re.findall(r"`(gatekeeper check [^`]+)`", README):
        commands.append(" ".join(span.split()))
    return list(dict.fromkeys(commands))


def offline_form(command: str) -> str:
    return command.removeprefix(INSTALL_PREFIX)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files the README's commands name, from the real Terraform fixtures."""
    d = tmp_path_factory.mktemp("readme")
    (d / "fixtures").symlink_to(ROOT / "fixtures", target_is_directory=True)
    copies = {
        "plan.json": FIXTURES / "replace_prod_db" / "plan.json",
        "tfplan.json": FIXTURES / "replace_prod_db" / "plan.json",
        "plan.jsonl": FIXTURES / "removed_from_code" / "plan.jsonl",
        "stacks/a/plan.json": FIXTURES / "no_changes" / "plan.json",
        "stacks/b/plan.jsonl": FIXTURES / "replace_prod_db" / "plan.jsonl",
        ".github/gatekeeper.yml": ROOT / "fixtures" / "example-policy.yml",
    }
    for name, src in copies.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, d / name)
    shutil.copytree(FIXTURES / "removed_from_code" / "head", d / "infra")
    shutil.copytree(FIXTURES / "removed_from_code" / "base", d / "base" / "infra")
    return d


def test_every_readme_command_is_run_here_or_proven_elsewhere() -> None:
    found = readme_commands()
    assert len(found) >= 8, found
    unaccounted = [c for c in found if offline_form(c) not in EXPECTED and c not in ELSEWHERE]
    assert not unaccounted, f"README commands neither run nor proven elsewhere: {unaccounted}"
    gone = [c for c in [*EXPECTED, *ELSEWHERE] if c not in {offline_form(x) for x in found}]
    gone = [c for c in gone if c not in found]
    assert not gone, f"expectations for commands no longer in the README: {gone}"
    assert any(c.startswith(INSTALL_PREFIX) for c in found), "the newcomer command moved"


@pytest.mark.parametrize("command", list(EXPECTED))
def test_readme_command_works_as_shown(command: str, workdir: Path) -> None:
    code, line = EXPECTED[command]
    stdin = None
    if command.startswith("terraform show -json tfplan | "):
        # Terraform's half of the pipe: its output is the fixture Terraform wrote.
        stdin = (workdir / "tfplan.json").read_bytes()
        command = command.split(" | ", 1)[1]
    argv = shlex.split(command)
    assert argv[0] == "gatekeeper"
    proc = subprocess.run(
        [GATEKEEPER, *argv[1:]], cwd=workdir, input=stdin, capture_output=True, timeout=120
    )
    out = proc.stdout.decode()
    assert proc.returncode == code, f"$ {command}\n{out}\n{proc.stderr.decode()}"
    assert line in out.splitlines(), f"$ {command}\n{out}"
    assert "Traceback" not in proc.stderr.decode()


def test_the_newcomer_commands_output_is_what_the_readme_shows(workdir: Path) -> None:
    """The README's "It exits 1 and prints:" block is the command's output, line for line,
    up to its `...`."""
    m = re.search(r"^```sh\n(" + re.escape(INSTALL_PREFIX) + r"[^\n]*)\n```\n", README, re.M)
    assert m, "the newcomer command is not in the README"
    shown = README[m.end() :].split("```\n", 2)[1]
    assert "It exits 1 and prints" in README[m.end() : m.end() + 200]
    expected = shown.split("...\n")[0].splitlines()
    argv = shlex.split(offline_form(m.group(1)))
    proc = subprocess.run(
        [GATEKEEPER, *argv[1:]], cwd=workdir, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines()[: len(expected)] == expected
