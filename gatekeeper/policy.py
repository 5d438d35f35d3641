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
    except IsADirectoryError:
        raise ConfigError(
            f"{path}: is a directory, not a policy file",
            "give the policy file itself, e.g. --config .github/gatekeeper.yml",
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read config file: {exc.strerror}",
            "check the path and its permissions, or omit --config to use defaults",
        ) from None
    return parse_policy(data, source=path)


# Deeper than any policy needs (the schema's deepest path is 4 levels): refused with a
# position before the YAML composer's recursion could run out of stack.
MAX_POLICY_DEPTH = 32
_SYNTAX_HINT = "fix the YAML syntax (indentation, quotes, colons)"


def parse_policy(data: bytes | str, *, source: str, path: str = defaults.POLICY_PATH) -> Policy:
    """Parse and validate a policy document. `source` names it in errors."""
    doc, node = load_yaml(data, source)
    if doc is None:
        # An empty file is most likely a mistake (a failed write, a stray `>`): taking it as
        # the defaults would silently loosen a stricter policy someone meant to write.
        raise ConfigError(
            f"{source}: the policy file is empty",
            "delete the file to use the built-in defaults, or write at least `version: 1`",
        )
    if not isinstance(doc, dict):
        raise ConfigError(
            f"{source}: the config must be a mapping of keys, got {type(doc).__name__}",
            "start from the example in the README",
        )
    _validate(doc, source, node)
    return _build(doc, source=source, path=path)


def load_yaml(data: bytes | str, source: str) -> tuple[Any, Any]:
    """(document, its YAML node tree) of a policy, with what YAML would silently accept
    refused: duplicate keys (the last one would win), aliases (an alias bomb expands
    exponentially; a policy has no need for them), and absurd nesting. Errors name the
    line and column. libyaml composes the nodes when present (a 2 MB policy in well under
    the pure-Python parser's time); the checks walk the node tree before anything is built."""
    import yaml

    _check_rough_depth(data, source)
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(data)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_nodes(node, source)
        doc = loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise _yaml_error(exc, source) from None
    except RecursionError:
        raise _too_deep(source, None) from None
    finally:
        loader.dispose()
    return doc, node


def _too_deep(source: str, mark: Any) -> ConfigError:
    return ConfigError(
        f"{source}{_at(mark)}: nested more than {MAX_POLICY_DEPTH} levels deep",
        "a policy is at most a few levels deep: see the README's example",
    )


def _check_rough_depth(data: bytes | str, source: str) -> None:
    """Before the (recursive) composer runs: refuse text whose indentation or bracket
    nesting is far beyond any policy. Rough on purpose (brackets inside quotes count): the
    exact check, with a position, is _check_nodes."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    depth = worst = 0
    if text.count("[") + text.count("{") > 4 * MAX_POLICY_DEPTH:  # else it cannot be deep
        for ch in text:
            if ch in "[{":
                depth += 1
                worst = max(worst, depth)
            elif ch in "]}":
                depth -= 1
    indent = max((len(ln) - len(ln.lstrip(" ")) for ln in text.splitlines()), default=0)
    if worst > 4 * MAX_POLICY_DEPTH or indent > 8 * MAX_POLICY_DEPTH:
        raise _too_deep(source, None)


def _check_nodes(root: Any, source: str) -> None:
    import yaml

    seen: set[int] = set()
    stack: list[tuple[Any, int]] = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if id(node) in seen:
            # The composer shares one node for an anchor and each of its aliases.
            raise ConfigError(
                f"{source}{_at(node.start_mark)}: a YAML anchor used again through an alias: "
                "aliases are not allowed in a policy",
                "write the value out in full where it is used",
            )
        seen.add(id(node))
        if depth > MAX_POLICY_DEPTH:
            raise _too_deep(source, node.start_mark)
        if isinstance(node, yaml.MappingNode):
            keys: dict[tuple[str, str], Any] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):
                    first = keys.get((key.tag, key.value))
                    if first is not None:
                        raise ConfigError(
                            f"{source}{_at(key.start_mark)}: duplicate key {key.value!r} "
                            f"(first at line {first.start_mark.line + 1}): YAML would "
                            "silently keep the last",
                            "keep one of the two",
                        )
                    keys[(key.tag, key.value)] = key
                stack.append((key, depth + 1))
                stack.append((value, depth + 1))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend((item, depth + 1) for item in node.value)


def _at(mark: Any) -> str:
    return f":{mark.line + 1}:{mark.column + 1}" if mark is not None else ""


# The YAML parser's words (libyaml's, and PyYAML's pure-Python ones), said as a person would.
_INDENT = (
    "this line's indentation does not line up with the lines above it",
    "indent the keys of one mapping (and the items of one list) by the same number of "
    "spaces; check the line above too. Fix the YAML syntax",
)
_YAML_PROBLEMS = (
    ("expected <block end>", *_INDENT),
    ("did not find expected key", *_INDENT),
    ("did not find expected '-' indicator", *_INDENT),
    (
        "mapping values are not allowed",
        "a `:` where YAML did not expect a new key",
        "quote a value that contains `: `, or put the key on its own line. Fix the YAML syntax",
    ),
    (
        "cannot start any token",
        "a character that cannot start a YAML value here (a tab? YAML indents with spaces only)",
        "replace tabs with spaces, or quote the value. Fix the YAML syntax",
    ),
)


def _yaml_error(exc: Exception, source: str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or "invalid YAML"
    for needle, said, hint in _YAML_PROBLEMS:
        if needle in problem:
            return ConfigError(f"{source}{_at(mark)}: {said} (YAML: {problem})", hint)
    return ConfigError(f"{source}{_at(mark)}: {problem}", _SYNTAX_HINT)


def _mark(node: Any, path: Any) -> Any:
    """The YAML position of the value at a JSON Schema error's path (None if not found)."""
    import yaml

    for part in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == str(part)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
        else:
            node = None
        if node is None:
            return None
    return node


