"""The shortcuts issue 17 took give the results the long way gives: the streamed report,
the changes `analyze(values=False)` neither redacts nor keeps, the memoised secrets and
digests, the log read as memoryview slices, and `--version`/`--help` with no subcommand
imported."""

from __future__ import annotations

import json
import subprocess
import sys

import msgspec
import pytest

from gatekeeper import cli
from gatekeeper.classify import ReasonCode, analyze, before_sha256
from gatekeeper.plan.parse import parse_plan
from gatekeeper.plan.redact import SENSITIVE, change_secrets, mask, redact_change
from gatekeeper.policy.model import Policy
from gatekeeper.render import report as json_report
from tests.helpers import SECRET, fixture_plan, log_summary, rc, show_json


def _plan(*changes: dict[str, object]) -> bytes:
    return show_json(*changes)


def test_the_streamed_report_is_byte_for_byte_the_formatted_document() -> None:
    # More records than one chunk, strings with newlines and quotes, an empty list after.
    records = [{"address": f'a.b["x\\n{i}"]', "n": i, "l": [1, {"k": []}]} for i in range(5000)]
    for doc in (
        {"a": 1, "changes": records, "summary": {"by_action": {}}, "z": []},
        {"changes": [], "plans": [{"changes": 3}]},
        {"error": "no changes key"},
    ):
        want = msgspec.json.format(msgspec.json.encode(doc), indent=2) + b"\n"
        assert b"".join(json_report.encode_report(doc)) == want
        assert json_report.dumps(doc) == want.decode()


def test_check_json_on_stdout_is_the_report_file(
    tmp_path: object, capfd: pytest.CaptureFixture[str]
) -> None:
    plan = str(fixture_plan("replace_prod_db"))
    out = f"{tmp_path}/r.json"
    code = cli.main(["check", "--format", "json", "--report", out, plan])
    stdout = capfd.readouterr().out
    with open(out) as fh:
        assert stdout == fh.read()
    doc = json.loads(stdout)
    assert doc["report_version"] == 1 and doc["summary"]["total"] == 3
    assert code == (1 if doc["summary"]["gated"] else 0)
    assert [c["address"] for c in doc["changes"]]  # the records came through the stream


def _secret_update_and_prod_delete() -> bytes:
    return _plan(
        rc(
            "aws_instance.web",
            ["update"],
            before={"user_data": SECRET, "tags": {"env": "dev"}},
            after={"user_data": SECRET + "2", "tags": {"env": "dev"}},
            before_sensitive={"user_data": True},
            after_sensitive={"user_data": True},
        ),
        rc(
            "aws_db_instance.main",
            ["delete"],
            before={"password": SECRET, "tags": {"env": "prod"}},
            before_sensitive={"password": True},
        ),
    )


def test_without_values_the_classification_and_digest_are_the_same() -> None:
    plan = parse_plan(_secret_update_and_prod_delete(), label="p", path="p.json")
    full = analyze([plan], Policy())
    lean = analyze([plan], Policy(), values=False)
    assert lean.plan_digest == full.plan_digest
    assert [(c.change.address, c.gated, c.reasons) for c in lean.changes] == [
        (c.change.address, c.gated, c.reasons) for c in full.changes
    ]
    gated = {c.change.address: c for c in lean.changes}["aws_db_instance.main"]
    assert gated.production and ReasonCode.TAG in [r.code for r in gated.reasons]
    assert SECRET not in json.dumps(gated.change.before())  # the destructive one is redacted
    update = {c.change.address: c for c in lean.changes}["aws_instance.web"]
    # not destructive and marked: no values are kept, so none can leak
    assert update.change.before() is None and update.change.after() is None
    assert update.change.before_sensitive() == {"user_data": True}
    # with values (the Markdown diffs creates and updates), it is redacted as before
    kept = {c.change.address: c for c in full.changes}["aws_instance.web"].change
    assert kept.before() == {"user_data": SENSITIVE, "tags": {"env": "dev"}}


