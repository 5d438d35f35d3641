"""Expressions under the source map (gatekeeper/source/expr.py)."""

from __future__ import annotations

import pytest

from gatekeeper.source.expr import (
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
    from gatekeeper.source.expr import _conv, _first_tree, _parser, _trees

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
