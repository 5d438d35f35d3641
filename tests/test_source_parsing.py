"""The pieces under the source map: the block scanner, expressions, addresses."""

from __future__ import annotations

import json
from pathlib import Path

import hcl2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gatekeeper.hcl_expr import (
    Call,
    Lit,
    Obj,
    Other,
    Template,
    Trav,
    Tup,
    _literal,
    json_template,
    parse_attribute,
    show,
)
from gatekeeper.hcl_scan import ScanError, Text, scan_body
from gatekeeper.source_address import Address, AddressError, format_key, parse_address
from tests.helpers import CORPUS, FIXTURES, TERRAFORM

# ---------------------------------------------------------------- scanner

TRICKY = """# a comment with { braces
resource "null_resource" "a" {
  s = "a } string with ${ "nested } string" } and $${literal} and \\" quote"
  // } another comment
  /* block { comment
     over lines } */
  h = <<-EOT
    } a heredoc line that looks like a close
    {
    EOT
  m = { a = [1, 2], b = (3) }
}

module "m" {
  source = "./x"
}
locals { x = 1 }
"""


def test_scanner_finds_blocks_and_lines_through_strings_comments_heredocs() -> None:
    body = scan_body(TRICKY)
    text = Text("t.tf", TRICKY)
    got = [(b.type, b.labels, text.line(b.start), text.line(b.body_end)) for b in body.blocks]
    assert got == [
        ("resource", ("null_resource", "a"), 2, 12),
        ("module", ("m",), 14, 16),
        ("locals", (), 17, 17),
    ]
    inner = scan_body(TRICKY, body.blocks[0].body_start, body.blocks[0].body_end)
    assert list(inner.attrs) == ["s", "h", "m"]
    m = inner.attrs["m"]
    assert TRICKY[m.expr_start : m.end].strip() == "{ a = [1, 2], b = (3) }"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ('resource "a" "b" {\n  x = "unterminated\n}\n', 2, "unterminated string"),
        ('resource "a" "b" {\n  x = [1, 2}\n}\n', 2, "does not match"),
        ('resource "a" "b" {\n  x = 1\n', 1, "never closed"),
        ("locals {\n  a = <<EOT\nbody\n}\n", 2, "heredoc <<EOT is never closed"),
        ("a = 1\n}\n", 2, "expected an attribute name"),
        ("locals {\n  /* open\n}\n", 2, "comment /* is never closed"),
    ],
)
def test_scanner_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(ScanError) as exc:
        scan_body(text)
    assert Text("x", text).line(exc.value.pos) == line
    assert message in exc.value.message


def _tf_files() -> list[Path]:
    roots = [TERRAFORM, FIXTURES / "source"]
    return sorted(p for r in roots for p in r.rglob("*.tf") if p.parent.name != "syntax_error")