def test_check_json_and_text_never_show_a_secret(
    capfd: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    path = f"{tmp_path}/plan.json"
    with open(path, "wb") as fh:
        fh.write(_secret_update_and_prod_delete())
    for fmt in ("json", "text", "markdown"):
        assert cli.main(["check", "--format", fmt, path]) == 1
        out = capfd.readouterr().out
        assert SECRET not in out and "aws_db_instance.main" in out, fmt


def test_a_secret_in_replace_paths_or_after_unknown_keys_reaches_no_output(
    capfd: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    # An update whose replace path and unknown-after map name a key equal to its secret:
    # with or without values kept, no output shows the key (the JSON report lists the paths,
    # the Markdown diff the keys after_unknown marks).
    plan = _plan(
        rc(
            "aws_instance.web",
            ["update"],
            before={"pw": SECRET, "m": {}},
            after={"pw": SECRET, "m": {}},
            before_sensitive={"pw": True},
            after_sensitive={"pw": True},
            after_unknown={"m": {SECRET: True}},
            replace_paths=[["m", SECRET]],
        ),
        rc(
            "aws_db_instance.main",
            ["delete"],
            before={"password": "x", "tags": {"env": "prod"}},
        ),
    )
    path = f"{tmp_path}/plan.json"
    with open(path, "wb") as fh:
        fh.write(plan)
    for fmt in ("json", "text", "markdown"):
        assert cli.main(["check", "--format", fmt, path]) == 1
        out = capfd.readouterr().out
        assert SECRET not in out, fmt
        # the update is listed where the format lists other changes (its path or its diff)
        assert fmt == "text" or "aws_instance.web" in out, fmt
    parsed = parse_plan(plan, label="p", path="p.json")
    assert SECRET not in json.dumps(redact_change(parsed.changes[0]).after_unknown())


def test_secrets_and_digest_are_computed_once_per_change_and_match_a_fresh_copy() -> None:
    plan = parse_plan(_secret_update_and_prod_delete(), label="p", path="p.json")
    change = redact_change(plan.changes[1])
    first = change_secrets(change)
    assert change_secrets(change) is first  # memoised by identity
    twin = msgspec.structs.replace(change)  # an equal change, another object
    assert twin is not change and change_secrets(twin) == first
    assert before_sha256(twin) == before_sha256(change)


def test_mask_with_nothing_marked_returns_the_value_itself() -> None:
    value = {"a": [1, {"b": "c"}]}
    assert mask(value, False) is value
    assert mask(value, None) is value
    masked = mask(value, False, frozenset({"c"}))
    assert masked == {"a": [1, {"b": SENSITIVE}]} and value == {"a": [1, {"b": "c"}]}


def test_the_log_read_as_slices_keeps_line_numbers_and_whitespace_rules() -> None:
    lines = [
        {"@level": "info", "type": "version", "terraform": "1.9.0", "ui": "1.2"},
        {
            "@level": "info",
            "@message": "a.b: Plan to delete",
            "type": "planned_change",
            "change": {"resource": {"addr": "aws_db_instance.main"}, "action": "delete"},
        },
        log_summary(["delete"]),
    ]
    text = "\r\n\n  ".join(json.dumps(x) for x in lines) + "\r\n \n"
    plan = parse_plan(text.encode(), label="p", path="p.log")
    assert [c.address for c in plan.changes] == ["aws_db_instance.main"]
    # a stray line is reported with its own line number, as before
    bad = (json.dumps(lines[0]) + "\n\n  nope  \n" + json.dumps(lines[2])).encode()
    with pytest.raises(Exception, match=r"p.log:3: .*'nope'"):
        parse_plan(bad, label="p", path="p.log")


def test_version_and_help_import_no_subcommand() -> None:
    code = (
        "import sys, contextlib, io\n"
        "from gatekeeper import cli\n"
        "for argv in (['--version'], ['--help']):\n"
        "    with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "        cli.main(argv)\n"
        "print(sorted(m for m in sys.modules if m.startswith('gatekeeper.commands.')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_lazy_help_lines_are_each_subcommands_own() -> None:
    real = cli.build_parser()
    sub = next(a for a in real._actions if a.dest == "command")
    helps = {a.dest: a.help for a in sub._choices_actions}  # type: ignore[attr-defined]
    assert helps == cli.COMMANDS


def test_a_bundle_is_read_alike_and_refuses_nan() -> None:
    from gatekeeper.bundle.format import BundleError, build_bundle, parse_bundle

    plan = parse_plan(_secret_update_and_prod_delete(), label="p", path="p.json")
    doc = build_bundle([plan], repository="o/r", head_sha="a" * 40)
    bundle = parse_bundle(json.dumps(doc).encode())
    # values re-encoded by msgspec decode to what the bundle holds; the verdict is the file's
    from_file = analyze([plan], Policy())
    from_bundle = analyze(bundle.plans, Policy())
    assert from_bundle.plan_digest == from_file.plan_digest
    assert [c.change.before() for c in from_bundle.changes] == [
        c.change.before() for c in from_file.changes
    ]
    doc["plans"][0]["changes"][0]["after"] = {"x": float("nan")}
    with pytest.raises(BundleError, match="not valid JSON"):
        parse_bundle(json.dumps(doc).encode())
