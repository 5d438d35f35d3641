#!/usr/bin/env python3
"""Render a sticky PR comment to HTML and screenshot it with headless Chromium.

    python scripts/screenshot_comment.py                     # docs/comment.html + .png
    python scripts/screenshot_comment.py --markdown tests/golden/hostile_keys.md --out /tmp/x.png

The Markdown is a golden file (default: the agent PR replacing a production database), so the
picture shows exactly what the tests pin. It is rendered with markdown-it-py (CommonMark +
GFM tables and strikethrough, raw HTML allowed as GitHub allows its safe subset), inside a
page styled after GitHub's comment box; ```diff blocks are coloured per line like GitHub
does. Needs `chromium` on PATH (Debian: `apt-get install chromium fonts-noto-color-emoji`)
or CHROMIUM=/path/to/chrome. The test suite never runs this.
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MD = ROOT / "tests" / "golden" / "agent_replace_prod_db.md"

CSS = """
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: #1f2328;
  font-family: -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif,
    "Noto Color Emoji"; font-size: 14px; line-height: 1.5; }
.page { padding: 24px 24px 24px 72px; position: relative; }
.avatar { position: absolute; left: 24px; top: 24px; width: 36px; height: 36px;
  border-radius: 50%; background: #2f81f7; color: #fff; font-weight: 600;
  display: flex; align-items: center; justify-content: center; font-size: 13px; }
.comment { border: 1px solid #d1d9e0; border-radius: 6px; }
.comment-header { background: #f6f8fa; border-bottom: 1px solid #d1d9e0;
  border-radius: 6px 6px 0 0; padding: 8px 16px; color: #59636e; }
.comment-header b { color: #1f2328; }
.bot { border: 1px solid #d1d9e0; border-radius: 2em; padding: 0 6px; font-size: 12px;
  margin-left: 4px; }
.markdown-body { padding: 16px; }
.markdown-body > :first-child { margin-top: 0 !important; }
h3 { font-size: 1.25em; font-weight: 600; margin: 24px 0 16px; }
h4 { font-size: 1em; font-weight: 600; margin: 24px 0 16px; }
p, ul, table, pre, details, blockquote { margin: 0 0 16px; }
ul { padding-left: 2em; }
ul ul { margin: 0; }
code { font-family: ui-monospace, SFMono-Regular, "DejaVu Sans Mono", Menlo, monospace;
  font-size: 85%; background: rgba(129,139,152,0.12); border-radius: 6px;
  padding: .2em .4em; }
pre { background: #f6f8fa; border-radius: 6px; padding: 16px; overflow: auto;
  font-size: 85%; line-height: 1.45; }
pre code { background: none; padding: 0; font-size: 100%; }
table { border-collapse: collapse; display: block; overflow: auto; }
th, td { border: 1px solid #d1d9e0; padding: 6px 13px; vertical-align: top; }
th { font-weight: 600; }
tr:nth-child(2n) { background: #f6f8fa; }
a { color: #0969da; text-decoration: none; }
blockquote { border-left: .25em solid #d1d9e0; color: #59636e; padding: 0 1em; }
summary { cursor: pointer; }
em { color: #59636e; }
.d-add { color: #116329; background: #dafbe1; display: inline-block; width: 100%; }
.d-del { color: #82071e; background: #ffebe9; display: inline-block; width: 100%; }
.d-chg { color: #953800; display: inline-block; width: 100%; }
.d-com { color: #59636e; display: inline-block; width: 100%; }
"""


def _highlight(code: str, lang: str, _attrs: str) -> str:
    if lang != "diff":
        return ""
    out = []
    for line in code.rstrip("\n").split("\n"):
        if line.startswith(("+", "+/-")):
            cls = "d-add"
        elif line.startswith("-"):
            cls = "d-del"
        elif line.startswith(("~", "!")):
            cls = "d-chg"
        elif line.lstrip().startswith("#"):
            cls = "d-com"
        else:
            cls = ""
        esc = html.escape(line, quote=False) or " "
        out.append(f'<span class="{cls}">{esc}</span>' if cls else esc)
    return "<pre><code>" + "\n".join(out) + "\n</code></pre>\n"


def render_html(markdown: str) -> str:
    mdit = MarkdownIt("commonmark", {"html": True, "highlight": _highlight}).enable(
        ["table", "strikethrough"]
    )
    body = mdit.render(markdown)
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        "<title>Plan Gatekeeper comment</title>"
        f"<style>{CSS}</style></head><body><div class='page'>"
        "<div class='avatar'>GA</div><div class='comment'>"
        "<div class='comment-header'><b>github-actions</b><span class='bot'>bot</span>"
        " commented</div>"
        f"<div class='markdown-body'>{body}</div></div></div></body></html>\n"
    )


def chromium() -> str:
    exe = os.environ.get("CHROMIUM") or next(
        (p for p in ("chromium", "chromium-browser", "google-chrome") if shutil.which(p)), None
    )
    if not exe:
        sys.exit("chromium not found: apt-get install chromium (or set CHROMIUM=...)")
    return exe


def screenshot(html_path: Path, png: Path, width: int, height: int) -> None:
    with tempfile.TemporaryDirectory() as profile:
        cmd = [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={png}",
            f"--window-size={width},{height}",
            html_path.resolve().as_uri(),
        ]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markdown", type=Path, default=DEFAULT_MD)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "comment.png")
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument("--height", type=int, default=1600)
    args = ap.parse_args(argv)
    page = render_html(args.markdown.read_text("utf-8"))
    html_path = args.out.with_suffix(".html")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(page, "utf-8")
    screenshot(html_path, args.out, args.width, args.height)
    print(f"wrote {html_path} and {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
