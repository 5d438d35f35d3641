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
import os
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from gatekeeper import defaults
from gatekeeper.adapters import sign_github as gh
from gatekeeper.adapters.files import read_plans
from gatekeeper.adapters.github import GitHubClient
from gatekeeper.adapters.ssh_keygen import sign_with_ssh_keygen
from gatekeeper.adapters.trustroot import TrustRoot, read_allowed_signers, read_trust_root
from gatekeeper.classify import Analysis, analyze
from gatekeeper.commands.check import add_plan_arguments, plan_args
from gatekeeper.errors import ApiError, ConfigError, OverrideError
from gatekeeper.gatepaths import trust_root_changes
from gatekeeper.overrides.allowed_signers import AllowedSigners, parse_allowed_signers
from gatekeeper.overrides.evaluate import (
    OverrideComment,
    OverrideContext,
    bound_context,
    evaluate_overrides,
)
from gatekeeper.overrides.message import (
    MAX_REASON_CHARS,
    OverrideMessage,
    format_change,
    format_time,
    render_message,
)
from gatekeeper.overrides.signer import build_message, check_signature, format_comment
from gatekeeper.overrides.sshsig import (
    PublicKey,
    SignatureRejected,
    parse_signature,
    public_key_from_openssh,
)
from gatekeeper.plan import Plan
from gatekeeper.policy import (
    DEFAULT_MAX_LIFETIME,
    HARD_MAX_LIFETIME,
    OverridePolicy,
    Policy,
    parse_duration,
)
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


# --- pure helpers --------------------------------------------------------------------------


def parse_ttl(text: str) -> timedelta:
    """`90m`, `2h` or `1h30m`; positive and at most 24h."""
    ttl = parse_duration(text)
    if ttl is None:
        raise OverrideError(f"--ttl {text!r} is not a duration", "use e.g. 90m, 2h or 1h30m")
    if ttl <= timedelta(0):
        raise OverrideError(f"--ttl {text!r} is zero", "use e.g. 90m or 2h")
    if ttl > HARD_MAX_LIFETIME:
        raise OverrideError(
            f"--ttl {text} is longer than the 24h hard maximum",
            "an override is for an emergency: ask for the shortest window that covers it",
        )
    return ttl


def _duration(td: timedelta) -> str:
    minutes = int(td.total_seconds()) // 60
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours}h{rest}m"
    return f"{hours}h" if hours else f"{rest}m"


def choose_lifetime(ttl: timedelta | None, limit: timedelta, source: str) -> timedelta:
    """--ttl, or the default capped by the policy's overrides.max_lifetime; never longer."""
    lifetime = ttl if ttl is not None else min(DEFAULT_MAX_LIFETIME, limit)
    if lifetime > limit:
        raise OverrideError(
            f"--ttl {_duration(lifetime)} is longer than the policy allows "
            f"(overrides.max_lifetime {_duration(limit)} in {source})",
            f"use --ttl {_duration(limit)} or less",
        )
    return lifetime


def _clean_reason(text: str) -> str:
    reason = " ".join(text.split())
    if not reason or len(reason) > MAX_REASON_CHARS or not all(" " <= c <= "~" for c in reason):
        raise OverrideError(
            f"--reason must be 1 to {MAX_REASON_CHARS} characters of printable ASCII",
            "e.g. --reason 'INC-4711 rotate the master credentials'",
        )
    return reason


