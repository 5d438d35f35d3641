"""`gatekeeper sign`: a human signs an override for one PR's gated changes.

Protocol: docs/SIGNED-OVERRIDES.md; how to set it up: docs/overrides.md.

Nothing here trusts a bot comment. The PR's head and base come from the API; the policy and
the allowed_signers file are read on the default branch's current head (as the gate reads
them, through gatekeeper.adapters.trustroot); the change
list and plan_sha256 are recomputed from the plan files with the gate's own `analyze()`.
The human sees the exact bytes to be signed and types the PR number to confirm; the
signature is made by `ssh-keygen -Y sign` and checked with the gate's verifier and
evaluation before it is printed (and, with --post, posted).
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gatekeeper.adapters import sign_github as gh
from gatekeeper.adapters.github import GitHubClient
from gatekeeper.adapters.ssh_keygen import sign_with_ssh_keygen
from gatekeeper.adapters.trustroot import TrustRoot, read_trust_root
from gatekeeper.classify import Analysis
from gatekeeper.commands.check import add_plan_arguments
from gatekeeper.commands.sign_support import (
    PlanInput,
    confirm,
    load_allowed_signers,
    read_local_inputs,
)
from gatekeeper.errors import ApiError, OverrideError
from gatekeeper.overrides.allowed_signers import AllowedSigners
from gatekeeper.overrides.evaluate import OverrideContext, bound_context
from gatekeeper.overrides.message import OverrideMessage, render_message
from gatekeeper.overrides.preview import SigningScene, describe_override
from gatekeeper.overrides.signer import (
    build_message,
    check_signature,
    choose_approver,
    choose_lifetime,
    format_comment,
    self_check,
)
from gatekeeper.overrides.sshsig import PublicKey, parse_signature
from gatekeeper.policy import defaults
from gatekeeper.policy.model import OverridePolicy, Policy
from gatekeeper.pr.trust_root import trust_root_changes
from gatekeeper.render.escape import terminal


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "sign",
        help="sign an override for a PR's gated changes with your SSH key",
        description="Build the signed-override message for a PR from the API (head, base) and "
        "your plan files (the change list and plan_sha256 are recomputed locally with the "
        "gate's own analysis), show it, ask you to type the PR number, sign it with "
        "`ssh-keygen -Y sign`, verify it against the allowed_signers file on the base branch, "
        "and print the comment (post it with --post). Plan labels (LABEL=PATH) must be the "
        "ones the gate uses: they can change which changes are gated. Exit 0: signed; "
        "2: anything went wrong (nothing was posted).",
    )
    p.add_argument("--repo", required=True, metavar="OWNER/NAME", help="the repository")
    p.add_argument("--pr", type=_pr_number, metavar="N", help="the PR number (a PR override)")
    # Break glass outside a PR (gatekeeper.commands.sign_apply): an apply override for the
    # apply job's `gatekeeper verify`, posted as a comment on the commit.
    p.add_argument(
        "--apply",
        action="store_true",
        help="sign an apply override instead: for `gatekeeper verify` in the apply job, bound "
        "to --commit and --run-id and the plan; --post puts it on the commit",
    )
    p.add_argument("--commit", metavar="SHA", help="--apply: the commit the apply job applies")
    p.add_argument(
        "--run-id", type=_pr_number, metavar="N", help="--apply: the apply workflow run's id"
    )
    p.add_argument(
        "--key",
        required=True,
        metavar="KEY",
        help="your signing key: a private key file, or a public key (.pub) whose private half "
        "is in ssh-agent; KEY.pub is used to find your principal",
    )
    # The gate's plan inputs: plan files (`gate --plan`, with its source dirs), or the artifact
    # of the split setup (`gatekeeper-bundle.json`), analyzed exactly as the gate does.
    add_plan_arguments(p, note="; use the gate's labels and source dirs")
    p.add_argument(
        "--bundle",
        action="append",
        metavar="FILE|DIR",
        help="instead of plans: the split setup's plan artifact (gatekeeper-bundle.json, or "
        "the artifact's zip); it must be made for the PR's head commit. Repeat it, or pass a "
        "directory (`gh run download RUN -p 'gatekeeper-plan-*' -D DIR`), for the bundles "
        "of a matrix of plan jobs: they are evaluated together, as the gate does",
    )
    p.add_argument(
        "--config",
        metavar="PATH",
        default=defaults.POLICY_PATH,
        help="the policy's path in the repository, read on the default branch like the gate "
        f"reads it (default: {defaults.POLICY_PATH}; built-in defaults when absent)",
    )
    p.add_argument(
        "--ttl",
        metavar="DURATION",
        help="how long the override is valid, e.g. 90m or 2h (default: 2h or the policy's "
        "overrides.max_lifetime if shorter; never more than that, nor 24h)",
    )
    p.add_argument(
        "--reason",
        required=True,
        metavar="TEXT",
        help="why (one line of printable ASCII, e.g. an incident id); it is signed",
    )
    p.add_argument(
        "--approver",
        metavar="PRINCIPAL",
        help="your principal in allowed_signers (default: the one listed for KEY.pub)",
    )
    p.add_argument("--post", action="store_true", help="post the comment on the PR")
    p.add_argument(
        "--yes-i-confirm",
        dest="yes_i_confirm",
        type=_pr_number,
        metavar="N",
        help="skip the prompt in scripts; N must be the PR number (--apply: the run id)",
    )
    p.add_argument(
        "--api-url",
        metavar="URL",
        help="GitHub API URL (default: $GITHUB_API_URL, else https://api.github.com; "
        "GitHub Enterprise Server: https://HOST/api/v3). Token: $GITHUB_TOKEN or $GH_TOKEN",
    )
    p.set_defaults(run=run)


def _pr_number(text: str) -> int:
    if not re.fullmatch(r"[1-9][0-9]{0,17}", text.strip()):
        raise argparse.ArgumentTypeError(f"{text!r} is not a PR number")
    return int(text)


@dataclass(frozen=True, slots=True)
class Prepared:
    """Everything fetched and computed before the human is asked."""

    pull: gh.PullHead
    policy: Policy
    overrides: OverridePolicy
    namespace: str
    allowed: AllowedSigners
    analysis: Analysis
    message: OverrideMessage
    context: OverrideContext
    trust_root_sha: str = ""  # the default branch's head the policy and allowed_signers came from


def _trust_root(client: GitHubClient, pull: gh.PullHead, path: str) -> TrustRoot:
    """The policy on the default branch's head: the gate's own reader (never the base)."""
    try:
        return read_trust_root(
            client, pull.repository, policy_path=path, default_branch=pull.default_branch
        )
    except ApiError as exc:
        raise gh.for_sign(exc) from None


def prepare(
    args: argparse.Namespace,
    client: GitHubClient,
    plans: PlanInput,
    *,
    key: PublicKey | None,
    pub_path: Path,
    ttl: timedelta | None,
    reason: str,
    now: datetime,
) -> Prepared:
    """Everything fetched and checked before the human is asked (OverrideError when the
    gate could not count an override for this PR)."""
    pull = gh.read_pull(client, args.repo, args.pr)
    if pull.merged or pull.state != "open":
        raise OverrideError(
            f"PR #{pull.number} is {'merged' if pull.merged else pull.state or 'not open'}",
            "an override only matters for an open PR",
        )
    root = _trust_root(client, pull, args.config)
    policy = root.policy
    overrides = policy.overrides
    namespace = overrides.namespace
    if not overrides.enabled:
        raise OverrideError(
            f"signed overrides are disabled by the policy ({policy.source})",
            "the PR needs the approvals the gate asks for",
        )
    if namespace is None:
        raise OverrideError(
            f"overrides.namespace_domain is not set in the policy ({policy.source}): the gate "
            "counts no override",
            "set overrides.namespace_domain (your organisation's domain) on the base branch",
        )
    touched = trust_root_changes(pull.changed_files, policy, truncated=pull.files_truncated)
    if touched:
        raise OverrideError(
            f"PR #{pull.number} changes the gate's trust root ({touched[0].line()}): the gate "
            "never counts an override on it",
            "split the policy/allowed_signers/workflow change into its own reviewed PR",
        )
    lifetime = choose_lifetime(ttl, overrides.max_lifetime, policy.source)
    if (
        overrides.require_user_verification
        and key is not None
        and not key.key_type.startswith("sk-")
    ):
        raise OverrideError(
            f"the policy requires user verification, and {pub_path} is a {key.key_type} key",
            "use a FIDO key made with `ssh-keygen -t ed25519-sk -O verify-required`",
        )
    allowed = load_allowed_signers(client, root)
    approver = choose_approver(args.approver, key, pub_path, allowed, namespace, now)

    analysis = plans.analyze(policy, pull)
    context = bound_context(pull.repository, pull.number, pull.head_sha, analysis)
    changes = context.changes
    if not changes:
        raise OverrideError(
            f"the plans have no gated changes under the base policy ({policy.source}): "
            "there is nothing to override",
            "pass the plans the gate evaluated, with the gate's labels (LABEL=PATH), or its "
            "plan artifact with --bundle",
        )
    message = build_message(
        repository=pull.repository,
        pull_request=pull.number,
        head_sha=pull.head_sha,
        plan_sha256=analysis.plan_digest,
        changes=changes,
        approver=approver,
        reason=reason,
        issued_at=now,
        lifetime=lifetime,
    )
    return Prepared(
        pull, policy, overrides, namespace, allowed, analysis, message, context, root.sha
    )


def run(args: argparse.Namespace) -> int:
    """Exit code of `gatekeeper sign`: 0 signed (and posted with --post); errors raise (exit 2)."""
    if args.apply:
        from gatekeeper.commands.sign_apply import run_apply

        return run_apply(args)
    if args.pr is None or args.commit or args.run_id:
        raise OverrideError(
            "a PR override needs --pr N (and takes no --commit or --run-id)",
            "for an apply outside a PR, pass --apply --commit SHA --run-id N",
        )
    local = read_local_inputs(
        args,
        confirm_flag="--pr",
        confirm_value=args.pr,
        confirm_hint="pass the PR number you mean to override to both",
    )
    key, key_path, pub_path, plans = local.key, local.key_path, local.pub_path, local.plans
    token, api_url = local.token, local.api_url

    now = datetime.now(UTC).replace(microsecond=0)
    prep = prepare(
        args,
        gh.open_client(token, api_url),
        plans,
        key=key,
        pub_path=pub_path,
        ttl=local.ttl,
        reason=local.reason,
        now=now,
    )
    scene = SigningScene(
        html_url=prep.pull.html_url,
        trust_root_sha=prep.trust_root_sha,
        policy_source=prep.policy.source,
        plan_labels=[p.label for p in prep.analysis.plans],
        bundle_path=plans.bundle_path,
        namespace=prep.namespace,
        signatures_required=prep.overrides.signatures_required,
    )
    shown = describe_override(prep.message, render_message(prep.message), scene, key, prep.allowed)
    sys.stderr.write(shown)
    sys.stderr.flush()
    confirm(prep.pull.number, preset=args.yes_i_confirm, preface=shown, stdin_used=plans.stdin_used)

    data = render_message(prep.message)
    armored = sign_with_ssh_keygen(data, key_path, prep.namespace, show_prompts=sys.stderr.isatty())
    checked_at = datetime.now(UTC)
    check_signature(
        prep.message,
        armored,
        namespace=prep.namespace,
        allowed_signers=prep.allowed,
        now=checked_at,
        require_user_verification=prep.overrides.require_user_verification,
    )
    signer = parse_signature(armored).public_key  # verified above, so it parses
    if key is not None and signer.blob != key.blob:
        raise OverrideError(
            f"{key_path} signed with key {signer.fingerprint}, but {pub_path} is "
            f"{key.fingerprint}: nothing was posted",
            "KEY.pub must be the public half of KEY",
        )
    body = format_comment(prep.message, armored)
    self_check(body, prep.message.approver, prep.allowed, prep.context, prep.overrides, checked_at)
    sys.stdout.write(body)
    sys.stdout.flush()

    number = prep.pull.number
    if not args.post:
        sys.stderr.write(
            f"Not posted. Paste the comment above into PR #{number}, or run again with --post.\n"
        )
        return 0
    client = gh.open_client(token, api_url)  # a fresh retry budget after the prompt
    head = gh.read_head_sha(client, prep.pull.repository, number)
    if head != prep.pull.head_sha:
        raise OverrideError(
            f"PR #{number} moved to {head[:12]} while you signed for {prep.pull.head_sha[:12]}: "
            "not posted (the gate would not count it)",
            "get the plan for the new head and sign again",
        )
    url = gh.post_comment(client, prep.pull.repository, number, body)
    sys.stderr.write(f"Posted: {terminal(url)}\n")
    return 0
