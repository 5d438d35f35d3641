"""The I/O `gatekeeper sign` (and `sign --apply`) needs besides GitHub: the plans or bundles
from disk, the trust root's allowed_signers, and the confirmation on the terminal.

Kept apart from the command modules so they stay wiring; what is pure lives in
gatekeeper.overrides (signer, preview).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TextIO

from gatekeeper.adapters import sign_github as gh
from gatekeeper.adapters.files import read_plans
from gatekeeper.adapters.github import GitHubClient
from gatekeeper.adapters.ssh_keygen import public_key_for
from gatekeeper.adapters.trustroot import TrustRoot, read_allowed_signers_text
from gatekeeper.classify import Analysis, analyze
from gatekeeper.commands.check import plan_args
from gatekeeper.errors import ApiError, OverrideError
from gatekeeper.overrides.allowed_signers import AllowedSigners, parse_allowed_signers
from gatekeeper.overrides.signer import clean_reason, parse_ttl
from gatekeeper.overrides.sshsig import PublicKey
from gatekeeper.plan.model import Plan
from gatekeeper.policy.model import Policy

# --- the command line, checked before any request ----------------------------------------


@dataclass(frozen=True, slots=True)
class LocalInputs:
    """What `sign` and `sign --apply` check locally first: no network, nothing signed."""

    ttl: timedelta | None
    reason: str
    key_path: Path
    pub_path: Path
    key: PublicKey | None  # from KEY.pub; None when there is none
    token: str
    api_url: str
    plans: PlanInput


def read_local_inputs(
    args: argparse.Namespace, *, confirm_flag: str, confirm_value: int, confirm_hint: str
) -> LocalInputs:
    """The checks both commands make in this order; `--yes-i-confirm` must equal
    `confirm_value` (the PR number, or the run id, named `confirm_flag`)."""
    gh.check_repository(args.repo)
    ttl = parse_ttl(args.ttl) if args.ttl is not None else None
    reason = clean_reason(args.reason)
    key_path = Path(args.key).expanduser()
    if not key_path.is_file():
        raise OverrideError(f"signing key {key_path} does not exist", "pass the path with --key")
    pub_path, key = public_key_for(key_path)
    if args.yes_i_confirm is not None and args.yes_i_confirm != confirm_value:
        raise OverrideError(
            f"--yes-i-confirm {args.yes_i_confirm} does not match {confirm_flag} "
            f"{confirm_value}: nothing was signed or posted",
            confirm_hint,
        )
    env = os.environ
    token = gh.token_from_env(env)
    api_url = gh.api_url_from(args.api_url, env)
    return LocalInputs(ttl, reason, key_path, pub_path, key, token, api_url, read_plan_input(args))


# --- the plans ------------------------------------------------------------------------------


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
        """How the bundles are named in the preview; None for plan files."""
        if len(self.bundles) > 3:
            return f"{len(self.bundles)} bundles ({self.bundles[0][0]}, ...)"
        return ", ".join(p for p, _ in self.bundles) if self.bundles else None

    def analyze(self, policy: Policy, pull: gh.PullHead) -> Analysis:
        """The gate's analysis: `analyze()` for plan files; for bundles, each verified as the
        gate verifies it and all of them combined as the gate combines them."""
        if not self.bundles:
            smap = None
            if self.source_args is not None:
                from gatekeeper.source.cli import source_map_from_args

                smap = source_map_from_args(
                    list(self.plans), self.source_args, policy.production, cwd=os.getcwd()
                )
            return analyze(self.plans, policy, smap)
        from gatekeeper.bundle.format import (
            BundleError,
            analyze_bundle,
            combine_bundles,
            verify_bundle,
        )

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
    """The plan files (or bundles) the command line names, read before any request."""
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
    from gatekeeper.bundle.format import BUNDLE_FILE

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


# --- the trust root -------------------------------------------------------------------------


def load_allowed_signers(client: GitHubClient, root: TrustRoot) -> AllowedSigners:
    """allowed_signers of the trust root, read as the gate reads it (adapters.trustroot);
    absent, not UTF-8 or malformed is an error for the signer (exit 2)."""
    path = root.policy.overrides.allowed_signers_path
    try:
        text = read_allowed_signers_text(client, root)
    except ApiError as exc:
        raise gh.for_sign(exc) from None
    if text is None:
        raise OverrideError(
            f"no allowed_signers file at {path} on the default branch ({root.branch} at "
            f"{root.sha[:12]}): the gate counts no override",
            "add the file on the default branch first (docs/overrides.md), or fix "
            "overrides.allowed_signers in the policy",
        )
    return parse_allowed_signers(text, source=root.where(path))


# --- the terminal ---------------------------------------------------------------------------


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


def ask(prompt: str, *, preface: str, stdin_used: bool) -> str | None:
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
    """Raise OverrideError unless the human (or --yes-i-confirm) gives the PR number."""
    if preset is not None:
        answer: str | None = str(preset)
    else:
        answer = ask(
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
