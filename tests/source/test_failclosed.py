"""Fail-closed source mapping: what the PR's code says about itself may only make the gate
stricter (S1), override files (S2), code nested too deeply (S4), files outside the repository
or too big (S5), .tfvars precedence (S6)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gatekeeper.cli import main
from gatekeeper.policy.model import ProductionPolicy
from gatekeeper.source import evaluate, mapper, tree
from gatekeeper.source.expr import ExprError, parse_attribute
from gatekeeper.source.model import SourceFacts
from tests.support.source_trees import analysis, facts_for, log_plan

PROD = ProductionPolicy()
PR_ONLY = "tags of the destroyed object come from the PR's code, not the base"


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def repo(tmp_path: Path, files: dict[str, str]) -> Path:
    """A checkout: files under tmp_path/repo, which holds .git."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    return write(root, files)


def gated(addr: str, action: str, f: dict[str, SourceFacts]) -> bool:
    return any(c.gated for c in analysis(log_plan((addr, action)), f, PROD).changes)


# ---------------------------------------------------------------- S1: the base's tags count

LOCAL_DEV = {
    "main.tf": 'module "x" {\n  source = "./modules/x"\n}\n',
    "modules/x/main.tf": (
        'resource "aws_instance" "this" {\n  count = 0\n  tags = { env = "dev" }\n}\n'
    ),
}
ADDR = "module.x.aws_instance.this[0]"


def test_delete_whose_base_module_is_not_read_does_not_take_the_prs_tags(
    tmp_path: Path,
) -> None:
    # Base: the module comes from the registry (code not read); the PR switches it to a
    # local module with count = 0 and env = "dev". The PR's tags must not clear the delete.
    head = repo(tmp_path / "h", LOCAL_DEV)
    base = repo(tmp_path / "b", {"main.tf": 'module "x" {\n  source = "org/x/aws"\n}\n'})
    plan = log_plan((ADDR, "delete"))
    f = facts_for(plan, head, base, production=PROD)
    (why,) = [u for u in f[ADDR].unresolved if u.startswith(PR_ONLY)]
    assert "'org/x/aws', whose code is not read" in why
    assert gated(ADDR, "delete", f)


def test_delete_not_found_in_the_base_stays_possibly_production(tmp_path: Path) -> None:
    head = repo(tmp_path / "h", LOCAL_DEV)
    base = repo(tmp_path / "b", {"main.tf": 'module "x" {\n  source = "./modules/x"\n}\n'})
    write(base, {"modules/x/main.tf": 'resource "aws_instance" "other" {\n}\n'})
    for action in ("delete", "replace"):
        f = facts_for(log_plan((ADDR, action)), head, base, production=PROD)
        assert any(
            u.startswith(PR_ONLY) and "not in the base code" in u for u in f[ADDR].unresolved
        )
        assert gated(ADDR, action, f)


def test_the_prs_tags_still_make_it_production_and_the_base_decides_when_found(
    tmp_path: Path,
) -> None:
    prod = {**LOCAL_DEV, "modules/x/main.tf": LOCAL_DEV["modules/x/main.tf"].replace("dev", "prod")}
    head = repo(tmp_path / "h", prod)
    base = repo(tmp_path / "b", {"main.tf": 'module "x" {\n  source = "org/x/aws"\n}\n'})
    f = facts_for(log_plan((ADDR, "delete")), head, base, production=PROD)
    assert f[ADDR].tags["tags"] == {"env": "prod"}
    assert not any(u.startswith(PR_ONLY) for u in f[ADDR].unresolved)
    # Found in the base: a delete reads the base only.
    base2 = repo(tmp_path / "b2", LOCAL_DEV)
    f = facts_for(log_plan((ADDR, "delete")), head, base2, production=PROD)
    assert f[ADDR].tags["tags"] == {"env": "dev"} and f[ADDR].unresolved == ()


# ---------------------------------------------------------------- S2: override files


