"""GitHub workflow-command annotations: format, escaping, limits, where they are printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from gatekeeper.classify import Analysis, analyze
from gatekeeper.plan.parse import parse_plan
from gatekeeper.policy.model import Policy, ProductionPolicy
from gatekeeper.render.annotations import command, escape_data, escape_property, render_annotations
from gatekeeper.source.mapper import build_source_map
from gatekeeper.source.model import Location, SourceFacts
from tests.helpers import ROOT, TERRAFORM, log_summary

TRIGGERS = ProductionPolicy(tag_attributes=("tags", "triggers"))


def test_escaping_is_the_actions_toolkit_s() -> None:
    # @actions/core escapeData / escapeProperty
    assert escape_data("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext: a,b"
    assert escape_property("100% done\r\nnext: a,b") == "100%25 done%0D%0Anext%3A a%2Cb"
    assert escape_data("%0A") == "%250A"  # no double decoding on the runner
    assert command("error", "m", [("file", "a,b.tf"), ("line", 3), ("title", "T: x")]) == (
        "::error file=a%2Cb.tf,line=3,title=T%3A x::m"
    )
    assert command("warning", "just a message") == "::warning::just a message"


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


def _analysis(data: bytes, source: dict[str, SourceFacts], prod: ProductionPolicy) -> Analysis:
    plan = parse_plan(data, label="prod", path="plan.jsonl")
    return analyze([plan], Policy(production=prod), {("prod", a): f for a, f in source.items()})


def test_gated_changes_are_errors_pointing_at_the_code() -> None:
    s = TERRAFORM / "count_shrink"
    plan = parse_plan((s / "plan.jsonl").read_bytes(), label="prod", path="plan.jsonl")
    facts = build_source_map(
        [plan], {"prod": str(s / "head")}, production=TRIGGERS, cwd=os.getcwd()
    )
    a = analyze([plan], Policy(production=TRIGGERS), facts)
    lines = render_annotations(a)
    assert len(lines) == 2
    first = lines[0]
    assert first.startswith(
        "::error file=fixtures/terraform/count_shrink/head/main.tf,line=1,endLine=8,"
        "title=Gated%3A delete of null_resource.node[1]::"
    )
    message = first.split("::", 2)[2]
    assert message.split("%0A")[:2] == [
        "delete of null_resource.node[1] (plan prod): production",
        "- triggers.env = 'prod' (from code)",
    ]
    assert (
        "note: count is 1 at fixtures/terraform/count_shrink/head/main.tf:2: instance [1] is no "
        "longer in the code"
    ) in message.split("%0A")


def test_untrusted_keys_cannot_start_commands_or_lines() -> None:
    s = TERRAFORM / "for_each_awkward_keys"
    plan = parse_plan((s / "plan.jsonl").read_bytes(), label="prod", path="plan.jsonl")
    facts = build_source_map(
        [plan], {"prod": str(s / "head")}, production=TRIGGERS, cwd=os.getcwd()
    )
    lines = render_annotations(analyze([plan], Policy(production=TRIGGERS), facts))
    assert len(lines) == 10
    for line in lines:
        assert "\n" not in line and "\r" not in line
        assert line.startswith(
            "::error file=fixtures/terraform/for_each_awkward_keys/head/main.tf,"
        )
        props = line[len("::error ") :].split("::", 1)[0]
        keys = [p.split("=", 1)[0] for p in props.split(",")]
        assert keys == ["file", "line", "endLine", "title"] and ":" not in props
    pwned = next(x for x in lines if "pwned" in x)
    assert 'title=Gated%3A delete of null_resource.member["%3A%3Aerror%3A%3Apwned"]::' in pwned
    newline_key = next(x for x in lines if "line\\nbreak" in x)
    assert 'null_resource.member["line\\nbreak"]' in newline_key  # still one line


def _facts(file: str | None = None, kind: str = "resource", prevent: bool = False) -> SourceFacts:
    location = Location(file, 3, 9, kind) if file else None
    return SourceFacts(location=location, tags={"tags": {"env": "prod"}}, prevent_destroy=prevent)


def test_at_most_ten_per_kind_and_the_last_says_how_many_more() -> None:
    changes = [(f"aws_instance.p[{i}]", "delete") for i in range(25)]
    changes += [(f"aws_instance.d[{i}]", "delete") for i in range(12)]
    facts = {a: _facts(f"{a}.tf") for a, _ in changes if ".p[" in a}
    facts.update({a: SourceFacts(tags={"tags": {"env": "dev"}}) for a, _ in changes if ".d[" in a})
    lines = render_annotations(_analysis(_log(*changes), facts, ProductionPolicy()))
    errors = [x for x in lines if x.startswith("::error ")]
    warnings = [x for x in lines if x.startswith("::warning ")]
    assert (len(errors), len(warnings)) == (10, 10)
    assert lines == errors + warnings  # errors first
    assert errors[-1].endswith(
        "%0A... and 15 more gated changes not annotated (GitHub shows at most 10 per step): "
        "see the report"
    )
    assert warnings[-1].endswith(
        "%0A... and 2 more destructive changes not annotated "
        "(GitHub shows at most 10 per step): see the report"
    )
    assert not any("more gated" in x for x in errors[:-1])
    assert warnings[0].startswith("::warning title=Destructive%3A delete of aws_instance.d[0]::")


def test_production_comes_before_possibly_production_and_refused_destroys_last() -> None:
    changes = [
        ("aws_instance.unknown", "delete"),
        ("aws_instance.refused", "delete"),
        ("aws_instance.prod", "delete"),
    ]
    facts = {
        "aws_instance.unknown": SourceFacts(unresolved=("tags: var.x has no default",)),
        "aws_instance.refused": _facts("r.tf", prevent=True),
        "aws_instance.prod": _facts("p.tf"),
    }
    lines = render_annotations(_analysis(_log(*changes), facts, ProductionPolicy()))
    order = [x.split("title=Gated%3A delete of ", 1)[1].split("::", 1)[0] for x in lines]
    assert order == ["aws_instance.prod", "aws_instance.refused", "aws_instance.unknown"]
    assert lines[2].startswith("::error title=")  # no location: no file property
    assert "possibly production%0A- tags: var.x has no default" in lines[2]


def test_a_removed_block_points_at_the_file_only() -> None:
    facts = {"aws_instance.gone": _facts("infra/main.tf", kind="removed_block")}
    (line,) = render_annotations(
        _analysis(_log(("aws_instance.gone", "delete")), facts, ProductionPolicy())
    )
    assert line.startswith("::error file=infra/main.tf,title=")


def test_nothing_destructive_means_no_annotations() -> None:
    a = _analysis(_log(("aws_instance.x", "create")), {}, ProductionPolicy())
    assert render_annotations(a) == []


# ---------------------------------------------------------------- where the CLI prints them


POLICY = ROOT / "fixtures" / "source" / "triggers-policy.yml"


def gk(*args: str, actions: bool) -> subprocess.CompletedProcess[str]:
    """`gatekeeper check` with a policy that reads tags from the null provider's triggers."""
    args = (*args[:1], "--config", str(POLICY), *args[1:])
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}
    if actions:
        env["GITHUB_ACTIONS"] = "true"
    return subprocess.run(
        [sys.executable, "-m", "gatekeeper", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )


PLAN = "fixtures/terraform/count_shrink/plan.jsonl"
HEAD = "fixtures/terraform/count_shrink/head"


@pytest.mark.slow
def test_in_github_actions_annotations_come_before_the_text_report() -> None:
    r = gk("check", PLAN, "--source", HEAD, actions=True)
    out = r.stdout.splitlines()
    assert r.returncode == 1
    assert out[0].startswith("::error file=fixtures/terraform/count_shrink/head/main.tf,line=1,")
    assert out[1].startswith("::error ") and out[2].startswith("BLOCKED")


@pytest.mark.slow
def test_json_on_stdout_stays_parseable_annotations_go_to_stderr() -> None:
    r = gk("check", PLAN, "--source", HEAD, "--format", "json", actions=True)
    json.loads(r.stdout)
    assert [x for x in r.stderr.splitlines() if x.startswith("::error ")] != []


@pytest.mark.parametrize(
    ("flags", "actions", "expected"),
    [((), False, 0), (("--annotations",), False, 2), (("--no-annotations",), True, 0)],
)
@pytest.mark.slow
def test_annotations_switch(flags: tuple[str, ...], actions: bool, expected: int) -> None:
    r = gk("check", PLAN, "--source", HEAD, *flags, actions=actions)
    assert sum(1 for x in r.stdout.splitlines() if x.startswith("::")) == expected


def _runner_parse(line: str) -> tuple[str, dict[str, str], str]:
    """How the Actions runner reads one workflow-command line (ActionCommand.TryParseV2):
    `::name k=v,k=v::message`, then unescapes properties and message."""

    def unescape(s: str, prop: bool) -> str:
        s = s.replace("%0D", "\r").replace("%0A", "\n")
        if prop:
            s = s.replace("%3A", ":").replace("%2C", ",")
        return s.replace("%25", "%")

    assert line.startswith("::")
    head, message = line[2:].split("::", 1)
    name, _, props = head.partition(" ")
    properties = {}
    for p in filter(None, props.split(",")):
        k, v = p.split("=", 1)
        properties[k] = unescape(v, True)
    return name, properties, unescape(message, False)


def test_untrusted_text_cannot_break_out_of_an_annotation() -> None:
    mask = 'aws_instance.a["\n::add-mask::x"]'
    encoded = 'aws_instance.b["%0A::add-mask::y%0D%25"]'
    reason = "tags: var.x is unknown\r\n::warning::fake\x1b[8m\u202e"
    facts = {
        mask: SourceFacts(
            location=Location("modules/a\n::add-mask::f,x.tf", 3, 9, "resource"),
            unresolved=(reason,),
        ),
        encoded: SourceFacts(
            location=Location("b%0A::error::z.tf", 1, 2, "resource"),
            tags={"tags": {"env": "prod"}},
            notes=("note %0A::add-mask::n\n::stop-commands::t",),
        ),
    }
    plan = _log((mask, "delete"), (encoded, "delete"))
    lines = render_annotations(_analysis(plan, facts, ProductionPolicy()))
    out = "\n".join(lines) + "\n"
    assert len(lines) == 2 and out.count("\n") == 2  # one line each, nothing else
    assert not any(x.startswith(("::add-mask::", "::stop-commands::")) for x in out.splitlines())
    parsed = {p[1]["title"]: p for p in map(_runner_parse, lines)}
    a = parsed['Gated: delete of aws_instance.a["\\n::add-mask::x"]']
    b = parsed['Gated: delete of aws_instance.b["%0A::add-mask::y%0D%25"]']
    assert [a[0], b[0]] == ["error", "error"]
    # What the runner shows is the text itself, controls made visible: no line of it is a
    # command, and `%0A` in the data stays `%0A` (no double decoding).
    assert a[1]["file"] == "modules/a\\n::add-mask::f,x.tf"
    assert b[1]["file"] == "b%0A::error::z.tf"
    assert a[2].split("\n")[:2] == [
        'delete of aws_instance.a["\\n::add-mask::x"] (plan prod): possibly production',
        "- tags: var.x is unknown\\r\\n::warning::fake\\x1b[8m\\u202e",
    ]
    assert b[2].split("\n")[:3] == [
        'delete of aws_instance.b["%0A::add-mask::y%0D%25"] (plan prod): production',
        "- tags.env = 'prod' (from code)",
        "note: note %0A::add-mask::n\\n::stop-commands::t",
    ]
