"""`gatekeeper sign --apply`: a human signs an apply override (break glass outside a PR).

For an apply that no PR approval covers (a workflow_dispatch, a plan that drifted after
review), `gatekeeper verify` in the apply job blocks, and prints the commit, its run id and
this command. The human recomputes the gated changes from the plan (their own
`terraform show -json`, or the bundle the blocked run uploaded: masked, bound to the commit),
under the policy at that commit on the default branch, signed for the allowed_signers and
override settings on its head; sees the exact message; types the
run id to confirm; signs with `ssh-keygen -Y sign` in the apply namespace; the result is
checked with verify's own evaluation and printed (posted on the commit with --post). Then
re-run the blocked run: a re-run keeps its run id, so the override counts there, and only
there.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime

from gatekeeper.adapters import sign_github as gh
from gatekeeper.adapters.ssh_keygen import sign_with_ssh_keygen
from gatekeeper.commands.sign_support import ask, load_allowed_signers, read_local_inputs
from gatekeeper.errors import ApiError, OverrideError
from gatekeeper.overrides.apply import (
    ApplyOverrideMessage,
    apply_context,
    apply_namespace,
    format_apply_comment,
    render_apply_message,
)
from gatekeeper.overrides.message import sort_changes
from gatekeeper.overrides.preview import describe_apply_override
from gatekeeper.overrides.signer import apply_self_check, choose_approver, choose_lifetime, validity
from gatekeeper.render.escape import terminal

_SHA = re.compile(r"[0-9a-f]{40}")


def run_apply(args: argparse.Namespace) -> int:
    """Exit code of `gatekeeper sign --apply`: 0 signed (and posted with --post)."""
    from gatekeeper.commands.verify import Verifier

    if args.pr is not None:
        raise OverrideError("--apply takes no --pr", "an apply override is bound to a commit")
    sha = (args.commit or "").lower()
    if not _SHA.fullmatch(sha) or not args.run_id:
        raise OverrideError(
            "--apply needs --commit SHA (40 hex) and --run-id N",
            "both are in the blocked `gatekeeper verify` log of the apply run",
        )
    local = read_local_inputs(
        args,
        confirm_flag="--run-id",
        confirm_value=args.run_id,
        confirm_hint="pass the run id you mean to unblock to both",
    )
    key, key_path, pub_path, plans = local.key, local.key_path, local.pub_path, local.plans
    token, api_url = local.token, local.api_url
    client = gh.open_client(token, api_url)
    now = datetime.now(UTC).replace(microsecond=0)

    # As verify reads them: the policy at the commit (which must be on the default branch)
    # says what is gated; who may sign, and how, is the default branch's head.
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
        root = v.override_root(default, policy, status)
        overrides = root.policy.overrides
        namespace = apply_namespace(overrides)
        if not overrides.enabled or namespace is None:
            raise OverrideError(
                f"signed overrides are {'disabled' if not overrides.enabled else 'not configured'} "
                f"in the policy ({root.policy.source}): verify counts no apply override",
                "set overrides.namespace_domain on the default branch",
            )
        pull = gh.PullHead(args.repo, 0, sha, sha, "", False, "", (), False)
        allowed = load_allowed_signers(client, root)
    except ApiError as exc:
        raise gh.for_sign(exc) from None
    approver = choose_approver(args.approver, key, pub_path, allowed, namespace, now)
    analysis = plans.analyze(policy, pull)
    context = apply_context(args.repo, sha, args.run_id, analysis)
    if not context.changes:
        raise OverrideError(
            f"the plans have no gated changes under the policy at {sha[:12]} ({policy.source}): "
            "there is nothing to override",
            "pass the plan the apply run made (its bundle, or terraform show -json tfplan)",
        )
    lifetime = choose_lifetime(local.ttl, overrides.max_lifetime, root.policy.source)
    issued, expires = validity(now, lifetime)
    message = ApplyOverrideMessage(
        repository=args.repo,
        commit_sha=sha,
        run_id=args.run_id,
        plan_sha256=analysis.plan_digest,
        changes=sort_changes(context.changes),
        approver=approver,
        issued_at=issued,
        expires_at=expires,
        reason=local.reason,
    )
    data = render_apply_message(message)
    shown = describe_apply_override(message, policy.source, namespace, data)
    sys.stderr.write(shown)
    sys.stderr.flush()
    if args.yes_i_confirm is None:
        answer = ask(
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
    # verify's own evaluation over the comment, before anything is shown or posted
    apply_self_check(body, approver, allowed, context, overrides, datetime.now(UTC))
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
