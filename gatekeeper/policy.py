"""Policy model: defaults, the YAML config file, JSON Schema validation."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cache
from importlib import resources
from typing import Any

from gatekeeper import defaults
from gatekeeper.errors import ConfigError

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
    stale: str = "head"  # "head" | "digest"
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
    mode: str = "enforce"  # "enforce" | "advisory"
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


@cache
def config_schema() -> dict[str, Any]:
    text = resources.files("gatekeeper").joinpath("schemas/config.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_policy_file(path: str) -> Policy:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: config file not found", "check the path, or omit --config to use defaults"
        ) from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc.strerror}") from None
    return parse_policy(data, source=path)


def parse_policy(data: bytes | str, *, source: str, path: str = defaults.POLICY_PATH) -> Policy:
    """Parse and validate a policy document. `source` names it in errors."""
    import yaml

    try:
        doc = yaml.safe_load(data) if data else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(
            f"{source}{where}: {problem}", "fix the YAML syntax (indentation, quotes, colons)"
        ) from None
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError(
            f"{source}: the config must be a mapping of keys, got {type(doc).__name__}",
            "start from the example in the README",
        )
    _validate(doc, source)
    return _build(doc, source=source, path=path)


def _validate(doc: dict[str, Any], source: str) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(config_schema())
    errors = sorted(validator.iter_errors(doc), key=lambda e: (len(e.absolute_path), e.message))
    if not errors:
        return
    err = errors[0]
    key = "/".join(str(p) for p in err.absolute_path) or "(top level)"
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        allowed = ", ".join(sorted(err.schema.get("properties", {})))
        raise ConfigError(
            f"{source}: at {key}: unknown key {', '.join(map(repr, extra))}",
            f"allowed keys here: {allowed}",
        )
    expected = _expected(err.schema, str(err.validator))
    raise ConfigError(f"{source}: at {key}: {_short(err.message)}", f"expected {expected}")


def _short(text: str) -> str:
    return text if len(text) <= 160 else text[:157] + "..."


def _expected(schema: dict[str, Any], validator: str) -> str:
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    if "const" in schema:
        return json.dumps(schema["const"])
    if schema.get("type") == "array" and schema.get("items", {}).get("type") == "string":
        return "a list of non-empty strings"
    if "pattern" in schema:
        return f"a string matching {schema['pattern']}"
    if schema.get("type") == "integer":
        return f"a whole number from {schema.get('minimum', 0)} to {schema.get('maximum', 'any')}"
    if "type" in schema:
        return f"a value of type {schema['type']}"
    return f"a value satisfying {validator}"


def _tuple(section: dict[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = section.get(key)
    return default if value is None else tuple(value)


def _build(doc: dict[str, Any], *, source: str, path: str) -> Policy:
    prod = doc.get("production", {})
    protected = _tuple(prod, "protected_types", defaults.PROTECTED_TYPES) + tuple(
        prod.get("extra_protected_types", ())
    )
    production = ProductionPolicy(
        tag_attributes=_tuple(prod, "tag_attributes", defaults.TAG_ATTRIBUTES),
        tag_keys=_tuple(prod, "tag_keys", defaults.TAG_KEYS),
        tag_values=_tuple(prod, "tag_values", defaults.TAG_VALUES),
        addresses=_tuple(prod, "addresses", ()),
        plan_labels=_tuple(prod, "plan_labels", ()),
        protected_types=protected,
    )
    ag = doc.get("agents", {})
    base = AgentPolicy() if ag.get("use_defaults", True) else AgentPolicy((), (), (), (), ())

    def extend(key: str, current: tuple[str, ...]) -> tuple[str, ...]:
        return current + tuple(x for x in ag.get(key, ()) if x not in current)

    agents = AgentPolicy(
        logins=extend("logins", base.logins),
        trailers=extend("trailers", base.trailers),
        branch_prefixes=extend("branch_prefixes", base.branch_prefixes),
        labels=extend("labels", base.labels),
        body_markers=extend("body_markers", base.body_markers),
        bots_are_agents=ag.get("bots_are_agents", True),
    )
    ap = doc.get("approvals", {})
    approvals = ApprovalPolicy(
        agent_authored=ap.get("agent_authored", 2),
        human_authored=ap.get("human_authored", 1),
        rules=tuple(
            ApprovalRule(
                plan_labels=tuple(r["plan_labels"]),
                agent_authored=r.get("agent_authored"),
                human_authored=r.get("human_authored"),
            )
            for r in ap.get("rules", ())
        ),
        stale=ap.get("stale", "head"),
        require_association=ap.get("require_association", True),
        require_write_permission=ap.get("require_write_permission", False),
        required_teams=tuple(ap.get("required_teams", ())),
        changes_requested_blocks=ap.get("changes_requested_blocks", False),
    )
    ov = doc.get("overrides", {})
    text = ov.get("max_lifetime", "2h")
    lifetime = parse_duration(text)
    problem = (
        "is not a duration (e.g. 90m, 2h, 1h30m)"
        if lifetime is None
        else "is longer than 24h"
        if lifetime > HARD_MAX_LIFETIME
        else "is zero"
        if lifetime <= timedelta(0)
        else None
    )
    if lifetime is None or problem is not None:
        raise ConfigError(
            f"{source}: at overrides/max_lifetime: {text} {problem}",
            "an override is for an emergency: use e.g. 90m or 2h, at most 24h",
        )
    try:
        overrides = OverridePolicy(
            enabled=ov.get("enabled", True),
            allowed_signers_path=ov.get("allowed_signers", defaults.ALLOWED_SIGNERS_PATH),
            signatures_required=ov.get("signatures_required", 1),
            namespace_domain=ov.get("namespace_domain"),
            max_lifetime=lifetime,
            require_user_verification=ov.get("require_user_verification", False),
        )
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc.message}", exc.hint) from None
    cm = doc.get("comment", {})
    return Policy(
        mode=doc.get("mode", "enforce"),
        production=production,
        forget_is_destructive=doc.get("destructive", {}).get("forget", False),
        agents=agents,
        approvals=approvals,
        overrides=overrides,
        gate_paths=_tuple(doc, "gate_paths", defaults.GATE_PATHS),
        comment=CommentSettings(cm.get("enabled", True), cm.get("on_allow", True)),
        identity=IdentityPolicy(app_id=doc.get("identity", {}).get("app_id")),
        protected_branches=_tuple(doc, "protected_branches", ()),
        apply=ApplyPolicy(subset=doc.get("apply", {}).get("subset", False)),
        source=source,
        path=path,
    )
