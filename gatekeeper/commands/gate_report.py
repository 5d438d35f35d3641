"""`gatekeeper gate`'s reporting: the job log, the check run (and commit status), the sticky
comment, the job summary, the JSON report and $GITHUB_OUTPUT for one PR's result.

Wiring only: the texts come from render/ (render.check_run budgets the check run's text)
and gate.record; every write goes through the GitHub client or adapters.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from gatekeeper.adapters import actions
from gatekeeper.decision import ALLOW, ERROR, Decision
from gatekeeper.errors import GatekeeperError
from gatekeeper.gate.pipeline import Result, empty_analysis
from gatekeeper.policy.model import Policy
from gatekeeper.render import markdown_escape as md
from gatekeeper.render.escape import log_line
from gatekeeper.render.pr_view import PrView

if TYPE_CHECKING:
    from gatekeeper.commands.gate import Gate
    from gatekeeper.commands.gate_options import Options


def say(text: str, *, err: bool = False) -> None:
    """Print one line to the job log. The log is where the runner reads workflow commands
    (`::add-mask::`, `::stop-commands::`, `::error::`) at the start of a line, leading
    whitespace ignored, on stdout and stderr: control characters and line breaks are shown
    as escapes (so untrusted text stays on its line), no line starts with `::` and no `##[`
    (the legacy form) is left anywhere: render.escape.log_line."""
    print(log_line(text), file=sys.stderr if err else sys.stdout)


def report(gate: Gate, result: Result) -> None:
    """Every output of one PR's result; a write that fails never turns a block into a pass."""
    from gatekeeper.render.check_run import check_output, job_summary

    decision = result.decision
    title, summary, text = check_output(result, (record_of(gate, result),))
    say(decision.headline)
    for line in dict.fromkeys((*decision.details, *result.explanation)):
        if line:
            say(f"  {line}")
    conclusion = "success"
    if decision.outcome != ALLOW:
        conclusion = "neutral" if decision.advisory else "failure"
    check_id = None
    if gate.check_sha:
        check_id = post_result(gate, conclusion, title, summary, text, decision.headline)
    if gate.opts.comment and result.analysis.plans and comment_wanted(gate.policy, decision):
        post(gate, "PR comment", lambda: post_comment(gate, result))
    actions.append_summary(gate.aenv.summary_path, job_summary(result))
    report_path = ""
    if gate.opts.report:
        from gatekeeper.adapters.files import write_atomic
        from gatekeeper.render.report import build_report, dumps

        doc = build_report(result.analysis, decision, result.sections.to_dict())
        post(gate, "JSON report", lambda: write_atomic(gate.opts.report or "", dumps(doc)))
        report_path = gate.opts.report
    plans = bool(result.analysis.plans)
    actions.write_outputs(
        gate.aenv.output_path,
        {
            "decision": decision.outcome,
            "headline": decision.headline,
            "gated-count": str(decision.gated_count or 0),
            "plan-digest": result.analysis.plan_digest if plans else "",
            "approvals-counted": str(decision.approvals_counted or 0),
            "approvals-required": str(decision.approvals_required or 0),
            "agent-authored": str(result.view.agent_authored).lower(),
            "check-run-id": str(check_id or ""),
            "pr-number": str(gate.number),
            "head-sha": result.view.head_sha,
            "report-path": report_path,
        },
    )


def record_of(gate: Gate, result: Result) -> str:
    """The decision record for this check run (gatekeeper.gate.record), serialised."""
    from gatekeeper.gate.record import decision_record, serialise

    return serialise(
        decision_record(
            repository=gate.repo,
            pull_request=gate.number,
            head_sha=result.view.head_sha or gate.check_sha or "",
            # The default branch's commit the policy and allowed_signers were read at.
            trust_root_sha=gate.trust_root.sha if gate.trust_root is not None else None,
            decision=result.decision,
            analysis=result.analysis,
            sections=result.sections.to_dict(),
            tampering=(t.line() for t in result.tampering),
        )
    )


def comment_wanted(policy: Policy | None, decision: Decision) -> bool:
    """Whether the policy wants the sticky comment for this decision."""
    policy = policy or Policy()
    if not policy.comment.enabled:
        return False
    return decision.outcome != ALLOW or policy.comment.on_allow


