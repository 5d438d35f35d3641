"""Escaping primitives (gatekeeper.render.markdown_escape), checked by parsing the output with a
CommonMark + GFM-tables parser (markdown-it-py): whatever the input, the escaped text must
come back as plain text (or one code span, or one fence) with the same visible content."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from gatekeeper.render import markdown_escape as md

HOSTILE = [
    '"`x`</details><img src=x>@org/team"',
    "</details><script>alert(1)</script> @admin `code` ::error::replaced",
    "[click](https://evil.example) ![img](x) <https://evil.example>",
    "https://evil.example/path www.evil.example mail@evil.example #123",
    "*bold* _it_ ~~strike~~ $x^2$ \\ \\\\ | pipe",
    "# heading",
    "> quote",
    "1. list",
    "- item",
    "```fence```",
    "<!-- comment -->",
    "&amp; &#64; &lt;b&gt;",
    "line\nbreak\r\nand\ttab",
    "bidi \u202eevil\u202c and \u2066iso\u2069 and \x1b[31mred",
    "café ☕ ${{ github.token }}",
    "    indented code",
    "===",
    "",
]


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


def _inline_children(src: str) -> list[Any]:
    tokens = _parser().parse(src)
    inlines = [t for t in tokens if t.type == "inline"]
    assert len(inlines) == 1, [t.type for t in tokens]
    return list(inlines[0].children or [])


def _text_of(children: list[Any]) -> str:
    out = []
    for c in children:
        assert c.type in ("text", "text_special"), (c.type, c.content)
        out.append(c.content)
    return "".join(out)


def _expected(s: str) -> str:
    return md.visible(s)


@pytest.mark.parametrize("s", HOSTILE)
def test_text_in_list_item_is_plain_text(s: str) -> None:
    src = "- x " + md.text(s) + " y"
    tokens = _parser().parse(src)
    types = [t.type for t in tokens]
    assert types == [
        "bullet_list_open",
        "list_item_open",
        "paragraph_open",
        "inline",
        "paragraph_close",
        "list_item_close",
        "bullet_list_close",
    ], types
    got = _text_of(list(tokens[3].children or []))
    assert got.replace(md.ZWSP, "") == "x " + _expected(s) + " y"


@pytest.mark.parametrize("s", HOSTILE)
def test_text_at_start_of_list_item_makes_no_block(s: str) -> None:
    # "- # heading", "- > quote", "- 1. list" would be blocks inside the item if unescaped.
    src = "- " + md.text(s) if s else "- x"
    tokens = _parser().parse(src)
    assert not any(
        t.type.startswith(("heading", "blockquote", "ordered", "fence", "code", "html"))
        for t in tokens
    )


@pytest.mark.parametrize("s", HOSTILE)
def test_text_in_table_cell_stays_in_its_cell(s: str) -> None:
    src = f"| a | b |\n| --- | --- |\n| {md.cell(s)} | after |\n"
    tokens = _parser().parse(src)
    cells = [t for t in tokens if t.type == "inline"]
    assert len(cells) == 4
    assert _text_of(list(cells[2].children or [])).replace(md.ZWSP, "") == _expected(s)
    assert cells[3].content == "after"


@pytest.mark.parametrize("s", [x for x in HOSTILE if x])
def test_code_span_shows_exact_text(s: str) -> None:
    children = _inline_children("x " + md.code(s))
    codes = [c for c in children if c.type == "code_inline"]
    assert len(codes) == 1
    assert codes[0].content == _expected(s).replace("\n", " ")


@pytest.mark.parametrize("s", [x for x in HOSTILE if x])
def test_code_span_in_table_cell(s: str) -> None:
    src = f"| a | b |\n| --- | --- |\n| {md.code(s, in_table=True)} | after |\n"
    tokens = _parser().parse(src)
    cells = [t for t in tokens if t.type == "inline"]
    assert len(cells) == 4
    codes = [c for c in cells[2].children or [] if c.type == "code_inline"]
    assert [c.content for c in codes] == [_expected(s)]
    assert cells[3].content == "after"


def test_code_span_delimiter_longer_than_backtick_runs() -> None:
    assert md.code("a``b") == "```a``b```"
    assert md.code("`x`") == "`` `x` ``"
    assert md.code("") == "` `"


@pytest.mark.parametrize(
    "body",
    ["plain\n", "```\nclose?\n```\n", "````` five\n", "~~~\n", "x\r\ny", "<details>\n@org/team"],
)
def test_fence_is_never_closed_by_its_body(body: str) -> None:
    src = md.fence(body, "diff") + "\n\nafter\n"
    tokens = _parser().parse(src)
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1
    assert fences[0].info == "diff"
    expected = body.replace("\r\n", "\n")
    assert fences[0].content == expected if expected.endswith("\n") else expected + "\n"
    assert tokens[-2].content == "after"


def test_fence_rejects_bad_info_string() -> None:
    with pytest.raises(ValueError):
        md.fence("x", "di`ff")


def test_mentions_urls_and_references_are_broken() -> None:
    out = md.text("@org/team https://evil.example www.evil.example #12 a@b.example")
    assert not re.search(r"@[A-Za-z0-9]", out)
    assert "://" not in out.replace("\\", "")
    assert "www." not in out.replace("\\", "")
    assert not re.search(r"#\d", out.replace("\\", ""))


def test_html_is_entity_escaped() -> None:
    assert md.text("<b>&") == "&lt;b&gt;&amp;"
    assert md.html_text("<code>\"'&@x") == "&lt;code&gt;&quot;&#39;&amp;@\u200bx"


def test_visible_escapes_controls_and_bidi() -> None:
    assert md.visible("a\nb\tc\x1b\u202e\x7f\u200b") == "a\\nb\\tc\\x1b\\u202e\\x7f\\u200b"


def test_url_path_quotes_what_would_break_a_link() -> None:
    assert md.url_path("modules/my db/(x)#?.tf") == "modules/my%20db/%28x%29%23%3F.tf"
    assert md.url_path("é.tf") == "%C3%A9.tf"


def test_safe_url_and_link() -> None:
    ok = "https://github.com/acme/infra/blob/abc1234/a%20b.tf#L1-L2"
    assert md.link("x", ok) == f"[x]({ok})"
    for bad in ["javascript:alert(1)", "https://x.example/a b", "https://x.example/(a)", "ftp://x"]:
        assert md.safe_url(bad) is None
        assert md.link("x", bad) == "x"


def test_prose_turns_backticked_names_into_code_spans() -> None:
    children = _inline_children("x " + md.prose("branch `codex/@x` matches <b>"))
    kinds = [(c.type, c.content) for c in children]
    assert ("code_inline", "codex/@x") in kinds
    assert all(c.type != "html_inline" for c in children)


# -- property tests: any text at all ------------------------------------------------

_chars = st.text(
    alphabet=st.sampled_from(
        list("abc xyz019`*_~[]()<>!&#@:/.|\\-+=$\"'{}\n\t\u202e\u200b\x1bé☕")
    ),
    max_size=40,
)


@settings(max_examples=300, deadline=None)
@given(_chars)
def test_any_text_round_trips(s: str) -> None:
    src = "- x " + md.text(s) + " y"
    tokens = _parser().parse(src)
    inline = [t for t in tokens if t.type == "inline"]
    assert len(inline) == 1
    got = _text_of(list(inline[0].children or []))
    assert got.replace(md.ZWSP, "") == "x " + _expected(s) + " y"


@settings(max_examples=300, deadline=None)
@given(_chars.filter(lambda s: s.strip(" ") != ""))
def test_any_code_span_round_trips_in_a_table(s: str) -> None:
    src = f"| a |\n| --- |\n| x {md.code(s, in_table=True)} |\n"
    tokens = _parser().parse(src)
    cells = [t for t in tokens if t.type == "inline"]
    assert len(cells) == 2
    codes = [c.content for c in cells[1].children or [] if c.type == "code_inline"]
    assert codes == [_expected(s)]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("`~ \nab")), max_size=60))
def test_any_fence_body_round_trips(body: str) -> None:
    tokens = _parser().parse(md.fence(body, "diff") + "\n\nafter\n")
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1
    want = body if body.endswith("\n") or body == "" else body + "\n"
    assert fences[0].content == want