def test_override_file_tags_replace_the_blocks(tmp_path: Path) -> None:
    head = repo(
        tmp_path,
        {
            "main.tf": 'resource "aws_instance" "a" {\n  ami  = "x"\n  tags = { env = "dev" }\n}\n',
            "prod_override.tf": 'resource "aws_instance" "a" {\n  tags = { env = "prod" }\n}\n',
        },
    )
    f = facts_for(log_plan(("aws_instance.a", "replace")), head, production=PROD)
    assert f["aws_instance.a"].tags["tags"] == {"env": "prod"}
    (c,) = analysis(log_plan(("aws_instance.a", "replace")), f, PROD).gated
    assert c.production


def test_override_files_apply_in_lexical_order_json_too(tmp_path: Path) -> None:
    head = repo(
        tmp_path,
        {
            "main.tf": 'resource "aws_instance" "a" {\n  tags = { env = "prod" }\n}\n',
            "a_override.tf": 'resource "aws_instance" "a" {\n  tags = { env = "prod" }\n}\n',
            "override.tf.json": '{"resource": {"aws_instance": {"a": {"tags": {"env": "qa"}}}}}',
        },
    )
    f = facts_for(log_plan(("aws_instance.a", "replace")), head, production=PROD)
    assert f["aws_instance.a"].tags["tags"] == {"env": "qa"}


@pytest.mark.parametrize(
    "override",
    [
        'module "x" {\n  env = "prod"\n}\n',
        'locals {\n  env = "prod"\n}\n',
    ],
)
def test_overrides_that_are_not_merged_leave_the_tags_unresolved(
    tmp_path: Path, override: str
) -> None:
    head = repo(
        tmp_path,
        {
            "main.tf": (
                'locals {\n  env = "dev"\n}\nmodule "x" {\n  source = "./m"\n  env = local.env\n}\n'
            ),
            "m/main.tf": (
                'variable "env" {}\nresource "aws_instance" "a" {\n  tags = { env = var.env }\n}\n'
            ),
            "override.tf": override,
        },
    )
    addr = "module.x.aws_instance.a"
    f = facts_for(log_plan((addr, "replace")), head, production=PROD)
    assert f[addr].tags["tags"] == {"env": "dev"}
    assert any("override file override.tf:1" in u for u in f[addr].unresolved)
    assert gated(addr, "replace", f)


def test_a_module_override_off_the_path_does_not_matter(tmp_path: Path) -> None:
    head = repo(
        tmp_path,
        {
            "main.tf": 'module "x" {\n  source = "./m"\n}\n',
            "m/main.tf": 'resource "aws_instance" "a" {\n  tags = { env = "dev" }\n}\n',
            "override.tf": 'module "other" {\n  source = "./elsewhere"\n}\n',
        },
    )
    addr = "module.x.aws_instance.a"
    f = facts_for(log_plan((addr, "replace")), head, production=PROD)
    assert f[addr].unresolved == ()


# ---------------------------------------------------------------- S4: nested too deeply


def test_deeply_nested_expression_is_a_parse_error_not_a_crash() -> None:
    with pytest.raises(ExprError, match="nested too deeply"):
        parse_attribute("tags = { env = " + "(" * 3000 + '"dev"' + ")" * 3000 + " }")


def deep_plan(tmp_path: Path, files: dict[str, str]) -> tuple[Path, Path]:
    head = repo(tmp_path, files)
    plan = tmp_path / "plan.jsonl"
    plan.write_text(
        '{"@level":"info","@message":"Terraform 1.5.0","type":"version","terraform":"1.5.0",'
        '"ui":"1.1"}\n'
        '{"@level":"info","@message":"x","type":"planned_change","change":{"resource":'
        '{"addr":"aws_instance.b","resource":"aws_instance.b","implied_provider":"aws",'
        '"resource_type":"aws_instance","resource_name":"b"},"action":"delete"}}\n'
        '{"@level":"info","@message":"Plan","type":"change_summary","changes":{"add":0,'
        '"change":0,"remove":1,"operation":"plan"}}\n'
    )
    return head, plan


