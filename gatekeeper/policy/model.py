"""The policy as the gate uses it: frozen dataclasses whose field defaults are the built-in
policy. They are written here only: the loader (`load.py`) passes only the keys a policy file
sets, and tests/policy/test_defaults.py checks the JSON Schema's `default`s against them."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import timedelta

from gatekeeper.errors import ConfigError
from gatekeeper.policy import defaults


class Mode(enum.StrEnum):
    """The policy's `mode`."""

    ENFORCE = "enforce"
    ADVISORY = "advisory"  # reports everything, never fails the check


class Stale(enum.StrEnum):
    """`approvals.stale`: which commits an approval counts on."""

    HEAD = "head"  # only the commit it was given on
    DIGEST = "digest"  # also a later one whose gated-change digest is unchanged


NAMESPACE_PREFIX = "gatekeeper-override-v1@"
DEFAULT_MAX_LIFETIME = timedelta(hours=2)
HARD_MAX_LIFETIME = timedelta(hours=24)
_DOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
_DURATION = re.compile(r"(?:(\d{1,4})h)?(?:(\d{1,5})m)?")


@dataclass(frozen=True, slots=True)
class ProductionPolicy:
    tag_attributes: tuple[str, ...] = defaults.TAG_ATTRIBUTES
    tag_keys: tuple[str, ...] = defaults.TAG_KEYS
    tag_values: tuple[str, ...] = defaults.TAG_VALUES
    addresses: tuple[str, ...] = ()
    plan_labels: tuple[str, ...] = ()
    protected_types: tuple[str, ...] = defaults.PROTECTED_TYPES


@dataclass(frozen=True, slots=True)
class AgentPolicy:
    logins: tuple[str, ...] = defaults.AGENT_LOGINS
    trailers: tuple[str, ...] = defaults.AGENT_TRAILERS
    branch_prefixes: tuple[str, ...] = defaults.AGENT_BRANCH_PREFIXES
    labels: tuple[str, ...] = defaults.AGENT_LABELS
    body_markers: tuple[str, ...] = defaults.AGENT_BODY_MARKERS
    bots_are_agents: bool = True


@dataclass(frozen=True, slots=True)
class ApprovalRule:
    plan_labels: tuple[str, ...]
    agent_authored: int | None = None
    human_authored: int | None = None


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    agent_authored: int = 2
    human_authored: int = 1
    rules: tuple[ApprovalRule, ...] = ()
    stale: Stale = Stale.HEAD
    require_association: bool = True  # OWNER, MEMBER or COLLABORATOR (author_association)
    require_write_permission: bool = False
    required_teams: tuple[str, ...] = ()
    changes_requested_blocks: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class OverridePolicy:
    """The policy's `overrides` section, exactly as the gate and `sign` both use it."""

    enabled: bool = True
    signatures_required: int = 1
    namespace_domain: str | None = None
    max_lifetime: timedelta = DEFAULT_MAX_LIFETIME
    require_user_verification: bool = False
    allowed_signers_path: str = defaults.ALLOWED_SIGNERS_PATH

    def __post_init__(self) -> None:
        if self.signatures_required < 1:
            raise ConfigError(
                f"overrides.signatures_required is {self.signatures_required}",
                "use 1 or more; disable overrides with overrides.enabled: false",
            )
        if not timedelta(0) < self.max_lifetime <= HARD_MAX_LIFETIME:
            raise ConfigError(
                f"overrides.max_lifetime {self.max_lifetime} is not within (0, 24h]",
                "an override is for an emergency: use at most 24h (default 2h)",
            )
        if self.namespace_domain is not None and not _DOMAIN.fullmatch(self.namespace_domain):
            raise ConfigError(
                f"overrides.namespace_domain {self.namespace_domain!r} is not a domain name",
                "use your organisation's domain, e.g. acme.example",
            )

    @property
    def namespace(self) -> str | None:
        """The SSHSIG namespace overrides are signed in; None while no domain is set."""
        return NAMESPACE_PREFIX + self.namespace_domain if self.namespace_domain else None


def parse_duration(text: str) -> timedelta | None:
    """`90m`, `2h` or `1h30m` (the policy's max_lifetime and `sign --ttl`); None if not one."""
    m = _DURATION.fullmatch(text.strip().lower())
    if m is None or not (m.group(1) or m.group(2)):
        return None
    return timedelta(hours=int(m.group(1) or 0), minutes=int(m.group(2) or 0))


@dataclass(frozen=True, slots=True)
class CommentSettings:
    enabled: bool = True
    on_allow: bool = True


GITHUB_ACTIONS_APP_ID = 15368  # the GitHub Actions app: what GITHUB_TOKEN posts as


@dataclass(frozen=True, slots=True)
class IdentityPolicy:
    """Who the gate is on GitHub. `app_id` None: the gate posts as GitHub Actions
    (GITHUB_TOKEN), an identity every workflow in the repository shares."""

    app_id: int | None = None

    @property
    def check_app_id(self) -> int:
        """The app id a genuine gate check run carries."""
        return GITHUB_ACTIONS_APP_ID if self.app_id is None else self.app_id

    @property
    def forgeable(self) -> bool:
        """True when any workflow's GITHUB_TOKEN can post a check run as this identity."""
        return self.app_id is None or self.app_id == GITHUB_ACTIONS_APP_ID


@dataclass(frozen=True, slots=True)
class ApplyPolicy:
    """The policy's `apply` section: what `gatekeeper verify` accepts in the apply job."""

    subset: bool = False  # a strict subset of the approved gated changes may be applied


@dataclass(frozen=True, slots=True)
class Policy:
    mode: Mode = Mode.ENFORCE
    production: ProductionPolicy = field(default_factory=ProductionPolicy)
    forget_is_destructive: bool = False
    agents: AgentPolicy = field(default_factory=AgentPolicy)
    approvals: ApprovalPolicy = field(default_factory=ApprovalPolicy)
    overrides: OverridePolicy = field(default_factory=OverridePolicy)
    gate_paths: tuple[str, ...] = defaults.GATE_PATHS
    comment: CommentSettings = field(default_factory=CommentSettings)
    identity: IdentityPolicy = field(default_factory=IdentityPolicy)
    # Base branches (globs) whose PRs decide the check on their head; () = the default branch.
    protected_branches: tuple[str, ...] = ()
    apply: ApplyPolicy = field(default_factory=ApplyPolicy)
    source: str = "(built-in defaults)"
    path: str = defaults.POLICY_PATH

    @property
    def trust_root_paths(self) -> tuple[str, ...]:
        """Files whose change in a PR gates it (agent-authored) and disables overrides."""
        return (*self.gate_paths, self.path, self.overrides.allowed_signers_path)