def external_id(gate: Gate) -> str:
    """The check run's external_id (gate.headcheck recognises the gate's own by it)."""
    run = gate.aenv.run_id or "local"
    attempt = gate.aenv.run_attempt or "1"
    return f"gatekeeper:{run}:{attempt}:{gate.number}:{(gate.check_sha or '')[:12]}"


def post(gate: Gate, what: str, fn: Callable[[], Any], *, result_of: str | None = None) -> Any:
    """Report; a failure to report is printed and never turns a block into a pass.
    An allow that could not be reported stays unreported (the check is missing).

    `result_of`: the conclusion being posted. A non-success result that could not be
    posted is loud: the check may still show an earlier success for this commit, so the
    job fails (Gate.run exits non-zero) and the log says so."""
    try:
        return fn()
    except GatekeeperError as exc:
        if result_of is None or result_of == "success":
            say(f"warning: could not post the {what}: {exc.message}", err=True)
            return None
        gate.unreported.append(what)
        say(
            f"error: could not post the {result_of} {what} on "
            f"{(gate.check_sha or '?')[:12]}: {exc.message}. It may still show an earlier "
            "result (even a success): this job fails instead; re-run it",
            err=True,
        )
        return None


def report_error(gate: Gate, message: str, hint: str | None) -> None:
    """Bad config or input, or a bug: still try to turn the check red with the one-line
    cause (the message may hold untrusted text: escaped for the title and Markdown)."""
    if not gate.check_sha:
        return
    summary = f"**error:** {md.prose(message)}"
    if hint:
        summary += f"\n\n{md.prose(hint)}"
    error = Decision(ERROR, f"error: {message}")
    view = PrView(repository=gate.repo, pr_number=gate.number, head_sha=gate.check_sha)
    record = record_of(gate, Result(empty_analysis(), error, view))
    title = md.visible(f"error: {message}")[:250]
    post_result(gate, "failure", title, summary, record, error.headline)


def post_result(
    gate: Gate, conclusion: str, title: str, summary: str, text: str, headline: str
) -> int | None:
    """The head's check run, and with --commit-status its status: one path for a result and
    for an error, so an error turns both red (an earlier success must not stay on either)."""
    check_id: int | None = post(
        gate,
        "check run",
        lambda: gate.client.create_check_run(
            gate.repo,
            head_sha=gate.check_sha or "",
            name=gate.opts.check_name,
            conclusion=conclusion,
            title=title,
            summary=summary,
            text=text,
            external_id=external_id(gate),
            details_url=gate.aenv.run_url,
        ),
        result_of=conclusion,
    )
    if gate.opts.commit_status:
        state = "success" if conclusion != "failure" else "failure"
        post(
            gate,
            "commit status",
            lambda: gate.client.create_status(
                gate.repo,
                sha=gate.check_sha or "",
                state=state,
                context=gate.opts.check_name,
                description=headline,
                target_url=gate.aenv.run_url,
            ),
            result_of=state,
        )
    return check_id


def post_comment(gate: Gate, result: Result) -> str:
    """Seam to the sticky comment (gatekeeper.adapters.comment + render.markdown)."""
    from gatekeeper.adapters.comment import upsert_sticky_comment
    from gatekeeper.render.markdown import comment_marker, render_comment, sticky_key

    # The key comes from the configuration, not from the analysis: a run that fails before
    # it has read its plans must land in the same comment as the runs that succeed.
    key = sticky_key(configured_labels(gate.opts))
    body = render_comment(result.analysis, result.decision, result.view, marker_key=key)
    marker = comment_marker(result.analysis, marker_key=key)
    known = gate.snapshot.comments if gate.snapshot is not None else None
    return str(
        upsert_sticky_comment(
            gate.client,
            gate.repo,
            gate.number,
            body,
            marker,
            self_login=gate.opts.comment_login,
            known=known,
            known_age=timedelta(seconds=time.monotonic() - gate.snapshot_at),
        )
    )


def configured_labels(opts: Options) -> list[str]:
    """The plan labels the job is configured with; in the split setup, the artifact name."""
    from gatekeeper.adapters.files import parse_plan_arg

    if opts.plans:
        return [parse_plan_arg(p).label for p in opts.plans]
    return [f"artifact:{opts.artifact}"]
