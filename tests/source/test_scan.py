"""The block scanner under the source map (gatekeeper/source/scan.py)."""

from __future__ import annotations

import json
from pathlib import Path

import hcl2
import pytest

from gatekeeper.source.scan import ScanError, Text, scan_body
from tests.helpers import FIXTURES, TERRAFORM

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
