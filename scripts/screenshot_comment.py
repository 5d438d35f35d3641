#!/usr/bin/env python3
"""Render sticky PR comments as GitHub shows them, screenshot them and measure their height.

    python scripts/screenshot_comment.py                      # docs/comment.html + .png
    python scripts/screenshot_comment.py --measure tests/golden/*.md   # heights at 1,000 px

The Markdown is a golden file (default: the agent PR replacing a production database), and
the goldens are what `gatekeeper gate` posts to the local GitHub test server
(tests/test_golden.py), so the picture is what the gate posts.

How it is drawn, as close to github.com as this machine allows:
- Markdown: markdown-it-py (CommonMark + GFM tables and strikethrough, raw HTML on, as
  GitHub allows its safe subset);
- styles: GitHub's own stylesheet for rendered Markdown, the npm package
  `github-markdown-css` (light theme), installed with npm into --tools-dir on first use (no
  node_modules in the repository); nothing here sets a colour of the content;
- ```diff blocks: highlighted the way GitHub's highlighter does it, by the TextMate diff
  grammar (linguist's `source.diff`) whose scopes GitHub maps to its prettylights classes:
  a line starting with `+` (or `> `) is `pl-mi1` (inserted), `!` is `pl-mc` (changed), `-`
  (or `< `) is `pl-md` (deleted), `---`/`+++` file headers `pl-mh`, `@@` ranges `pl-mdr`;
  every other line (`~`, `#`, `<=`) plain. The colours are the stylesheet's;
- `<details>` closed, as a reviewer first sees them.

Height: the page reports where the comment box ends (its bottom plus the page margin, in CSS
pixels, at the given width; headless Chromium, `--dump-dom`), and the screenshot is taken
at exactly that height.
Needs Chromium (Debian: `apt-get install -y chromium fonts-noto-color-emoji`, or
CHROMIUM=/path) and npm. The test suite never runs this.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from markdown_it import MarkdownIt

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MD = ROOT / "tests" / "golden" / "agent_replace_prod_db.md"
CSS_PACKAGE = "github-markdown-css@5.9.0"
CSS_FILE = Path("node_modules") / "github-markdown-css" / "github-markdown-light.css"

# Layout only (the comment's frame and width); the content's look is github-markdown-css's.
FRAME = """
body { margin: 0; background: #fff; }
.comment { margin: 16px; border: 1px solid #d1d9e0; border-radius: 6px; }
.comment-header { border-bottom: 1px solid #d1d9e0; padding: 8px 16px;
  font: 14px -apple-system, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
.markdown-body { padding: 16px; }
"""

# linguist's source.diff (textmate/diff.tmbundle), the patterns GitHub's highlighter applies
# line by line, first match wins, mapped to prettylights classes.
_DIFF_RULES = (
    (re.compile(r"^(\*{15}|={67}|-{3})$"), "pl-mdr"),  # separator
    (re.compile(r"^@@.*@@"), "pl-mdr"),  # range
    (re.compile(r"^(-{3}|\*{3}) .+$"), "pl-mh"),  # from-file header
    (re.compile(r"^\+{3} .+$"), "pl-mh"),  # to-file header
    (re.compile(r"^((>)( .*)?|(\+).*)$"), "pl-mi1"),  # inserted
    (re.compile(r"^!.*$"), "pl-mc"),  # changed
    (re.compile(r"^((<)( .*)?|(-).*)$"), "pl-md"),  # deleted
)


def _highlight(code: str, lang: str, _attrs: str) -> str:
    if lang != "diff":
        return ""
    out = []
    for line in code.rstrip("\n").split("\n"):
        esc = html.escape(line, quote=False)
        cls = next((c for rx, c in _DIFF_RULES if rx.match(line)), None)
        out.append(f'<span class="{cls}">{esc}</span>' if cls else esc)
    return '<pre lang="diff"><code>' + "\n".join(out) + "\n</code></pre>\n"


def github_css(tools: Path) -> str:
    css = tools / CSS_FILE
    if not css.exists():
        npm = shutil.which("npm")
        if not npm:
            sys.exit("npm not found: it installs github-markdown-css (apt-get install npm)")
        tools.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--no-save", "--prefix", str(tools), CSS_PACKAGE],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return css.read_text("utf-8")


def render_html(markdown: str, css: str, width: int) -> str:
    mdit = MarkdownIt("commonmark", {"html": True, "highlight": _highlight}).enable(
        ["table", "strikethrough"]
    )
    body = mdit.render(markdown)
    measure = (
        "<script>addEventListener('load', () => { const box = "
        "document.querySelector('.comment').getBoundingClientRect(); "
        "document.body.setAttribute('data-height', Math.ceil(box.bottom + scrollY + 16)); "
        "});</script>"
    )
    return (
        "<!doctype html>\n<html><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width={width}'>"
        "<title>Plan Gatekeeper comment</title>"
        f"<style>{css}</style><style>{FRAME}</style></head><body>"
        "<div class='comment'><div class='comment-header'><b>github-actions</b> bot commented"
        f"</div><div class='markdown-body'>{body}</div></div>{measure}</body></html>\n"
    )


def chromium() -> str:
    exe = os.environ.get("CHROMIUM") or next(
        (p for p in ("chromium", "chromium-browser", "google-chrome") if shutil.which(p)), None
    )
    if not exe:
        sys.exit("chromium not found: apt-get install -y chromium (or set CHROMIUM=...)")
    return exe


def _run(page: Path, width: int, height: int, *extra: str) -> str:
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
            f"--window-size={width},{height}",
            *extra,
            page.resolve().as_uri(),
        ]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=180)
        return done.stdout


def measure(page: Path, width: int) -> int:
    """The rendered height in CSS pixels at `width`."""
    dom = _run(page, width, 800, "--virtual-time-budget=5000", "--dump-dom")
    m = re.search(r'data-height="(\d+)"', dom)
    if not m:
        sys.exit(f"{page}: the page did not report its height")
    return int(m.group(1))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--markdown", type=Path, default=DEFAULT_MD)
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "comment.png")
    ap.add_argument("--width", type=int, default=1000)
    ap.add_argument(
        "--tools-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "gatekeeper-tools",
        help="where npm installs github-markdown-css (default: a temp dir)",
    )
    ap.add_argument(
        "--measure", nargs="+", type=Path, metavar="MD", help="only print each file's height"
    )
    args = ap.parse_args(argv)
    css = github_css(args.tools_dir)
    if args.measure:
        with tempfile.TemporaryDirectory() as tmp:
            for md_file in args.measure:
                page = Path(tmp) / (md_file.stem + ".html")
                page.write_text(render_html(md_file.read_text("utf-8"), css, args.width), "utf-8")
                print(f"{measure(page, args.width):>6} px  {md_file}")
        return 0
    page_path = args.out.with_suffix(".html")
    page_path.parent.mkdir(parents=True, exist_ok=True)
    page_path.write_text(render_html(args.markdown.read_text("utf-8"), css, args.width), "utf-8")
    height = measure(page_path, args.width)
    _run(page_path, args.width, height, f"--screenshot={args.out.resolve()}")
    print(f"wrote {page_path} and {args.out}: {height} px tall at {args.width} px")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
