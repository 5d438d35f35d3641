from __future__ import annotations

from gatekeeper.redact import SENSITIVE, is_sensitive, mask


def test_mask_nested_maps_and_lists() -> None:
    value = {"a": "x", "b": {"c": "secret", "d": "ok"}, "l": ["p", "q"], "all": {"k": "v"}}
    sens = {"b": {"c": True}, "l": [False, True], "all": True}
    assert mask(value, sens) == {
        "a": "x",
        "b": {"c": SENSITIVE, "d": "ok"},
        "l": ["p", SENSITIVE],
        "all": SENSITIVE,
    }
    assert mask("top", True) == SENSITIVE
    assert mask(value, None) == value


def test_is_sensitive_inherits_from_ancestors() -> None:
    sens = {"triggers": True, "tags": {"env": True}}
    assert is_sensitive(sens, ("triggers", "env"))
    assert is_sensitive(sens, ("tags", "env"))
    assert not is_sensitive(sens, ("tags", "owner"))
    assert not is_sensitive(None, ("tags",))
    assert is_sensitive(True, ())


def test_any_sensitive_and_mask_survive_nesting_past_the_recursion_limit() -> None:
    from gatekeeper.redact import any_sensitive

    assert any_sensitive({"a": [False, {"b": True}]})
    assert not any_sensitive({"a": [False, {"b": False}]}) and not any_sensitive(None)
    value: object = "secret"
    sens: object = True
    for _ in range(5000):
        value, sens = [value], [sens]
    assert any_sensitive(sens)
    masked = mask(value, sens)
    for _ in range(5000):
        assert isinstance(masked, list)
        masked = masked[0]
    assert masked == SENSITIVE