@pytest.mark.parametrize("path", _tf_files(), ids=lambda p: str(p.relative_to(FIXTURES)))
def test_scanner_agrees_with_python_hcl2_on_every_fixture(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    ours = sorted((b.type, b.labels) for b in scan_body(text).blocks)
    theirs = []
    for btype, entries in hcl2.loads(text).items():
        if btype.startswith("__"):
            continue
        for entry in entries:
            labels: tuple[str, ...] = ()
            node = entry
            while isinstance(node, dict) and not node.get("__is_block__"):
                (label, node), *_ = node.items()
                labels += (json.loads(label) if label.startswith('"') else label,)
            theirs.append((btype, labels))
    assert ours == sorted(theirs)


# ---------------------------------------------------------------- expressions


def test_expressions_become_a_small_model() -> None:
    e = parse_attribute('tags = merge(local.common, { "k" = "v-${count.index}", b = var.c["d"] })')
    assert isinstance(e, Call) and e.name == "merge" and not e.expand
    common, obj = e.args
    assert common == Trav("local", (("attr", "common"),))
    assert isinstance(obj, Obj)
    (k1, v1), (k2, v2) = obj.items
    assert k1 == Lit("k") and v1 == Template(("v-", Trav("count", (("attr", "index"),))))
    assert k2 == Lit("b") and v2 == Trav("var", (("attr", "c"), ("index", Lit("d"))))


@pytest.mark.parametrize(
    ("snippet", "value"),
    [
        ('x = "he said \\"hi\\" \\\\ $${literal}"', 'he said "hi" \\ ${literal}'),
        ('x = "caf\\u00e9"', "café"),
        ("x = <<-EOT\n    a\n      b\n    EOT", "a\n  b\n"),
        ("x = -3", -3),
        ("x = null", None),
    ],
)
def test_literals_and_escapes(snippet: str, value: object) -> None:
    assert parse_attribute(snippet) == Lit(value)


def test_unmodelled_expressions_are_other_with_their_text() -> None:
    e = parse_attribute("x = [for s in var.l : upper(s)]")
    assert isinstance(e, Other) and e.text == "[for s in var.l : upper(s)]"
    assert isinstance(parse_attribute('x = "%{ if a }y%{ endif }"'), Other)


def test_a_lone_interpolation_is_the_value_itself() -> None:
    assert parse_attribute('x = "${var.m}"') == Trav("var", (("attr", "m"),))
    assert json_template("${var.m}") == Trav("var", (("attr", "m"),))
    assert json_template("a-${var.m}-$${b}") == Template(
        ("a-", Trav("var", (("attr", "m"),)), "-${b}")
    )


@pytest.mark.parametrize(
    "expr",
    [
        "2",
        "-1.5",
        "true",
        '"plain"',
        '"esc \\" \\\\ \\n"',
        '{ env = "prod", Name = "x" }',
        '{\n    env = "prod"\n    "quoted key" = 1\n  }',
        '["a", "b", 3]',
        "{}",
        "[]",
    ],
)
def test_literal_fast_path_matches_python_hcl2(expr: str) -> None:
    fast = _literal(" " + expr)
    assert fast is not None
    from gatekeeper.hcl_expr import _conv, _first_tree, _parser, _trees

    tree = _parser().parse(f"x = {expr}\n")
    attr = _first_tree(_first_tree(tree, "body"), "attribute")
    slow = _conv(_trees(attr)[-1], f"x = {expr}")
    assert fast == slow


@pytest.mark.parametrize(
    "expr", ['{ a = "x" b = "y" }', "{ a = var.x }", '"${x}"', "{ a = [1] }", "{a = 1} + {b = 2}"]
)
def test_literal_fast_path_leaves_the_rest_to_python_hcl2(expr: str) -> None:
    assert _literal(" " + expr) is None


def test_show_prints_references_as_code() -> None:
    e = parse_attribute('x = [tags["Owner"], module.a[0].aws_x.y]')
    assert isinstance(e, Tup)
    assert [show(i) for i in e.items] == ['tags["Owner"]', "module.a[0].aws_x.y"]


# ---------------------------------------------------------------- addresses


def test_address_with_modules_keys_and_awkward_characters() -> None:
    a = parse_address(
        'module.a["k"].module.b[0].null_resource.x["key with \\"quotes\\" ] and . inside"]'
    )
    assert a.modules == (("a", "k"), ("b", 0))
    assert (a.mode, a.type, a.name) == ("managed", "null_resource", "x")
    assert a.key == 'key with "quotes" ] and . inside'


def test_data_source_and_escapes() -> None:
    a = parse_address('module.m.data.aws_ami.this["line\\nbreak \\u00e9 \\\\ \\x41"]')
    assert a.mode == "data" and a.type == "aws_ami" and a.modules == (("m", None),)
    assert a.key == "line\nbreak é \\ A"


@pytest.mark.parametrize(
    "bad",
    [
        'null_resource.x["open',
        "null_resource",
        "null_resource.x[1",
        'null_resource.x["a"]z',
        "module.m",
    ],
)
def test_bad_addresses_raise(bad: str) -> None:
    with pytest.raises(AddressError):
        parse_address(bad)


@given(st.text(min_size=0, max_size=30), st.integers(min_value=0, max_value=10**6))
def test_any_key_round_trips(key: str, idx: int) -> None:
    a = Address((("m", key), ("n", idx)), "managed", "null_resource", "x", key)
    assert parse_address(str(a)) == a
    assert format_key(None) == ""


def _plan_addresses() -> list[str]:
    out: set[str] = set()
    for path in [*TERRAFORM.rglob("plan.json"), *CORPUS.rglob("*.json")]:
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict):
            for rc in doc.get("resource_changes") or []:
                if isinstance(rc, dict) and rc.get("mode") in ("managed", "data"):
                    addr = rc.get("address")
                    if isinstance(addr, str):
                        out.add(addr)
    return sorted(out)


def test_every_real_plan_address_parses_and_round_trips() -> None:
    addresses = _plan_addresses()
    assert len(addresses) > 100
    for addr in addresses:
        assert str(parse_address(addr)) == addr, addr
