"""Reading a policy document: YAML (with what YAML would silently accept refused), JSON Schema
validation with errors that name file:line:column, and the Policy it describes.

Defaults are not written here: only the keys a document sets are passed to the dataclasses
of `model.py`, whose field defaults are the built-in policy. jsonschema and PyYAML are
imported only when a document is actually read (`gatekeeper check` without --config needs
neither).
"""

from __future__ import annotations

import enum
import json
from dataclasses import replace
from datetime import timedelta
from functools import cache
from typing import Any

from gatekeeper.errors import ConfigError
from gatekeeper.policy import defaults
from gatekeeper.policy.model import (
    HARD_MAX_LIFETIME,
    AgentPolicy,
    ApplyPolicy,
    ApprovalPolicy,
    ApprovalRule,
    CommentSettings,
    IdentityPolicy,
    Mode,
    OverridePolicy,
    Policy,
    ProductionPolicy,
    Stale,
    parse_duration,
)


@cache
def config_schema() -> dict[str, Any]:
    """The policy's JSON Schema (gatekeeper/schemas/config.schema.json), read once."""
    from importlib import resources  # only when a policy is validated: startup time

    text = resources.files("gatekeeper").joinpath("schemas/config.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


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
    so the validator still reports the error, at its real index (tests/policy/test_load.py pins
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


def _given(section: dict[str, Any], **keys: str) -> dict[str, Any]:
    """{field: value} for each field whose policy key (`field=key`) the section sets; the
    dataclass default stands for every key it omits."""
    return {name: section[key] for name, key in keys.items() if key in section}


def _lists(section: dict[str, Any], *keys: str) -> dict[str, Any]:
    """{key: tuple} for each list the section sets (the key is the field's name)."""
    return {key: tuple(section[key]) for key in keys if key in section}


def _enum(section: dict[str, Any], key: str, kind: type[enum.StrEnum]) -> dict[str, Any]:
    """{key: member} when the section sets the key (the schema allows only the members)."""
    return {key: kind(section[key])} if key in section else {}


def _build(doc: dict[str, Any], *, source: str, path: str) -> Policy:
    prod = doc.get("production", {})
    production = ProductionPolicy(
        **_lists(
            prod,
            "tag_attributes",
            "tag_keys",
            "tag_values",
            "addresses",
            "plan_labels",
            "protected_types",
        )
    )
    if "extra_protected_types" in prod:
        production = replace(
            production,
            protected_types=production.protected_types + tuple(prod["extra_protected_types"]),
        )
    ag = doc.get("agents", {})
    # use_defaults (schema default true): false starts the lists empty.
    base = AgentPolicy((), (), (), (), ()) if ag.get("use_defaults") is False else AgentPolicy()

    def extend(key: str, current: tuple[str, ...]) -> tuple[str, ...]:
        return current + tuple(x for x in ag.get(key, ()) if x not in current)

    agents = AgentPolicy(
        logins=extend("logins", base.logins),
        trailers=extend("trailers", base.trailers),
        branch_prefixes=extend("branch_prefixes", base.branch_prefixes),
        labels=extend("labels", base.labels),
        body_markers=extend("body_markers", base.body_markers),
        **_given(ag, bots_are_agents="bots_are_agents"),
    )
    ap = doc.get("approvals", {})
    approvals = ApprovalPolicy(
        rules=tuple(
            ApprovalRule(
                plan_labels=tuple(r["plan_labels"]),
                **_given(r, agent_authored="agent_authored", human_authored="human_authored"),
            )
            for r in ap.get("rules", ())
        ),
        **_lists(ap, "required_teams"),
        **_given(
            ap,
            agent_authored="agent_authored",
            human_authored="human_authored",
            require_association="require_association",
            require_write_permission="require_write_permission",
            changes_requested_blocks="changes_requested_blocks",
        ),
        **_enum(ap, "stale", Stale),
    )
    ov = doc.get("overrides", {})
    lifetime: dict[str, Any] = {}
    if "max_lifetime" in ov:
        lifetime["max_lifetime"] = _lifetime(ov["max_lifetime"], source)
    try:
        overrides = OverridePolicy(
            **lifetime,
            **_given(
                ov,
                enabled="enabled",
                allowed_signers_path="allowed_signers",
                signatures_required="signatures_required",
                namespace_domain="namespace_domain",
                require_user_verification="require_user_verification",
            ),
        )
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc.message}", exc.hint) from None
    return Policy(
        production=production,
        agents=agents,
        approvals=approvals,
        overrides=overrides,
        comment=CommentSettings(
            **_given(doc.get("comment", {}), enabled="enabled", on_allow="on_allow")
        ),
        identity=IdentityPolicy(**_given(doc.get("identity", {}), app_id="app_id")),
        apply=ApplyPolicy(**_given(doc.get("apply", {}), subset="subset")),
        source=source,
        path=path,
        **_lists(doc, "gate_paths", "protected_branches"),
        **_given(doc.get("destructive", {}), forget_is_destructive="forget"),
        **_enum(doc, "mode", Mode),
    )


def _lifetime(text: str, source: str) -> timedelta:
    """overrides.max_lifetime as a duration within (0, 24h]; ConfigError otherwise."""
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
    return lifetime