def _validate(doc: dict[str, Any], source: str, root: Any = None) -> None:
    import jsonschema

    validator = jsonschema.Draft202012Validator(config_schema())
    light = _shorten_string_lists(doc)
    errors = sorted(validator.iter_errors(light), key=lambda e: (len(e.absolute_path), e.message))
    if not errors:
        return
    err = errors[0]
    key = "/".join(str(p) for p in err.absolute_path) or "(top level)"
    node = _mark(root, err.absolute_path) if root is not None else None
    where = f"{source}{_at(node.start_mark) if node is not None else ''}"
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        allowed = ", ".join(sorted(err.schema.get("properties", {})))
        raise ConfigError(
            f"{where}: at {key}: unknown key {', '.join(map(repr, extra))}",
            f"allowed keys here: {allowed}",
        )
    if list(err.absolute_path) == ["version"]:
        raise ConfigError(
            f"{where}: policy version {err.instance!r} is not one this gatekeeper reads "
            "(it reads version 1)",
            "write `version: 1`, or upgrade plan-gatekeeper if the policy was written for a "
            "newer one",
        )
    if isinstance(err.instance, bool) and _wants_string(err.schema):
        spelled = getattr(node, "value", str(err.instance).lower())
        raise ConfigError(
            f"{where}: at {key}: YAML read `{spelled}` as the boolean "
            f"{str(err.instance).lower()}, not a string",
            f'YAML 1.1 reads unquoted yes/no/on/off/true/false as booleans: quote it ("{spelled}")',
        )
    expected = _expected(err.schema, str(err.validator))
    raise ConfigError(f"{where}: at {key}: {_short(err.message)}", f"expected {expected}")


def _shorten_string_lists(value: Any) -> Any:
    """The document with each long list of distinct non-empty strings cut to its first item,
    for the schema validator (which spends ~0.1 ms per item: seconds on a policy of 100,000
    address globs). Sound because every list of strings in the schema is `$defs/strings`
    (non-empty, unique strings), exactly what is checked here; any other list is kept whole,
    so the validator still reports the error, at its real index (tests/test_policy.py pins
    the schema's shape)."""
    if isinstance(value, dict):
        return {k: _shorten_string_lists(v) for k, v in value.items()}
    if isinstance(value, list):
        if (
            len(value) > 16
            and all(type(x) is str and x for x in value)
            and len(set(value)) == len(value)
        ):
            return value[:1]
        return [_shorten_string_lists(v) for v in value]
    return value


def _wants_string(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "string" or (
        "enum" in schema and all(isinstance(v, str) for v in schema["enum"])
    )


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
