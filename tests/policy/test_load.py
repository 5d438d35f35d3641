from __future__ import annotations

from pathlib import Path

import pytest

from gatekeeper.adapters.policy_file import load_policy_file
from gatekeeper.errors import ConfigError
from gatekeeper.policy import defaults
from gatekeeper.policy.load import parse_policy
from gatekeeper.policy.model import Policy


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

    from gatekeeper.policy.model import parse_duration

    p = parse_policy(b"overrides:\n  max_lifetime: 1h30m\n", source="g.yml")
    assert p.overrides.max_lifetime == timedelta(minutes=90)
    assert parse_duration("90m") == timedelta(minutes=90) and parse_duration("2H") is not None
    assert parse_duration("h") is None and parse_duration("1d") is None
    for bad in (b"0m", b"25h"):
        with pytest.raises(ConfigError, match="at overrides/max_lifetime"):
            parse_policy(b"overrides:\n  max_lifetime: " + bad + b"\n", source="g.yml")
    with pytest.raises(ConfigError, match=r"g\.yml: overrides\.namespace_domain"):
        parse_policy(b"overrides:\n  namespace_domain: -bad-\n", source="g.yml")


def test_protected_branches() -> None:
    from gatekeeper.errors import ConfigError

    assert parse_policy("version: 1\n", source="t").protected_branches == ()  # the default alone
    p = parse_policy("protected_branches: ['release/*', main]\n", source="t")
    assert p.protected_branches == ("release/*", "main")
    with pytest.raises(ConfigError, match="protected_branches"):
        parse_policy("protected_branches: release/*\n", source="t")


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
    from gatekeeper.policy.load import config_schema

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


# ---------------------------------------------------------------- issue 13/14: loading


def refused(doc: bytes | str) -> ConfigError:
    with pytest.raises(ConfigError) as exc:
        parse_policy(doc, source="g.yml")
    assert "\n" not in exc.value.message and exc.value.hint
    return exc.value


def test_a_duplicate_key_is_refused_naming_both_lines() -> None:
    """A second `mode: advisory` further down silently turned enforcement off."""
    err = refused(b"mode: enforce\nproduction:\n  tag_keys: [env]\nmode: advisory\n")
    assert err.message.startswith("g.yml:4:1: duplicate key 'mode' (first at line 1)")
    err = refused(b"production:\n  tag_keys: [env]\n  tag_keys: [stage]\n")
    assert err.message.startswith("g.yml:3:3: duplicate key 'tag_keys' (first at line 2)")


def test_yaml_aliases_are_refused_so_an_alias_bomb_cannot_expand() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(9)
    )
    err = refused(bomb)
    assert "aliases are not allowed in a policy" in err.message and err.message.startswith(
        "g.yml:1:"
    )
    err = refused("production:\n  tag_keys: &k [env]\n  tag_values: *k\n")
    assert "aliases are not allowed" in err.message


@pytest.mark.parametrize(
    "doc",
    [
        "production:" + " {a:" * 1000 + " 1" + "}" * 1000 + "\n",
        "production:" + " [" * 100000 + "]" * 100000 + "\n",
        "production:\n" + "".join(" " * (2 * i + 2) + f"k{i}:\n" for i in range(1000)),
    ],
    ids=["flow-1000", "flow-100000", "block-1000"],
)
def test_a_policy_nested_absurdly_deep_is_bad_input_not_a_crash(doc: str) -> None:
    err = refused(doc)
    assert "nested more than 32 levels deep" in err.message


def test_a_directory_as_the_policy_gives_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_policy_file(str(tmp_path))
    assert exc.value.message == f"{tmp_path}: is a directory, not a policy file"
    assert exc.value.hint and "--config .github/gatekeeper.yml" in exc.value.hint


def test_a_yaml_indentation_error_says_where_and_what_to_do() -> None:
    err = refused(b"production:\n  tag_keys: [env]\n   tag_values: [prod]\n")
    assert err.message.startswith("g.yml:3:4: this line's indentation does not line up")
    assert err.hint and "same number of spaces" in err.hint
    assert "<block" not in err.message.split("(YAML:")[0]


def test_an_unsupported_policy_version_says_which_one_is_read() -> None:
    err = refused(b"version: 2\n")
    assert err.message == (
        "g.yml:1:10: policy version 2 is not one this gatekeeper reads (it reads version 1)"
    )
    assert err.hint and "write `version: 1`" in err.hint


@pytest.mark.parametrize("word", ["no", "yes", "off", "On"])
def test_a_yaml_boolean_where_a_string_belongs_says_to_quote_it(word: str) -> None:
    err = refused(f"production:\n  tag_values: [prod, {word}]\n")
    assert err.message.startswith(f"g.yml:2:22: at production/tag_values/1: YAML read `{word}`")
    assert "is not of type" not in err.message
    assert err.hint and f'quote it ("{word}")' in err.hint


def test_every_schema_error_names_line_and_column() -> None:
    err = refused(b"approvals:\n  agent_authored: 99\n")
    assert err.message.startswith("g.yml:2:19: at approvals/agent_authored")


def test_the_policy_model_and_loader_import_neither_jsonschema_nor_yaml() -> None:
    """`gatekeeper check` without --config builds the built-in Policy(): startup stays cheap
    (issue 17); the validator and the YAML parser load only when a document is read."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "import gatekeeper.policy.load, gatekeeper.policy.model\n"
        "gatekeeper.policy.model.Policy()\n"
        "lazy = ('jsonschema', 'yaml', 'importlib.resources')\n"
        "print(sorted(m for m in lazy if m in sys.modules))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]", r.stderr