def _public_key(key: Path) -> tuple[Path, PublicKey | None]:
    pub_path = key if key.name.endswith(".pub") else key.with_name(key.name + ".pub")
    if not pub_path.is_file():
        return pub_path, None
    try:
        text = pub_path.read_text("ascii").strip()
        return pub_path, public_key_from_openssh(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise OverrideError(f"cannot read {pub_path}: {exc}") from None
    except SignatureRejected as exc:
        raise OverrideError(
            f"{pub_path} is not a usable public key: {exc.reason}",
            "regenerate it with `ssh-keygen -y -f KEY > KEY.pub`",
        ) from None


def _lines(entries: Iterable[int]) -> str:
    return ", ".join(str(n) for n in entries)


def choose_approver(
    option: str | None,
    key: PublicKey | None,
    pub_path: Path,
    allowed: AllowedSigners,
    namespace: str,
    now: datetime,
) -> str:
    """The principal to sign as, checked against allowed_signers before anything is signed."""
    if key is None:
        if option is None:
            raise OverrideError(
                f"{pub_path} not found: cannot look up your principal",
                "create it with `ssh-keygen -y -f KEY > KEY.pub`, or pass --approver",
            )
        if not any(option in e.principals for e in allowed.entries):
            raise OverrideError(
                f"approver {option!r} is not a principal in {allowed.source}",
                "use your principal exactly as the allowed_signers file on the base branch "
                "lists it",
            )
        return option
    listed = allowed.entries_for_key(key)
    add_line = f'PRINCIPAL namespaces="{namespace}" {key.openssh()}'
    if not listed:
        raise OverrideError(
            f"your key {key.fingerprint} ({pub_path}) is not in {allowed.source}",
            f"ask an owner of the default branch to add the line `{add_line}` (merged first: "
            "the gate reads allowed_signers on the default branch's head)",
        )
    principals = sorted(allowed.principals_for(key, namespace=namespace, at=now))
    if not principals:
        raise OverrideError(
            f"your key {key.fingerprint} is in {allowed.source} (line "
            f"{_lines(e.line for e in listed)}) but not for namespace {namespace} now",
            "its namespaces=, valid-after= or valid-before= options exclude this use",
        )
    if option is not None:
        if option not in principals:
            raise OverrideError(
                f"approver {option!r} is not a principal of key {key.fingerprint} in "
                f"{allowed.source} (it is listed for: {', '.join(principals)})",
                "drop --approver, or sign with the key listed for that principal",
            )
        return option
    if len(principals) > 1:
        raise OverrideError(
            f"key {key.fingerprint} is listed for several principals: {', '.join(principals)}",
            "pick one with --approver",
        )
    return principals[0]


@dataclass(frozen=True, slots=True)
class PlanInput:
    """The plans as read from disk, before the base policy is known."""

    plans: tuple[Plan, ...] = ()
    bundles: tuple[tuple[str, bytes], ...] = ()  # (path, contents): the split setup
    stdin_used: bool = False
    # --source/--base-source, as the gate got them: tags from code decide what a plan log gates
    source_args: argparse.Namespace | None = None

    @property
    def bundle_path(self) -> str | None:
        if len(self.bundles) > 3:
            return f"{len(self.bundles)} bundles ({self.bundles[0][0]}, ...)"
        return ", ".join(p for p, _ in self.bundles) if self.bundles else None

    def analyze(self, policy: Policy, pull: gh.PullHead) -> Analysis:
        """The gate's analysis: `analyze()` for plan files; for bundles, each verified as the
        gate verifies it and all of them combined as the gate combines them."""
        if not self.bundles:
            smap = None
            if self.source_args is not None:
                from gatekeeper.source_cli import source_map_from_args

                smap = source_map_from_args(list(self.plans), self.source_args, policy.production)
            return analyze(self.plans, policy, smap)
        from gatekeeper.transport import BundleError, analyze_bundle, combine_bundles, verify_bundle

        verified = []
        for path, data in self.bundles:
            try:
                bundle = verify_bundle(
                    data,
                    repository=pull.repository,
                    head_sha=pull.head_sha,
                    zipped=data[:4] == b"PK\x03\x04",
                )
            except BundleError as exc:
                if len(self.bundles) == 1:
                    raise
                raise BundleError(f"{path}: {exc.message}", exc.hint) from None
            verified.append((path, bundle))
        return analyze_bundle(combine_bundles(verified), policy)


def read_plan_input(args: argparse.Namespace) -> PlanInput:
    given = plan_args(args)
    if args.bundle is None:
        uses_source = bool(getattr(args, "source", None) or getattr(args, "base_source", None))
        return PlanInput(
            plans=tuple(read_plans(given)),
            stdin_used=any(a.path == "-" for a in given),
            source_args=args if uses_source else None,
        )
    if given:
        raise OverrideError(
            "--bundle and plan files exclude each other", "pass the gate's one plan source"
        )
    return PlanInput(bundles=tuple(_read_bundles(args.bundle)))


def _read_bundles(given: Iterable[str]) -> list[tuple[str, bytes]]:
    """Each --bundle: a file, or a directory holding one bundle per matrix leg (what
    `gh run download -p PATTERN -D DIR` writes: DIR/<artifact>/gatekeeper-bundle.json)."""
    from gatekeeper.transport import BUNDLE_FILE

    paths: list[str] = []
    for item in given:
        if os.path.isdir(item):
            found = sorted(
                str(p)
                for p in Path(item).rglob("*")
                if p.is_file() and (p.name == BUNDLE_FILE or p.suffix == ".zip")
            )
            if not found:
                raise OverrideError(
                    f"{item}: no {BUNDLE_FILE} (or artifact zip) in this directory",
                    "download the plan run's bundles: "
                    "`gh run download RUN_ID -p 'gatekeeper-plan-*' -D DIR`",
                )
            paths.extend(found)
        else:
            paths.append(item)
    out: list[tuple[str, bytes]] = []
    for path in dict.fromkeys(paths):
        try:
            with open(path, "rb") as fh:
                out.append((path, fh.read()))
        except OSError as exc:
            raise OverrideError(
                f"{path}: cannot read the bundle: {exc.strerror}",
                "download the plan artifact, e.g. `gh run download RUN_ID -n gatekeeper-plan`",
            ) from None
    return out


# --- terminal -----------------------------------------------------------------------------


def _open_tty() -> tuple[TextIO, TextIO] | None:
    """The controlling terminal as (reader, writer), or None without one."""
    try:
        reader = open("/dev/tty", encoding="utf-8", errors="replace")  # noqa: SIM115
    except OSError:
        return None
    try:
        writer = open("/dev/tty", "w", encoding="utf-8")  # noqa: SIM115
    except OSError:
        reader.close()
        return None
    return reader, writer


def _ask(prompt: str, *, preface: str, stdin_used: bool) -> str | None:
    """Ask on the terminal (else stdin). `preface` is repeated on the terminal when stderr
    goes elsewhere: nobody confirms a message they were not shown."""
    tty = _open_tty()
    if tty is not None:
        reader, writer = tty
        with reader, writer:
            if preface and not sys.stderr.isatty():
                writer.write(preface)
            writer.write(prompt)
            writer.flush()
            return reader.readline() or None
    if stdin_used or sys.stdin is None:
        raise OverrideError(
            "cannot ask for confirmation: no terminal, and stdin carried a plan",
            "run it in a terminal, or pass --yes-i-confirm N (the PR number) in scripts",
        )
    sys.stderr.write(prompt)
    sys.stderr.flush()
    return sys.stdin.readline() or None


def confirm(number: int, *, preset: int | None, preface: str, stdin_used: bool) -> None:
    if preset is not None:
        answer: str | None = str(preset)
    else:
        answer = _ask(
            f"Type the PR number ({number}) to sign this message, anything else aborts: ",
            preface=preface,
            stdin_used=stdin_used,
        )
    given = (answer or "").strip().removeprefix("#")
    if given != str(number):
        raise OverrideError(
            f"confirmation {given!r} does not match PR #{number}: nothing was signed or posted",
            "type the PR number exactly (scripts: --yes-i-confirm N)",
        )


# --- the command ---------------------------------------------------------------------------


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


def _allowed_signers(client: GitHubClient, root: TrustRoot) -> AllowedSigners:
    path = root.policy.overrides.allowed_signers_path
    try:
        data = read_allowed_signers(client, root)
    except ApiError as exc:
        raise gh.for_sign(exc) from None
    where = root.where(path)
    if data is None:
        raise OverrideError(
            f"no allowed_signers file at {path} on the default branch ({root.branch} at "
            f"{root.sha[:12]}): the gate counts no override",
            "add the file on the default branch first (docs/overrides.md), or fix "
            "overrides.allowed_signers in the policy",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text") from None
    return parse_allowed_signers(text, source=where)


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
    allowed = _allowed_signers(client, root)
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


def describe(prep: Prepared, key: PublicKey | None, plans: PlanInput) -> str:
    """What the human reads before confirming (stderr).

    Every string that is not this program's own goes through `terminal`: plan labels and
    addresses come from a bundle anyone can build, the rest from the API, the policy or the
    command line. An ANSI sequence (conceal, erase line, cursor up) or a bidi override in one
    could hide or rewrite what the signer confirms."""
    m = prep.message
    t = terminal
    labels = ", ".join(t(p.label) for p in prep.analysis.plans) or "(none)"
    where = (
        f"bundle {t(str(plans.bundle_path))}: {labels}"
        if plans.bundles
        else f"{labels} (labels must be the ones the gate uses)"
    )
    data = render_message(m).decode("ascii")
    lines = [
        f"Signed override for {t(m.repository)} PR #{m.pull_request}"
        + (f" ({t(prep.pull.html_url)})" if prep.pull.html_url else ""),
        f"  head commit:  {t(m.head_sha)} (from the API)",
        f"  trust root:   {t(prep.trust_root_sha)} (the default branch's head: policy and "
        "allowed_signers read here)",
        f"  policy:       {t(prep.policy.source)}",
        f"  plans:        {where}",
        f"  plan_sha256:  {t(m.plan_sha256)} (computed here from the plan files)",
        f"  changes:      {len(m.changes)} gated",
        *(f"    {t(format_change(c))}" for c in m.changes),
        f"  approver:     {t(m.approver)}"
        + (f" (key {t(key.fingerprint)}, {t(key.key_type)})" if key else ""),
        f"  namespace:    {t(prep.namespace)}",
        f"  valid:        {format_time(m.issued_at)} to {format_time(m.expires_at)}",
    ]
    if prep.overrides.signatures_required > 1:
        lines.append(
            f"  note:         the policy requires {prep.overrides.signatures_required} "
            "signatures from distinct principals; this is one of them"
        )
    valid_until = [
        e.valid_before
        for e in prep.allowed.entries
        if key is not None and e.key.blob == key.blob and e.valid_before is not None
    ]
    if valid_until and min(valid_until) < m.expires_at:
        lines.append(
            f"  warning:      your key's valid-before ({format_time(min(valid_until))}) ends "
            "before this override does; it stops counting then"
        )
    lines += [
        "",
        "The exact message to be signed:",
        "-" * 72,
        *(t(line) for line in data.rstrip("\n").split("\n")),
        "-" * 72,
        "Compare the change list and plan_sha256 with the gate's report on the PR. If they",
        "differ, you are not signing what the gate evaluates: stop and find out why.",
        "",
    ]
    return "\n".join(lines) + "\n"


def self_check(prep: Prepared, body: str, now: datetime) -> None:
    """Run the gate's own evaluation over the comment body before it is shown or posted."""
    comment = OverrideComment(0, "(not posted)", body, now, "(local check)")
    result = evaluate_overrides([comment], prep.allowed, prep.context, prep.overrides, now)
    verdicts = [v for v in result.blocks if v.counted]
    if len(verdicts) != 1 or prep.message.approver not in result.principals:
        why = "; ".join(v.detail for v in result.blocks) or "no override block found"
        raise OverrideError(
            f"the gate would not count this override: {why}",
            "nothing was posted; this is a bug if the message above looked right",
        )


def run(args: argparse.Namespace) -> int:
    if args.apply:
        from gatekeeper.commands.sign_apply import run_apply

        return run_apply(args)
    if args.pr is None or args.commit or args.run_id:
        raise OverrideError(
            "a PR override needs --pr N (and takes no --commit or --run-id)",
            "for an apply outside a PR, pass --apply --commit SHA --run-id N",
        )
    env = os.environ
    # Local checks first: no network, nothing signed.
    gh.check_repository(args.repo)
    ttl = parse_ttl(args.ttl) if args.ttl is not None else None
    reason = _clean_reason(args.reason)
    key_path = Path(args.key).expanduser()
    if not key_path.is_file():
        raise OverrideError(f"signing key {key_path} does not exist", "pass the path with --key")
    pub_path, key = _public_key(key_path)
    if args.yes_i_confirm is not None and args.yes_i_confirm != args.pr:
        raise OverrideError(
            f"--yes-i-confirm {args.yes_i_confirm} does not match --pr {args.pr}: nothing was "
            "signed or posted",
            "pass the PR number you mean to override to both",
        )
    token = gh.token_from_env(env)
    api_url = gh.api_url_from(args.api_url, env)
    plans = read_plan_input(args)

    now = datetime.now(UTC).replace(microsecond=0)
    prep = prepare(
        args,
        gh.open_client(token, api_url),
        plans,
        key=key,
        pub_path=pub_path,
        ttl=ttl,
        reason=reason,
        now=now,
    )
    shown = describe(prep, key, plans)
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
    self_check(prep, body, checked_at)
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