@pytest.mark.parametrize(
    "files",
    [
        {
            "main.tf": 'resource "aws_instance" "b" {\n  tags = { env = '
            + "(" * 3000
            + '"dev"'
            + ")" * 3000
            + " }\n}\n"
        },
        {
            "main.tf.json": '{"resource": {"aws_instance": {"b": {"tags": {"env": "dev"}, "x": '
            + "[" * 100_000
            + "]" * 100_000
            + "}}}}"
        },
        {
            "main.tf": 'resource "aws_instance" "b" {\n  tags = { env = "dev" }\n  x = '
            + '"${' * 3000
            + "1"
            + '}"' * 3000
            + "\n}\n"
        },
    ],
    ids=["hcl-parens", "json-arrays", "hcl-interpolations"],
)
def test_deep_nesting_gates_exit_1(
    tmp_path: Path, files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    head, plan = deep_plan(tmp_path, files)
    code = main(["check", "--plan", str(plan), "--source", str(head)])
    out, err = capsys.readouterr()
    assert code == 1, err
    assert "nested too deeply" in out


def test_a_long_chain_of_locals_stays_unresolved(tmp_path: Path) -> None:
    chain = "\n".join(f"  l{i} = local.l{i - 1}" for i in range(1, 2500))
    head = repo(
        tmp_path,
        {
            "main.tf": f'locals {{\n  l0 = "dev"\n{chain}\n}}\n'
            'resource "aws_instance" "a" {\n  tags = { env = local.l2499 }\n}\n'
        },
    )
    f = facts_for(log_plan(("aws_instance.a", "delete")), head, production=PROD)
    assert f["aws_instance.a"].unresolved
    assert gated("aws_instance.a", "delete", f)


def test_recursion_anywhere_in_the_mapper_is_unresolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = repo(tmp_path, {"main.tf": 'resource "aws_instance" "a" {\n  tags = {}\n}\n'})

    def boom(*_: object) -> None:
        raise RecursionError

    monkeypatch.setattr(mapper.SourceMapper, "_moved_removed", boom)
    f = facts_for(log_plan(("aws_instance.a", "delete")), head, production=PROD)
    assert "nested too deeply" in f["aws_instance.a"].unresolved[0]


# ---------------------------------------------------------------- S5: outside the repo, too big

DEV_RESOURCE = 'resource "aws_instance" "a" {\n  tags = { env = "dev" }\n}\n'


def test_module_source_outside_the_repository_is_not_read(tmp_path: Path) -> None:
    write(tmp_path / "outside", {"main.tf": DEV_RESOURCE})
    head = repo(tmp_path, {"main.tf": 'module "x" {\n  source = "../outside"\n}\n'})
    addr = "module.x.aws_instance.a"
    f = facts_for(log_plan((addr, "delete")), head, production=PROD)
    assert f[addr].tags == {}
    assert "outside the repository" in f[addr].unresolved[0]
    assert gated(addr, "delete", f)


def test_symlinks_out_of_the_repository_are_not_followed(tmp_path: Path) -> None:
    write(tmp_path / "outside", {"main.tf": DEV_RESOURCE})
    head = repo(tmp_path, {"main.tf": 'module "x" {\n  source = "./m"\n}\n'})
    os.symlink(tmp_path / "outside", head / "m")
    os.symlink(tmp_path / "outside" / "main.tf", head / "linked.tf")
    addr = "module.x.aws_instance.a"
    f = facts_for(log_plan((addr, "delete"), ("aws_instance.a", "delete")), head, production=PROD)
    assert "outside the repository" in f[addr].unresolved[0]
    root = f["aws_instance.a"]
    assert root.tags == {} and "linked.tf:1: a link to outside the repository" in root.unresolved[0]


def test_without_a_repository_root_code_is_read_under_the_source_dir_only(
    tmp_path: Path,
) -> None:
    if tree.git_root(str(tmp_path)) is not None:
        pytest.skip("tmp_path is inside a git checkout")
    write(tmp_path, {"mods/x/main.tf": DEV_RESOURCE})
    head = write(tmp_path / "src", {"main.tf": 'module "x" {\n  source = "../mods/x"\n}\n'})
    addr = "module.x.aws_instance.a"
    f = facts_for(log_plan((addr, "delete")), head, production=PROD)
    assert "outside the repository" in f[addr].unresolved[0]
    # With the repository root given, the same module is read.
    f = facts_for(log_plan((addr, "delete")), head, production=PROD, repo_root=str(tmp_path))
    assert f[addr].tags["tags"] == {"env": "dev"}


def test_a_file_over_the_size_cap_is_a_problem_and_stays_gated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tree, "MAX_FILE_BYTES", 1024)
    head = repo(tmp_path, {"main.tf": DEV_RESOURCE + "#" * 2000 + "\n"})
    f = facts_for(log_plan(("aws_instance.a", "delete")), head, production=PROD)
    assert "main.tf:1: larger than" in f["aws_instance.a"].unresolved[0]
    assert gated("aws_instance.a", "delete", f)


