from __future__ import annotations

import pytest

from gatekeeper import defaults
from gatekeeper.errors import ConfigError
from gatekeeper.policy import Policy, load_policy_file, parse_policy


def test_defaults() -> None:
    p = Policy()
    assert "aws_db_instance" in p.production.protected_types
    assert p.approvals.agent_authored == 2 and p.approvals.human_authored == 1
    assert ".github/gatekeeper.yml" in p.trust_root_paths
    assert p.overrides.allowed_signers_path in p.trust_root_paths


def test_issue_example_config() -> None:
    p = parse_policy(
        b"""
production:
  tag_attributes: [tags, tags_all, labels]
  tag_keys: [env, environment, stage, tier]
  tag_values: [prod, production, prd, live]
  addresses: ["module.prod.*"]
  plan_labels: ["*prod*"]
  protected_types: [aws_db_instance]
""",
        source="g.yml",
    )
    assert p.production.addresses == ("module.prod.*",)
    assert p.production.protected_types == ("aws_db_instance",)


def test_agent_lists_extend_defaults_unless_disabled() -> None:
    p = parse_policy(b"agents:\n  logins: [my-agent]\n", source="g.yml")
    assert "my-agent" in p.agents.logins and "copilot-swe-agent[bot]" in p.agents.logins
    p = parse_policy(b"agents:\n  use_defaults: false\n  logins: [my-agent]\n", source="g.yml")
    assert p.agents.logins == ("my-agent",)
    assert p.agents.branch_prefixes == ()


def test_extra_protected_types_keep_defaults() -> None:
    p = parse_policy(b"production:\n  extra_protected_types: [acme_ledger]\n", source="g.yml")
    assert p.production.protected_types[-1] == "acme_ledger"
    assert len(p.production.protected_types) == len(defaults.PROTECTED_TYPES) + 1


@pytest.mark.parametrize(
    ("doc", "message", "hint"),
    [
        (
            b"production:\n  tag_keys: env\n",
            "at production/tag_keys",
            "a list of non-empty strings",
        ),
        (b"mode: strict\n", "at mode", '"enforce", "advisory"'),
        (b"productoin: {}\n", "unknown key 'productoin'", "allowed keys here"),
        (b"approvals:\n  agent_authored: -1\n", "at approvals/agent_authored", "whole number"),
        (b"overrides:\n  max_lifetime: 48h\n", "longer than 24h", "at most 24h"),
        (b"- a\n- b\n", "must be a mapping", "README"),
        (b"production: [\n", "g.yml:2", "YAML syntax"),
    ],
)
def test_bad_config_names_file_key_and_expectation(doc: bytes, message: str, hint: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_policy(doc, source="g.yml")
    assert exc.value.message.startswith("g.yml")
    assert message in exc.value.message
    assert exc.value.hint and hint in exc.value.hint
    assert "\n" not in exc.value.message


def test_missing_file() -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_policy_file("/nonexistent/gatekeeper.yml")


@pytest.mark.parametrize("doc", [b"", b"\n", b"# only a comment\n", b"~\n", b"null\n"])
def test_an_empty_or_null_policy_is_refused_with_the_hint_to_delete_it(doc: bytes) -> None:
    """Issue 13: an empty file was silently taken as the built-in defaults."""
    with pytest.raises(ConfigError) as exc:
        parse_policy(doc, source="g.yml")
    assert exc.value.message == "g.yml: the policy file is empty"
    assert exc.value.hint and "delete the file to use the built-in defaults" in exc.value.hint


def test_override_lifetime_grammar_is_the_one_sign_uses() -> None:
    from datetime import timedelta

    from gatekeeper.policy import parse_duration

    p = parse_policy(b"overrides:\n  max_lifetime: 1h30m\n", source="g.yml")
    assert p.overrides.max_lifetime == timedelta(minutes=90)
    assert parse_duration("90m") == timedelta(minutes=90) and parse_duration("2H") is not None
    assert parse_duration("h") is None and parse_duration("1d") is None
    for bad in (b"0m", b"25h"):
        with pytest.raises(ConfigError, match="at overrides/max_lifetime"):
            parse_policy(b"overrides:\n  max_lifetime: " + bad + b"\n", source="g.yml")
    with pytest.raises(ConfigError, match=r"g\.yml: overrides\.namespace_domain"):
        parse_policy(b"overrides:\n  namespace_domain: -bad-\n", source="g.yml")


def _string_lists(schema: object, path: str = "") -> list[str]:
    """Paths of every array-of-strings schema (inline or by $ref)."""
    out: list[str] = []
    if isinstance(schema, dict):
        items = schema.get("items")
        if (
            schema.get("type") == "array"
            and isinstance(items, dict)
            and items.get("type") == "string"
        ):
            out.append(path)
        for k, v in schema.items():
            out.extend(_string_lists(v, f"{path}/{k}"))
    elif isinstance(schema, list):
        for i, v in enumerate(schema):
            out.extend(_string_lists(v, f"{path}/{i}"))
    return out


def test_every_string_list_in_the_schema_is_defs_strings() -> None:
    """The validator's shortcut for long lists (policy._shorten_string_lists) is sound only
    while every list of strings is `$defs/strings`: non-empty, unique strings."""
    from gatekeeper.policy import config_schema

    schema = config_schema()
    assert _string_lists(schema) == ["/$defs/strings"]
    assert schema["$defs"]["strings"] == {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "uniqueItems": True,
    }


@pytest.mark.parametrize(
    ("bad", "where"),
    [
        ("", "production/addresses/20: '' should be non-empty"),
        ("a0", "production/addresses: ["),
        (7, "production/addresses/20: 7 is not of type 'string'"),
    ],
)
def test_a_bad_item_deep_in_a_long_list_is_still_reported(bad: object, where: str) -> None:
    import json

    items = [f"a{i}" for i in range(40)]
    items[20] = bad  # type: ignore[call-overload]
    doc = "production:\n  addresses: " + json.dumps(items) + "\n"
    with pytest.raises(ConfigError) as exc:
        parse_policy(doc, source="g.yml")
    assert where in exc.value.message
