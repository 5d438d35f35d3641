"""Values of sensitive variables, and values passed to sensitive(), are never read from the
code: no tag, reason, note or annotation can show them. What depends on one does not resolve
(the change stays possibly production) and the reason names the variable, not its value."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gatekeeper.cli import main
from gatekeeper.policy.model import ProductionPolicy
from gatekeeper.source.expr import ExprError, hide_sensitive, parse_attribute, show
from gatekeeper.source.model import SourceFacts
from tests.helpers import FIXTURES, SECRET, TERRAFORM, log_summary
from tests.support.source_trees import TRIGGERS, analysis, facts_for, log_plan, real, rel

SCENARIO = FIXTURES / "source" / "sensitive_vars"
LEAK = "s3cr3t"  # every secret value in the scenario holds it
PROD = ProductionPolicy(tag_values=("prod*",))
POLICY = 'production:\n  tag_values: ["prod*"]\n'

CHANGES = (
    ("aws_db_instance.direct", "delete"),
    ("aws_db_instance.via_local", "delete"),
    ("module.app.aws_instance.web", "delete"),
    ("module.app.aws_instance.worker", "replace"),
    ("aws_s3_bucket.inline", "delete"),
    ("aws_s3_bucket.merged", "delete"),
    ("aws_s3_bucket.for_expr", "delete"),
    ("aws_s3_bucket.unwrapped", "delete"),
    ("aws_s3_bucket.json_declared", "delete"),
    ("aws_s3_bucket.control", "delete"),
)


@pytest.fixture(scope="module")
def facts() -> dict[str, SourceFacts]:
    return facts_for(log_plan(*CHANGES), SCENARIO, production=PROD)


def test_the_scenario_holds_the_secrets() -> None:
    text = "".join(p.read_text() for p in SCENARIO.rglob("*") if p.is_file())
    assert text.count(LEAK) == 10


def test_no_fact_holds_a_sensitive_value(facts: dict[str, SourceFacts]) -> None:
    assert set(facts) == {a for a, _ in CHANGES}
    for addr, f in facts.items():
        assert LEAK not in repr(f), addr


@pytest.mark.parametrize(
    ("address", "why"),
    [
        # terraform.tfvars (production) and the default: neither is read
        ("aws_db_instance.direct", "env is unknown: var.db_env is sensitive ("),
        ("aws_db_instance.via_local", "tier is unknown: var.db_tier is sensitive ("),
        # a module argument that passes a sensitive root variable on
        ("module.app.aws_instance.web", "env is unknown: var.db_env is sensitive ("),
        # a child variable declared sensitive, set from a literal argument
        ("module.app.aws_instance.worker", "environment is unknown: var.token is sensitive ("),
        ("aws_s3_bucket.inline", "env is unknown: a value passed to sensitive() is not read"),
        ("aws_s3_bucket.merged", '`merge({"team" = "core"}, sensitive(...))`: a value passed'),
        ("aws_s3_bucket.for_expr", "`{ for k, v in sensitive(...) : k => v }` is not evaluated"),
        ("aws_s3_bucket.unwrapped", "env is unknown: nonsensitive() is not evaluated"),
        ("aws_s3_bucket.json_declared", "stage is unknown: var.stage_secret is sensitive ("),
    ],
)
def test_a_sensitive_value_is_unresolved_and_named(
    facts: dict[str, SourceFacts], address: str, why: str
) -> None:
    f = facts[address]
    assert all(set(m) <= {"Name", "team"} for m in f.tags.values()), f.tags
    assert any(why in u for u in f.unresolved), f.unresolved
    (c,) = analysis(log_plan((address, dict(CHANGES)[address])), {address: f}, PROD).changes
    assert c.gated and c.possibly_production and not c.production


def test_the_reason_points_at_the_declaration(facts: dict[str, SourceFacts]) -> None:
    main_tf, variables = rel(SCENARIO / "main.tf"), rel(SCENARIO / "variables.tf")
    assert facts["aws_db_instance.direct"].unresolved == (
        f"tags ({main_tf}:3, PR code): env is unknown: var.db_env is sensitive "
        f"({variables}:4): its value is not read",
    )


def test_other_variables_still_resolve(facts: dict[str, SourceFacts]) -> None:
    f = facts["aws_s3_bucket.control"]
    assert f.tags["tags"] == {"env": "prod-eu"} and f.unresolved == ()


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_no_output_format_shows_a_sensitive_value(
    fmt: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = tmp_path / "plan.jsonl"
    plan.write_bytes(_log(*CHANGES))
    cfg, report = tmp_path / "policy.yml", tmp_path / "report.json"
    cfg.write_text(POLICY)
    args = ["check", str(plan), "--source", str(SCENARIO), "--config", str(cfg)]
    args += ["--annotations", "--format", fmt, "--report", str(report)]
    code = main(args)
    out, err = capsys.readouterr()
    assert code == 1
    everything = out + err + report.read_text()
    assert LEAK not in everything
    assert "::error " in everything and "var.db_env is sensitive" in everything
    doc = json.loads(report.read_text())
    gated = {c["address"] for c in doc["changes"] if c["gated"]}
    assert gated == {a for a, _ in CHANGES}


def _log(*changes: tuple[str, str]) -> bytes:
    lines: list[dict[str, object]] = [{"@level": "info", "type": "version", "ui": "1.2"}]
    for addr, action in changes:
        lines.append(
            {
                "@level": "info",
                "type": "planned_change",
                "change": {"resource": {"addr": addr}, "action": action},
            }
        )
    lines.append(log_summary([action for _addr, action in changes]))
    return "\n".join(json.dumps(x) for x in lines).encode()


# ---------------------------------------------------------------- the real Terraform fixture


def test_a_sensitive_triggers_map_is_not_read_from_the_code() -> None:
    s = TERRAFORM / "sensitive_values"
    f = facts_for(real("sensitive_values"), s / "head", production=TRIGGERS)
    sealed = f["null_resource.sealed"]
    assert sealed.tags == {}
    assert sealed.unresolved == (
        f"triggers ({rel(s / 'head' / 'main.tf')}:22, PR code): var.sealed_triggers is "
        f"sensitive ({rel(s / 'head' / 'variables.tf')}:11): its value is not read",
    )
    # A literal env next to a sensitive trigger still counts.
    assert f["null_resource.token_consumer"].tags["triggers"] == {"env": "prod"}
    assert SECRET not in repr(f)


def test_cli_no_longer_prints_the_sealed_trigger(capsys: pytest.CaptureFixture[str]) -> None:
    s = TERRAFORM / "sensitive_values"
    policy = FIXTURES / "source" / "triggers-policy.yml"
    args = ["check", str(s / "plan.jsonl"), "--source", str(s / "head"), "--config", str(policy)]
    assert main([*args, "--annotations"]) == 1
    out, err = capsys.readouterr()
    assert SECRET not in out + err
    sealed = out[out.index("x null_resource.sealed") :].split("\n  x ", 1)[0]
    assert "(from code)" not in sealed
    assert "possibly production: " in sealed and "var.sealed_triggers is sensitive" in sealed
    (note,) = [a for a in out.splitlines() if a.startswith("::error") and ".sealed::" in a]
    assert "(from code)" not in note and "possibly production" in note


# ---------------------------------------------------------------- messages that quote text


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_a_tfvars_syntax_error_quotes_nothing(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "main.tf": 'variable "pw" {\n  sensitive = true\n}\n'
            'resource "aws_instance" "x" {\n  tags = { env = "dev" }\n}\n',
            # a line that is a bare value: the scanner's message would quote it
            "terraform.tfvars": 'pw =\n"hunter2-s3cr3t"\n',
        },
    )
    f = facts_for(log_plan(("aws_instance.x", "delete")), root, production=PROD)
    assert LEAK not in repr(f)
    assert "source: terraform.tfvars:2: HCL syntax error" in f["aws_instance.x"].notes


def test_an_unreadable_declaration_may_be_sensitive(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "variables.tf": 'variable "pw" {\n  sensitive = true\n  "s3cr3t-default"\n}\n',
            "terraform.tfvars": 'pw = "prod-s3cr3t-tfvars"\n',
            "main.tf": 'resource "aws_instance" "x" {\n  tags = { env = var.pw }\n}\n',
        },
    )
    f = facts_for(log_plan(("aws_instance.x", "delete")), root, production=PROD)["aws_instance.x"]
    assert LEAK not in repr(f)
    assert f.tags["tags"] == {}
    assert (
        "env is unknown: var.pw: variables.tf:3: cannot read the declaration of var.pw: it may "
        "be sensitive, its value is not read"
    ) in f.unresolved[0]


def test_an_undeclared_variable_is_not_read_from_tfvars(tmp_path: Path) -> None:
    # Its declaration may be in a file that does not parse, and say `sensitive = true`.
    root = _tree(
        tmp_path,
        {
            "variables.tf": 'variable "pw" {\n  sensitive = true\n',
            "terraform.tfvars": 'pw = "prod-s3cr3t-tfvars"\n',
            "main.tf": 'resource "aws_instance" "x" {\n  tags = { env = var.pw }\n}\n',
        },
    )
    f = facts_for(log_plan(("aws_instance.x", "delete")), root, production=PROD)["aws_instance.x"]
    assert LEAK not in repr(f)
    assert f.tags["tags"] == {}
    assert "env is unknown: var.pw is not declared in . (it may be in a file" in f.unresolved[0]


def test_sensitive_call_arguments_are_never_shown() -> None:
    e = parse_attribute('x = merge(local.a, sensitive({ pw = "s3cr3t" }), "b")')
    assert show(e) == 'merge(local.a, sensitive(...), "b")'
    assert hide_sensitive('[for k in sensitive("a)s3cr3t") : k] ++ nonsensitive(x)') == (
        "[for k in sensitive(...) : k] ++ nonsensitive(x)"
    )
    assert hide_sensitive('x = sensitive("s3cr3t" ') == "x = sensitive(...)"  # never closed
    other = parse_attribute('x = [for k, v in sensitive({ a = "s3cr3t" }) : v]')
    assert LEAK not in repr(other)
    with pytest.raises(ExprError) as exc:
        parse_attribute('x = sensitive("a" "s3cr3t-token")')
    assert LEAK not in exc.value.message
    # Without sensitive() the parse error still quotes the token.
    with pytest.raises(ExprError, match="unexpected"):
        parse_attribute('x = ("a" "b")')


def test_an_override_file_can_make_a_variable_sensitive(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "variables.tf": 'variable "env" {\n  default = "prod-s3cr3t-default"\n}\n',
            "variables_override.tf": 'variable "env" {\n  sensitive = true\n}\n',
            "main.tf": 'resource "aws_instance" "x" {\n  tags = { env = var.env }\n}\n',
        },
    )
    f = facts_for(log_plan(("aws_instance.x", "delete")), root, production=PROD)["aws_instance.x"]
    assert LEAK not in repr(f)
    assert "var.env is sensitive (variables_override.tf:1)" in f.unresolved[0]
