"""What the signer reads before confirming: the bound fields and the exact message bytes.

Every string that is not this program's own goes through `render.escape.terminal`: plan
labels and addresses come from a bundle anyone can build, the rest from the API, the policy
or the command line. An ANSI sequence (conceal, erase line, cursor up) or a bidi override in
one could hide or rewrite what the signer confirms. Pure: the command writes the text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gatekeeper.overrides.allowed_signers import AllowedSigners
from gatekeeper.overrides.apply import ApplyOverrideMessage
from gatekeeper.overrides.message import OverrideMessage, format_change, format_time
from gatekeeper.overrides.sshsig import PublicKey
from gatekeeper.render.escape import terminal

RULE = "-" * 72


@dataclass(frozen=True, slots=True)
class SigningScene:
    """Where a PR override's fields came from, for the signer to compare with the gate's."""

    html_url: str  # the PR's page ("" when the API gave none)
    trust_root_sha: str  # the default branch's head the policy and allowed_signers came from
    policy_source: str
    plan_labels: Sequence[str]
    bundle_path: str | None  # the split setup's artifact(s); None for plan files
    namespace: str
    signatures_required: int


def _message_lines(data: bytes) -> list[str]:
    t = terminal
    return [RULE, *(t(line) for line in data.decode("ascii").rstrip("\n").split("\n")), RULE]


def describe_override(
    m: OverrideMessage,
    data: bytes,
    scene: SigningScene,
    key: PublicKey | None,
    allowed: AllowedSigners,
) -> str:
    """The PR override as the signer confirms it (`data`: its rendered bytes)."""
    t = terminal
    labels = ", ".join(t(label) for label in scene.plan_labels) or "(none)"
    where = (
        f"bundle {t(scene.bundle_path)}: {labels}"
        if scene.bundle_path is not None
        else f"{labels} (labels must be the ones the gate uses)"
    )
    lines = [
        f"Signed override for {t(m.repository)} PR #{m.pull_request}"
        + (f" ({t(scene.html_url)})" if scene.html_url else ""),
        f"  head commit:  {t(m.head_sha)} (from the API)",
        f"  trust root:   {t(scene.trust_root_sha)} (the default branch's head: policy and "
        "allowed_signers read here)",
        f"  policy:       {t(scene.policy_source)}",
        f"  plans:        {where}",
        f"  plan_sha256:  {t(m.plan_sha256)} (computed here from the plan files)",
        f"  changes:      {len(m.changes)} gated",
        *(f"    {t(format_change(c))}" for c in m.changes),
        f"  approver:     {t(m.approver)}"
        + (f" (key {t(key.fingerprint)}, {t(key.key_type)})" if key else ""),
        f"  namespace:    {t(scene.namespace)}",
        f"  valid:        {format_time(m.issued_at)} to {format_time(m.expires_at)}",
    ]
    if scene.signatures_required > 1:
        lines.append(
            f"  note:         the policy requires {scene.signatures_required} "
            "signatures from distinct principals; this is one of them"
        )
    valid_until = [
        e.valid_before
        for e in allowed.entries
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
        *_message_lines(data),
        "Compare the change list and plan_sha256 with the gate's report on the PR. If they",
        "differ, you are not signing what the gate evaluates: stop and find out why.",
        "",
    ]
    return "\n".join(lines) + "\n"


def describe_apply_override(
    m: ApplyOverrideMessage, policy_source: str, namespace: str, data: bytes
) -> str:
    """The apply override as the signer confirms it (`data`: its rendered bytes)."""
    t = terminal
    lines = [
        f"Signed APPLY override for {t(m.repository)} commit {t(m.commit_sha)}",
        f"  workflow run: {m.run_id} (only this run, and its re-runs, may use it)",
        f"  policy:       {t(policy_source)}",
        f"  plan_sha256:  {t(m.plan_sha256)} (computed here from the plan)",
        f"  changes:      {len(m.changes)} gated",
        *(f"    {t(format_change(c))}" for c in m.changes),
        f"  approver:     {t(m.approver)}",
        f"  namespace:    {t(namespace)}",
        f"  valid:        {format_time(m.issued_at)} to {format_time(m.expires_at)}",
        "",
        "The exact message to be signed:",
        *_message_lines(data),
        "These destructive changes will be applied to production without a PR approval.",
        "",
    ]
    return "\n".join(lines) + "\n"
