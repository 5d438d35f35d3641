"""The reviewer's view (gatekeeper.render.markdown), at the renderer: structure, truncation
and the order of its parts. The golden files are made by the real gate (tests/test_golden.py).

Scenarios are built from real plans: the Terraform 1.0.3 fixtures under fixtures/terraform/
and the public corpus in fixtures/corpus (see PROVENANCE.tsv there). Where a plan a
real Terraform cannot produce is needed (thousands of changes; a for_each key with every
hostile character at once), it is derived from a real plan in `_derived_plan`, by copying
resource_changes entries under new addresses; nothing else in them is changed.

The structure test parses every rendering with markdown-it-py (CommonMark + GFM tables and
strikethrough, raw HTML on, as GitHub allows it) and checks: tables parse as tables with the
expected number of rows, every `<details>` is closed, the only raw HTML is the renderer's
own (marker comment, details/summary, `<code>` in a summary, `<br>` in cells), hostile
strings reach the HTML only as escaped text, links point only to the declaring .tf lines or
the run, and no `@mention`, bare URL or issue reference survives in text.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from gatekeeper.classify import Analysis, analyze
from gatekeeper.decision import ALLOW, BLOCK, ERROR, Decision, decide_offline
from gatekeeper.plan.model import Plan
from gatekeeper.plan.parse import parse_plan
from gatekeeper.policy.model import Policy, ProductionPolicy
from gatekeeper.render import markdown_escape as md
from gatekeeper.render.layout import size_bytes, size_chars
from gatekeeper.render.markdown import (
    CHECK_LIMIT,
    COMMENT_LIMIT,
    MARKER_PREFIX,
    SUMMARY_LIMIT,
    check_title,
    comment_marker,
    render_check_output,
    render_comment,
    render_markdown,
    render_summary,
    sticky_key,
    sticky_marker,
)
from gatekeeper.render.pr_view import Person, PrView
from gatekeeper.source.model import Location, SourceFacts
from tests.helpers import CORPUS, SECRET, TERRAFORM

GOLDEN = Path(__file__).parents[1] / "golden"
UPDATE = os.environ.get("GATEKEEPER_UPDATE_GOLDEN") == "1"

HEAD = "9f1c2e3d4b5a69788796a5b4c3d2e1f0a9b8c7d6"
RUN_URL = "https://github.com/acme/infra/actions/runs/9876543210"
HOSTILE_KEY = "`x`</details><img src=x>@org/team"
HOSTILE_BRANCH = "codex/</details><img src=x>@org/team`x`[y](https://evil.example)"

POLICY = Policy(production=ProductionPolicy(tag_attributes=("triggers", "tags")))


# ---------------------------------------------------------------- building scenarios


def _plan(path: Path, label: str) -> Plan:
    return parse_plan(path.read_bytes(), label=label, path=path.name)


def _derived_plan(
    path: Path, label: str, edit: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
) -> Plan:
    """A real plan whose resource_changes list is rewritten by `edit` (see module doc)."""
    doc = json.loads(path.read_bytes())
    doc["resource_changes"] = edit(doc["resource_changes"])
    return parse_plan(json.dumps(doc).encode(), label=label, path=path.name)


def _block_lines(tf: Path, kind: str, type_: str, name: str) -> tuple[int, int]:
    """First and last line of `kind "type" "name" {` ... `}` in a .tf file."""
    lines = tf.read_text("utf-8").splitlines()
    head = f'{kind} "{type_}" "{name}"' if type_ else f'{kind} "{name}"'
    start = next(i for i, line in enumerate(lines) if line.startswith(head))
    end = next(i for i in range(start, len(lines)) if lines[i] == "}")
    return start + 1, end + 1


def _facts(tf: Path, repo_path: str, type_: str, name: str, **kw: Any) -> SourceFacts:
    line, end = _block_lines(tf, "resource", type_, name)
    return SourceFacts(location=Location(repo_path, line, end, "resource"), **kw)


@dataclass
class Scenario:
    analysis: Analysis
    decision: Decision
    view: PrView | None
    hostile: tuple[str, ...] = ()
    secrets: tuple[str, ...] = ()
    marker_key: str | None = None


def _agent_view(digest: str = "", **kw: Any) -> PrView:
    base = PrView(
        repository="acme/infra",
        pr_number=42,
        head_sha=HEAD,
        agent_authored=True,
        agent_evidence=(
            "PR author `codex-agent[bot]` is a Bot account (GitHub API: user.type)",
            "commit 9f1c2e3 has the trailer `Co-authored-by: Codex <codex@openai.com>`",
            "head branch `codex/upgrade-orders-db` starts with `codex/`",
        ),
        approvals_required=2,
        approvals_excluded=(
            Person("alice", "the operator: co-author of commit 9f1c2e3 (Co-authored-by)"),
            Person("codex-agent[bot]", "a bot, and the PR author"),
        ),
        approvals_stale=(Person("bob", "approved 1a2b3c4d, before the last push"),),
        # the shape the gate prints (Gate._sign_command); the digest is recomputed by sign
        sign_command=(
            "gatekeeper sign --repo acme/infra --pr 42 --plan prod=plans/prod.json "
            "--key ~/.ssh/id_ed25519_sk --reason 'INC-123: why'"
        ),
        full_report_url=RUN_URL,
    )
    return replace(base, **kw)


def agent_replace_prod_db() -> Scenario:
    d = TERRAFORM / "replace_prod_db" / "head"
    source = {
        ("prod", "module.prod_db.null_resource.primary"): _facts(
            d / "modules/db/main.tf", "infra/modules/db/main.tf", "null_resource", "primary"
        ),
        ("prod", "null_resource.notify_queue"): _facts(
            d / "main.tf", "infra/main.tf", "null_resource", "notify_queue"
        ),
    }
    analysis = analyze([_plan(TERRAFORM / "replace_prod_db" / "plan.json", "prod")], POLICY, source)
    view = _agent_view(analysis.plan_digest)
    decision = Decision(
        BLOCK,
        "blocked: 1 destructive change to production needs 2 approvals by distinct humans "
        "(0 counted)",
    )
    return Scenario(analysis, decision, view)


def several_plans() -> Scenario:
    policy = Policy(
        production=ProductionPolicy(
            tag_attributes=("triggers", "tags"), addresses=("aws_cloudwatch_event_*",)
        )
    )
    cbd = TERRAFORM / "replace_create_before_destroy" / "head" / "main.tf"
    source = {
        ("edge", "null_resource.load_balancer"): _facts(
            cbd, "edge/main.tf", "null_resource", "load_balancer", create_before_destroy=True
        ),
        # As the source mapper reports a block with `lifecycle { prevent_destroy = true }` (a plan
        # Terraform would refuse to apply): the line numbers are made up for this scenario.
        ("shared", "aws_cloudwatch_event_rule.Metricos_custom_alert_schedule_frequent[0]"): (
            SourceFacts(
                location=Location("shared/alerts.tf", 12, 31, "resource"), prevent_destroy=True
            )
        ),
    }
    plans = [
        _plan(TERRAFORM / "replace_prod_db" / "plan.json", "prod"),
        _plan(CORPUS / "tfcompliance" / "aws_2deletes_tags_drift_tf100.json", "shared"),
        _plan(TERRAFORM / "replace_create_before_destroy" / "plan.json", "edge"),
        _plan(CORPUS / "tfreveal" / "advanced_4replaces_delete_sensitive.json", "tools"),
    ]
    analysis = analyze(plans, policy, source)
    view = PrView(
        repository="acme/infra",
        pr_number=7,
        head_sha=HEAD,
        approvals_required=1,
        approvals_excluded=(Person("dave", "the PR author"),),
        sign_command=(
            "gatekeeper sign --repo acme/infra --pr 7 --plan prod=plans/prod.json "
            "--plan shared=plans/shared.json --key ~/.ssh/id_ed25519_sk --reason 'INC-1: why'"
        ),
        full_report_url=RUN_URL,
    )
    n = len(analysis.gated)
    decision = Decision(
        BLOCK, f"blocked: {n} destructive changes to production need 1 approval (0 counted)"
    )
    return Scenario(analysis, decision, view)


def _replicate(copies: int) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
    def edit(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for i in range(copies):
            module = f"module.region_{i:03d}"
            for rc in changes:
                new = copy.deepcopy(rc)
                new["address"] = f"{module}.{rc['address']}"
                new["module_address"] = module
                out.append(new)
        return out

    return edit


def thousands_truncated() -> Scenario:
    # 200 copies of a real 15-change AWS plan: 3,000 changes, 400 of them deletes.
    plan = _derived_plan(
        CORPUS / "tfcompliance" / "aws_2deletes_tags_drift_tf100.json", "prod", _replicate(200)
    )
    policy = Policy(
        production=ProductionPolicy(addresses=("module.region_00?.aws_cloudwatch_event_rule.*",))
    )
    analysis = analyze([plan], policy)
    decision = decide_offline(analysis, policy)
    view = _agent_view(sign_command=None, trust_root_changes=(".github/workflows/plan.yml",))
    return Scenario(analysis, decision, view)


def sensitive_values() -> Scenario:
    plans = [
        _plan(TERRAFORM / "sensitive_values" / "plan.json", "app"),
        _plan(CORPUS / "tfreveal" / "sensitive_replace.json", "secrets"),
        _plan(CORPUS / "tfreveal" / "advanced_4replaces_delete_sensitive.json", "files"),
    ]
    policy = Policy(
        production=ProductionPolicy(tag_attributes=("triggers",), plan_labels=("secrets",))
    )
    analysis = analyze(plans, policy)
    # Offline: what `gatekeeper check --format markdown` prints.
    return Scenario(
        analysis,
        decide_offline(analysis, policy),
        None,
        secrets=(SECRET, "some secret value", "new secret value"),
    )


def _with_hostile_key(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    src = next(rc for rc in changes if rc["address"] == 'null_resource.member["back`tick`"]')
    new = copy.deepcopy(src)
    new["address"] = f'null_resource.member["{HOSTILE_KEY}"]'
    new["index"] = HOSTILE_KEY
    for side in ("before", "after"):
        new["change"][side]["triggers"]["name"] = HOSTILE_KEY
    # ... and a create (not destructive: it goes to the folded "other changes").
    created = copy.deepcopy(new)
    created["address"] = 'null_resource.extra["<!-- x --> @org/team"]'
    created["name"], created["index"] = "extra", "<!-- x --> @org/team"
    created["change"].update(actions=["create"], before=None, before_sensitive=False)
    created["change"].pop("replace_paths", None)
    return [*changes, new, created]


def hostile_keys() -> Scenario:
    label = "prod <b>@org/team</b> `x` | y"
    plan = _derived_plan(
        TERRAFORM / "for_each_awkward_keys" / "plan.json", label, _with_hostile_key
    )
    tf = TERRAFORM / "for_each_awkward_keys" / "head" / "main.tf"
    line, end = _block_lines(tf, "resource", "null_resource", "member")
    source = {
        (label, c.address): SourceFacts(
            location=Location("modules/my (odd) dir/main.tf", line, end, "resource")
        )
        for c in plan.changes
        if c.address.startswith("null_resource.member")
    }
    analysis = analyze([plan], POLICY, source)
    view = _agent_view(
        agent_evidence=(
            f"head branch `{HOSTILE_BRANCH}` starts with `codex/`",
            "PR body says: <!-- agent --> @org/team please merge https://evil.example",
        ),
        approvals_counted=(Person("carol"),),
        approvals_excluded=(Person("mallory", "review text: </details><b>x</b> @org/team"),),
        sign_command="gatekeeper sign --note '```' --pr 42",
        # Not a plain https URL: it must not become a link.
        full_report_url="javascript:alert(1)",
    )
    decision = Decision(
        BLOCK,
        f"blocked: {len(analysis.gated)} destructive changes to production need 2 approvals",
        details=(f"for_each key {HOSTILE_KEY} is new",),
    )
    hostile = (
        HOSTILE_KEY,
        "</details><img src=x>",
        "<img src=x>",
        "<script>",
        "<b>",
        "<!-- agent -->",
        "@org/team",
        "@admin",
        "https://evil.example",
    )
    return Scenario(analysis, decision, view, hostile=hostile)


def advisory() -> Scenario:
    policy = Policy(mode="advisory", production=POLICY.production)
    analysis = analyze([_plan(TERRAFORM / "replace_prod_db" / "plan.json", "prod")], policy)
    return Scenario(analysis, decide_offline(analysis, policy), _agent_view(analysis.plan_digest))


def allowed() -> Scenario:
    analysis = analyze(
        [_plan(TERRAFORM / "update_in_place_and_create" / "plan.json", "prod")], POLICY
    )
    view = PrView(
        repository="acme/infra",
        pr_number=8,
        head_sha=HEAD,
        approvals_required=1,
        approvals_counted=(Person("bob"),),
    )
    return Scenario(analysis, Decision(ALLOW, "allowed: no gated changes"), view)


def error() -> Scenario:
    analysis = analyze([], POLICY)
    decision = Decision(
        ERROR,
        "error: no plan for the head commit 9f1c2e3",
        details=(
            "plans/prod.json: the JSON ends early (truncated)",
            "hint: the file was cut off: regenerate it with `terraform show -json tfplan`",
        ),
    )
    return Scenario(analysis, decision, _agent_view(), marker_key=sticky_key(["prod"]))


def offline_destroy_all() -> Scenario:
    analysis = analyze([_plan(TERRAFORM / "destroy_all" / "plan.json", "prod")], POLICY)
    return Scenario(analysis, decide_offline(analysis, POLICY), None)


SCENARIOS: dict[str, Callable[[], Scenario]] = {
    "agent_replace_prod_db": agent_replace_prod_db,
    "several_plans": several_plans,
    "thousands_truncated": thousands_truncated,
    "sensitive_values": sensitive_values,
    "hostile_keys": hostile_keys,
    "advisory": advisory,
    "allowed": allowed,
    "error": error,
    "offline_destroy_all": offline_destroy_all,
}


def render(name: str, s: Scenario) -> str:
    if s.view is None:
        return render_markdown(s.analysis, s.decision)  # as `gatekeeper check` does
    return render_comment(s.analysis, s.decision, s.view, marker_key=s.marker_key)


@pytest.fixture(scope="module")
def scenarios() -> dict[str, Scenario]:
    return {name: build() for name, build in SCENARIOS.items()}


# ---------------------------------------------------------------- structure


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])


_ALLOWED_BLOCK_HTML = [
    re.compile(re.escape(MARKER_PREFIX) + r"[A-Za-z0-9_.\-]+ -->\n"),
    re.compile(r"<details><summary>[^<>]*(<code>[^<>]*</code>[^<>]*)?</summary>\n"),
    re.compile(r"</details>\n"),
]
_TEXT_LEAKS = [
    re.compile(r"@[A-Za-z0-9_]"),  # a mention or an e-mail autolink
    re.compile(r"(?i)[a-z]+://"),  # a bare URL GitHub would autolink
    re.compile(r"(?i)\bwww\."),
    re.compile(r"#\d"),  # an issue reference
]


def _walk(tokens: list[Any]) -> list[Any]:
    out = []
    for t in tokens:
        out.append(t)
        if t.children:
            out.extend(_walk(t.children))
    return out


def check_structure(text: str, s: Scenario) -> None:
    tokens = _parser().parse(text)
    flat = _walk(tokens)

    # Raw HTML: only the renderer's own.
    depth = 0
    for t in flat:
        if t.type == "html_block":
            assert any(p.fullmatch(t.content) for p in _ALLOWED_BLOCK_HTML), t.content
            depth += t.content.startswith("<details>") - t.content.startswith("</details>")
            assert 0 <= depth <= 1, "details nested or closed before opened"
        elif t.type == "html_inline":
            assert t.content == "<br>", t.content
    assert depth == 0, "a <details> is not closed"

    # The gated table is a table: one column (it fits 1,000 px), a row per gated change
    # (unless truncated), the address first and alone on its line. One "Plan:" line per plan.
    tables = [i for i, t in enumerate(tokens) if t.type == "table_open"]
    if s.analysis.plans and s.analysis.gated:
        assert len(tables) == 1, "expected the gated table only"
        gated_rows = _table_rows(tokens, tables[0])
        assert gated_rows[0][0].startswith("Resource")
        truncated = "Shortened" in text and "rows of the gated changes table" in text
        if not truncated:
            assert len(gated_rows) == len(s.analysis.gated) + 1
        for row, c in zip(gated_rows[1:], s.analysis.gated, strict=False):
            assert len(row) == 1
            first = row[0].split("<br>")[0]
            assert first.startswith(("🔴 ", "🟠 ")) and first.endswith("`")
            assert md.code(c.change.address[:300], in_table=True) in first
    else:
        assert not tables
    if s.analysis.plans:
        plan_lines = re.findall(r"^- `.*\): (?:Plan: |No changes)", text, re.M)
        assert len(plan_lines) == len(s.analysis.plans), plan_lines

    # Links only to the declaring lines at the head SHA, or to the run.
    for t in flat:
        if t.type == "link_open":
            href = t.attrs["href"]
            ok = href.startswith(f"https://github.com/acme/infra/blob/{HEAD}/") or (
                s.view is not None and href == s.view.full_report_url
            )
            assert ok, href
        assert t.type != "image", t

    # Text never carries a mention, a bare URL or an issue reference.
    for t in flat:
        if t.type in ("text", "text_special"):
            for rx in _TEXT_LEAKS:
                assert not rx.search(t.content), (rx.pattern, t.content)

    html = _parser().render(text)
    for h in s.hostile:
        if "<" in h:
            assert h not in html, h
    assert "<img" not in html and "<script" not in html and "<b>" not in html
    assert html.count("<details>") == html.count("</details>")
    assert html.count("<table>") == len(tables)
    for secret in s.secrets:
        assert secret not in text
        assert secret not in html

    # Every fence that opens closes: diff blocks are the fences with info "diff", and the
    # Markdown after the last one still parses as Markdown (the footer is a paragraph).
    assert tokens[-1].type == "paragraph_close"
    assert "plan digest" in tokens[-2].content


def _table_rows(tokens: list[Any], start: int) -> list[list[str]]:
    rows: list[list[str]] = []
    for t in tokens[start:]:
        if t.type == "table_close":
            break
        if t.type == "tr_open":
            rows.append([])
        elif t.type == "inline":
            rows[-1].append(t.content)
    return rows


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_structure(name: str, scenarios: dict[str, Scenario]) -> None:
    s = scenarios[name]
    check_structure(render(name, s), s)


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_structure_of_summary_and_check_output(name: str, scenarios: dict[str, Scenario]) -> None:
    s = scenarios[name]
    summary = render_summary(s.analysis, s.decision, s.view)
    assert size_bytes(summary) <= SUMMARY_LIMIT
    check_structure(summary, s)
    out = render_check_output(s.analysis, s.decision, s.view)
    assert size_chars(out.summary) <= CHECK_LIMIT and size_chars(out.text) <= CHECK_LIMIT
    assert "<details>" not in out.summary  # the core only
    for secret in s.secrets:
        assert secret not in out.summary + out.text + out.title


def test_hostile_strings_render_as_text(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["hostile_keys"]
    text = render("hostile_keys", s)
    tokens = _walk(_parser().parse(text))
    # The hostile for_each key is shown, exactly, as code (table cell, diff) and nowhere raw.
    codes = [t.content for t in tokens if t.type == "code_inline"]
    assert f'null_resource.member["{HOSTILE_KEY}"]' in codes
    fences = [t.content for t in tokens if t.type == "fence"]
    assert any(f.startswith(f'# null_resource.member["{HOSTILE_KEY}"] must be') for f in fences)
    # The sign command's backticks did not close its fence.
    assert any(t.info == "sh" and "--note '```'" in t.content for t in tokens if t.type == "fence")
    # The hostile plan label: code in cells, entity-escaped inside <summary>.
    assert "<code>prod &lt;b&gt;@\u200borg/team&lt;/b&gt; `x` | y</code>" in text
    # The odd source path is percent-encoded in the link, shown verbatim as its text.
    assert f"/blob/{HEAD}/modules/my%20%28odd%29%20dir/main.tf#L18-L26" in text
    # The javascript: report URL is not a link.
    assert "javascript:" not in text or "](javascript:" not in text
    assert "](javascript" not in text


def test_sensitive_values_never_leak_anywhere(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["sensitive_values"]
    outputs = [
        render_markdown(s.analysis, s.decision),
        render_comment(s.analysis, s.decision, _agent_view()),
        render_summary(s.analysis, s.decision, _agent_view()),
    ]
    out = render_check_output(s.analysis, s.decision, _agent_view())
    outputs += [out.title, out.summary, out.text]
    for text in outputs:
        for secret in s.secrets:
            assert secret not in text
    assert "(sensitive value)" in outputs[0]


# ---------------------------------------------------------------- truncation


@pytest.mark.slow
def test_thousands_of_changes_truncated_deterministically(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["thousands_truncated"]
    assert len(s.analysis.changes) == 3000
    text = render("thousands_truncated", s)
    assert size_chars(text) <= COMMENT_LIMIT
    assert text == render("thousands_truncated", s)  # deterministic
    # The decision, the whole gated table and Terraform's plan line are kept.
    assert text.startswith(comment_marker(s.analysis) + "\n\n### ⛔ Blocked")
    for c in s.analysis.gated:
        assert f"| 🔴 {md.code(c.change.address, in_table=True)}<br>" in text
    assert "Plan: 1000 to add, 200 to change, 400 to destroy" in text
    # Everything else is folded, shortened within the room left, and said so.
    m = re.search(r"Shortened\*\* to fit the limit of 65,536 characters\. Left out: ([^\n]+)", text)
    assert m, "the truncation notice is missing"
    assert "destructive changes that are not production" in m.group(1)
    assert f"[the job summary of this run]({RUN_URL})" in text
    assert "(390: 390 delete)" in text  # the folded part's summary still counts them all
    # Without a limit, nothing is cut.
    full = render_markdown(s.analysis, s.decision, s.view)
    assert "Shortened" not in full and size_chars(full) > COMMENT_LIMIT


def test_comment_limit_is_tight(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["several_plans"]
    full = render_comment(s.analysis, s.decision, s.view, limit=10**9)
    for limit in (size_chars(full), size_chars(full) - 1, 9000, 6000):
        text = render_comment(s.analysis, s.decision, s.view, limit=limit)
        assert size_chars(text) <= limit
        if limit >= size_chars(full):
            assert text == full
        else:
            assert "Shortened" in text
            check_structure(text, s)


@pytest.mark.slow
def test_all_gated_keeps_decision_and_cuts_table_rows() -> None:
    plan = _derived_plan(
        CORPUS / "tfcompliance" / "aws_2deletes_tags_drift_tf100.json", "prod", _replicate(300)
    )
    policy = Policy(production=ProductionPolicy(addresses=("module.*",)))
    analysis = analyze([plan], policy)
    decision = decide_offline(analysis, policy)
    view = _agent_view()
    assert len(analysis.gated) == 600
    text = render_comment(analysis, decision, view)
    assert size_chars(text) <= COMMENT_LIMIT
    assert "### ⛔ Blocked: 600 destructive production changes" in text
    assert "**To unblock:**" in text and "gatekeeper sign" in text
    m = re.search(r"the last (\d+) of 600 rows of the gated changes table", text)
    assert m
    shown = text.count("| 🔴 `")
    assert shown == 600 - int(m.group(1)) and shown > 50
    s = Scenario(analysis, decision, view)
    check_structure(text, s)


def test_a_tiny_limit_still_keeps_the_decision(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["agent_replace_prod_db"]
    text = render_comment(s.analysis, s.decision, s.view, limit=1200)
    assert size_chars(text) <= 1200
    assert "### ⛔ Blocked" in text and "Shortened" in text


def test_summary_is_measured_in_bytes(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["thousands_truncated"]
    text = render_summary(s.analysis, s.decision, s.view, limit=200_000)
    assert size_bytes(text) <= 200_000
    assert "the JSON report" in text
    full = render_summary(s.analysis, s.decision, s.view)
    assert "Truncated" not in full and size_bytes(full) <= SUMMARY_LIMIT


# ---------------------------------------------------------------- pieces


def test_sticky_marker_and_key() -> None:
    assert sticky_key(["b", "a", "a"]) == sticky_key(["a", "b"])
    assert sticky_key(["a"]) != sticky_key(["a", "b"])
    assert sticky_marker("abc") == "<!-- gatekeeper:sticky:abc -->"
    with pytest.raises(ValueError):
        sticky_marker("x -->")


def test_comment_starts_with_marker_of_plan_labels(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["several_plans"]
    text = render_comment(s.analysis, s.decision, s.view)
    key = sticky_key(["prod", "shared", "edge", "tools"])
    assert text.startswith(f"<!-- gatekeeper:sticky:{key} -->\n\n")
    assert render_markdown(s.analysis, s.decision, s.view).startswith("### ")


def test_check_output_title_and_split(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["agent_replace_prod_db"]
    out = render_check_output(s.analysis, s.decision, s.view)
    assert out.title == (
        "Blocked: 1 destructive change to production needs 2 approvals by distinct humans "
        "(0 counted)"
    )
    assert "#### Gated changes (1)" in out.summary and "```diff" not in out.summary
    assert "```diff" in out.text and "### ⛔" not in out.text
    assert check_title(Decision(BLOCK, "x" * 400)).endswith("…")
    assert len(check_title(Decision(BLOCK, "x" * 400))) == 255


def test_advisory_mode_is_stated(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["advisory"]
    text = render("advisory", s)
    assert text.splitlines()[2].startswith("### ⚠️ Would be blocked (advisory mode)")
    assert "This check never fails." in text
    assert s.decision.exit_code == 0


def test_source_links_point_at_the_head_sha(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["agent_replace_prod_db"]
    text = render("agent_replace_prod_db", s)
    assert (
        f"[`infra/modules/db/main.tf#L9-L15`](https://github.com/acme/infra/blob/{HEAD}/"
        "infra/modules/db/main.tf#L9-L15)"
    ) in text
    offline = render_markdown(s.analysis, s.decision)
    assert "`infra/modules/db/main.tf#L9-L15`" in offline and "](https://" not in offline


# ---------------------------------------------------------------- the reviewer's order


def test_terraform_plan_line_as_terraform_prints_it() -> None:
    from gatekeeper.render.markdown import terraform_summary
    from tests.helpers import rc, show_json

    def line(path: Path) -> str:
        return terraform_summary(analyze([_plan(path, "p")], POLICY).changes)

    assert line(TERRAFORM / "replace_prod_db" / "plan.json") == (
        "Plan: 2 to add, 0 to change, 1 to destroy."  # a replace is one add and one destroy
    )
    assert line(TERRAFORM / "no_changes" / "plan.json") == "No changes."
    assert line(CORPUS / "terraform-json" / "identity_import.json") == (
        "Plan: 1 to import, 0 to add, 1 to change, 0 to destroy."
    )
    forget = show_json(rc("aws_s3_bucket.logs", ["forget"], before={"id": "x"}), version="1.2")
    plan = parse_plan(forget, label="p", path="p")
    assert terraform_summary(analyze([plan], POLICY).changes) == (
        "Plan: 0 to add, 0 to change, 0 to destroy, 1 to forget."
    )


def test_parts_come_in_the_order_a_reviewer_reads(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["agent_replace_prod_db"]
    text = render("agent_replace_prod_db", s)
    order = [
        "### ⛔ Blocked",
        "**To unblock:**",
        "**Or a signed override:**",
        "#### Gated changes (1)",
        "| Resource",
        "```diff\n# module.prod_db.null_resource.primary must be replaced",
        "#### Plan",
        "Plan: 2 to add, 0 to change, 1 to destroy",
        "<details><summary>Other changes in plan",
        "<details><summary>🤖 Authorship",
        "<details><summary>Approvals (2 not counted, 1 stale)",
        "[workflow run]" if s.view and s.view.run_url else "[full report]",
    ]
    at = [text.index(x) for x in order]
    assert at == sorted(at), order
    # who did not count is named up top; why is folded
    assert "Not counted: @\u200balice, @\u200bcodex" in text


def test_allowed_comment_says_why_and_nothing_it_no_longer_needs() -> None:
    analysis = analyze([_plan(TERRAFORM / "replace_prod_db" / "plan.json", "prod")], POLICY)
    view = _agent_view(approvals_counted=(Person("alice"), Person("carol")), approvals_stale=())
    decision = Decision(
        ALLOW,
        "allowed: 1 destructive production change approved by 2 distinct humans (@alice, @carol)",
        details=("signed overrides: none (1 required)",),
    )
    text = render_comment(analysis, decision, view)
    head = text.split("#### Gated changes")[0]
    assert "approved by 2 distinct humans" in head
    for stale in ("To unblock", "required", "more approval", "signed override", "gatekeeper sign"):
        assert stale not in head, stale
    assert "signed overrides: none" in text.split("<summary>Approvals")[1]  # folded


def test_notes_shared_by_rows_are_said_once() -> None:
    analysis = analyze([_plan(TERRAFORM / "sensitive_values" / "plan.json", "app")], POLICY)
    text = render_markdown(analysis, decide_offline(analysis, POLICY))
    note = "Terraform: an attribute that cannot change in place changed"
    assert len(analysis.gated) == 3
    assert text.count(note) == 1 and f"{note} (all of them)" in text


def test_notices_come_first_above_the_decision(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["agent_replace_prod_db"]
    assert s.view is not None
    notice = "> 🚨 **Tampering:** a rival `gatekeeper` check run on this head"
    text = render_comment(s.analysis, s.decision, replace(s.view, notices=(notice,)))
    assert text.index(notice) < text.index("### ⛔")
    assert text.startswith(comment_marker(s.analysis) + "\n\n" + notice)
    tiny = render_comment(s.analysis, s.decision, replace(s.view, notices=(notice,)), limit=900)
    assert notice in tiny and "### ⛔" in tiny  # kept even in the last resort


def test_every_comment_links_the_run_and_the_report(scenarios: dict[str, Scenario]) -> None:
    s = scenarios["allowed"]
    view = replace(s.view or _agent_view(), run_url=RUN_URL, full_report_url=RUN_URL)
    text = render_comment(s.analysis, s.decision, view)
    assert f"[workflow run]({RUN_URL})" in text and f"[full report]({RUN_URL})" in text
