"""`gatekeeper sign --apply`: a human signs an apply override (break glass outside a PR).

For an apply that no PR approval covers (a workflow_dispatch, a plan that drifted after
review), `gatekeeper verify` in the apply job blocks, and prints the commit, its run id and
this command. The human recomputes the gated changes from the plan (their own
`terraform show -json`, or the bundle the blocked run uploaded: masked, bound to the commit),
under the policy at that commit on the default branch; sees the exact message; types the
run id to confirm; signs with `ssh-keygen -Y sign` in the apply namespace; the result is
checked with verify's own evaluation and printed (posted on the commit with --post). Then
re-run the blocked run: a re-run keeps its run id, so the override counts there, and only
there.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

from gatekeeper.adapters import sign_github as gh
from gatekeeper.adapters.ssh_keygen import sign_with_ssh_keygen
from gatekeeper.adapters.trustroot import TrustRoot
from gatekeeper.errors import ApiError, OverrideError
from gatekeeper.overrides.apply import (
    ApplyOverrideMessage,
    apply_context,
    apply_namespace,
    evaluate_apply_overrides,
    format_apply_comment,
    render_apply_message,
)
from gatekeeper.overrides.evaluate import OverrideComment
from gatekeeper.overrides.message import format_change, format_time, sort_changes
from gatekeeper.overrides.signer import validity
from gatekeeper.render.escape import terminal

_SHA = re.compile(r"[0-9a-f]{40}")


def run_apply(args: argparse.Namespace) -> int:
    from gatekeeper.commands import sign as s
    from gatekeeper.commands.verify import Verifier

    if args.pr is not None:
        raise OverrideError("--apply takes no --pr", "an apply override is bound to a commit")
    sha = (args.commit or "").lower()
    if not _SHA.fullmatch(sha) or not args.run_id:
        raise OverrideError(
            "--apply needs --commit SHA (40 hex) and --run-id N",
            "both are in the blocked `gatekeeper verify` log of the apply run",
        )
    gh.check_repository(args.repo)
    ttl = s.parse_ttl(args.ttl) if args.ttl is not None else None
    reason = s._clean_reason(args.reason)
    key_path = Path(args.key).expanduser()
    if not key_path.is_file():
        raise OverrideError(f"signing key {key_path} does not exist", "pass the path with --key")
    pub_path, key = s._public_key(key_path)
    if args.yes_i_confirm is not None and args.yes_i_confirm != args.run_id:
        raise OverrideError(
            f"--yes-i-confirm {args.yes_i_confirm} does not match --run-id {args.run_id}: "
            "nothing was signed or posted",
            "pass the run id you mean to unblock to both",
        )
    token = gh.token_from_env(os.environ)
    api_url = gh.api_url_from(args.api_url, os.environ)
    plans = s.read_plan_input(args)
    client = gh.open_client(token, api_url)
    now = datetime.now(UTC).replace(microsecond=0)

    # The policy and allowed_signers exactly as verify reads them: at the commit, which must
    # be on the default branch.
    v = Verifier(client, args.repo, sha, args.run_id, args)
    try:
        default = client.default_branch(args.repo)
        status = client.compare_status(args.repo, default, sha)
        if status not in ("identical", "behind"):
            raise OverrideError(
                f"{sha[:12]} is not on the default branch {default} ({status}): verify "
                "never applies it",
                "an apply override is only for a commit of the default branch",
            )
        policy = v.read_policy(default)
        overrides = policy.overrides
        namespace = apply_namespace(overrides)
        if not overrides.enabled or namespace is None:
            raise OverrideError(
                f"signed overrides are {'disabled' if not overrides.enabled else 'not configured'} "
                f"in the policy ({policy.source}): verify counts no apply override",
                "set overrides.namespace_domain on the default branch",
            )
        pull = gh.PullHead(args.repo, 0, sha, sha, "", False, "", (), False)
        # The trust root at the commit itself, as verify reads it (the commit is on the
        # default branch: its files were merged under the gate).
        allowed = s._allowed_signers(client, TrustRoot(args.repo, default, sha, policy))
    except ApiError as exc:
        raise gh.for_sign(exc) from None
    approver = s.choose_approver(args.approver, key, pub_path, allowed, namespace, now)
    analysis = plans.analyze(policy, pull)
    context = apply_context(args.repo, sha, args.run_id, analysis)
    if not context.changes:
        raise OverrideError(
            f"the plans have no gated changes under the policy at {sha[:12]} ({policy.source}): "
            "there is nothing to override",
            "pass the plan the apply run made (its bundle, or terraform show -json tfplan)",
        )
    issued, expires = validity(now, s.choose_lifetime(ttl, overrides.max_lifetime, policy.source))
    message = ApplyOverrideMessage(
        repository=args.repo,
        commit_sha=sha,
        run_id=args.run_id,
        plan_sha256=analysis.plan_digest,
        changes=sort_changes(context.changes),
        approver=approver,
        issued_at=issued,
        expires_at=expires,
        reason=reason,
    )
    data = render_apply_message(message)
    shown = _describe(message, policy.source, namespace, data)
    sys.stderr.write(shown)
    sys.stderr.flush()
    if args.yes_i_confirm is None:
        answer = s._ask(
            f"Type the run id ({args.run_id}) to sign this apply override, anything else aborts: ",
            preface=shown,
            stdin_used=plans.stdin_used,
        )
        if (answer or "").strip() != str(args.run_id):
            raise OverrideError(
                "confirmation does not match the run id: nothing was signed or posted",
                "type the run id exactly (scripts: --yes-i-confirm N)",
            )
    armored = sign_with_ssh_keygen(data, key_path, namespace, show_prompts=sys.stderr.isatty())
    body = format_apply_comment(message, armored)
    checked = datetime.now(UTC)
    # verify's own evaluation over the comment, before anything is shown or posted
    result = evaluate_apply_overrides(
        [OverrideComment(0, "(not posted)", body, checked, "(local check)")],
        allowed,
        context,
        overrides,
        checked,
    )
    if approver not in result.principals:
        why = "; ".join(b.detail for b in result.blocks) or "no override block found"
        raise OverrideError(f"verify would not count this apply override: {why}")
    sys.stdout.write(body)
    sys.stdout.flush()
    if not args.post:
        sys.stderr.write(
            f"Not posted. Post the comment above on commit {sha[:12]}, or run again with --post; "
            f"then re-run workflow run {args.run_id}.\n"
        )
        return 0
    url = gh.post_commit_comment(gh.open_client(token, api_url), args.repo, sha, body)
    sys.stderr.write(f"Posted: {terminal(url)}\nNow re-run workflow run {args.run_id}.\n")
    return 0


def _describe(m: ApplyOverrideMessage, policy: str, namespace: str, data: bytes) -> str:
    t = terminal
    lines = [
        f"Signed APPLY override for {t(m.repository)} commit {t(m.commit_sha)}",
        f"  workflow run: {m.run_id} (only this run, and its re-runs, may use it)",
        f"  policy:       {t(policy)}",
        f"  plan_sha256:  {t(m.plan_sha256)} (computed here from the plan)",
        f"  changes:      {len(m.changes)} gated",
        *(f"    {t(format_change(c))}" for c in m.changes),
        f"  approver:     {t(m.approver)}",
        f"  namespace:    {t(namespace)}",
        f"  valid:        {format_time(m.issued_at)} to {format_time(m.expires_at)}",
        "",
        "The exact message to be signed:",
        "-" * 72,
        *(t(line) for line in data.decode("ascii").rstrip("\n").split("\n")),
        "-" * 72,
        "These destructive changes will be applied to production without a PR approval.",
        "",
    ]
    return "\n".join(lines) + "\n"