# ---------------------------------------------------------------- S6: .tfvars precedence


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a.auto.tfvars": 'env = "dev"\n', "terraform.tfvars": 'env = "prod"\n'}, "dev"),
        ({"terraform.tfvars.json": '{"env": "qa"}', "terraform.tfvars": 'env = "prod"\n'}, "qa"),
        ({"b.auto.tfvars": 'env = "qa"\n', "a.auto.tfvars.json": '{"env": "prod"}'}, "qa"),
    ],
)
def test_tfvars_precedence(tmp_path: Path, files: dict[str, str], expected: str) -> None:
    main_tf = 'variable "env" {}\nresource "aws_instance" "a" {\n  tags = { env = var.env }\n}\n'
    head = repo(tmp_path, {"main.tf": main_tf, **files})
    f = facts_for(log_plan(("aws_instance.a", "delete")), head, production=PROD)
    assert f["aws_instance.a"].tags["tags"] == {"env": expected}


def test_the_evaluator_turns_recursion_into_unknown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = repo(tmp_path, {"main.tf": DEV_RESOURCE.replace('"dev"', "local.env")})

    def boom(*_: object) -> None:
        raise RecursionError

    monkeypatch.setattr(evaluate.Evaluator, "eval", boom)
    f = facts_for(log_plan(("aws_instance.a", "delete")), head, production=PROD)
    assert "tags (main.tf:2) is nested too deeply to evaluate" in f["aws_instance.a"].unresolved[0]


def test_pr_code_alone_never_clears_a_destroy(tmp_path: Path) -> None:
    """Without the base checkout, the tags come only from the PR's code, which its author
    (maybe an agent) wrote: they can make a delete production, never clear it."""
    head = repo(
        tmp_path / "head",
        {"main.tf": 'resource "aws_instance" "a" {\n  tags = { env = "dev" }\n}\n'},
    )
    plan = log_plan(("aws_instance.a", "delete"))
    alone = analysis(plan, facts_for(plan, head, production=PROD), PROD)
    [c] = alone.gated
    assert c.possibly_production and [r.code for r in c.reasons] == ["self_reported_tags"]
    with_base = analysis(plan, facts_for(plan, head, head, production=PROD), PROD)
    assert with_base.gated == ()  # the base code says dev: the destroyed object is not prod
    prod_head = repo(
        tmp_path / "p", {"main.tf": 'resource "aws_instance" "a" {\n  tags = { env = "prod" }\n}\n'}
    )
    [p] = analysis(plan, facts_for(plan, prod_head, production=PROD), PROD).gated
    assert p.production  # PR code may still make it production
