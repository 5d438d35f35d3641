from __future__ import annotations

from gatekeeper.plan.redact import SENSITIVE, is_sensitive, mask


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
    from gatekeeper.plan.redact import any_sensitive

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


# --- the change-level rule, through every output (leaks found in review) --------------------

SECRET = "prod-S3CR3T-42"


def _change(**extra: object):  # type: ignore[no-untyped-def]
    from gatekeeper.plan.parse import parse_plan
    from tests.helpers import rc, show_json

    entry = rc("aws_instance.web", ["delete", "create"], **extra)  # type: ignore[arg-type]
    return parse_plan(show_json(entry), label="p", path="p").changes[0]


def _all_outputs(change) -> str:  # type: ignore[no-untyped-def]
    """Every rendering of one change: reasons, text, JSON report, markdown, diff, bundle."""
    from gatekeeper.bundle.format import build_bundle
    from gatekeeper.classify import analyze
    from gatekeeper.decision import decide_offline
    from gatekeeper.plan.model import Plan, canonical_json
    from gatekeeper.policy.model import Policy, ProductionPolicy
    from gatekeeper.render.diff import render_change
    from gatekeeper.render.markdown import render_markdown
    from gatekeeper.render.report import build_report, dumps
    from gatekeeper.render.text import render_text

    plan = Plan("p", "p", "show-json", "1.2", "1.9", (change,), (), (), False, "0" * 64)
    policy = Policy(production=ProductionPolicy(tag_values=("prod*",)))
    a = analyze([plan], policy)
    d = decide_offline(a, policy)
    bundle = canonical_json(build_bundle([plan], repository="o/r", head_sha="a" * 40))
    return "\n".join(
        [
            render_text(a, d),
            dumps(build_report(a, d)),
            render_markdown(a, d),
            render_change(change),
            bundle.decode(),
        ]
    )


def test_a_value_marked_on_one_side_is_secret_on_both() -> None:
    c = _change(
        before={"tags": {"env": SECRET}},
        after={"tags": {"env": SECRET}},
        before_sensitive={},
        after_sensitive={"tags": {"env": True}},
    )
    out = _all_outputs(c)
    assert SECRET not in out
    # still gated (a hidden tag fails closed), and the reason names the tag, not its value
    assert "before.tags.env, after.tags.env are sensitive" in out


def test_an_unmarked_copy_of_a_secret_is_hidden() -> None:
    # Providers compute tags_all from tags; Terraform does not mark the copy.
    c = _change(
        before={"tags": {"env": SECRET}, "tags_all": {"env": SECRET}, "note": SECRET},
        after={"tags": {"env": SECRET}, "tags_all": {"env": SECRET}},
        before_sensitive={"tags": {"env": True}},
        after_sensitive={"tags": {"env": True}},
    )
    assert SECRET not in _all_outputs(c)


def test_keys_of_a_sensitive_map_never_appear_in_replace_paths() -> None:
    c = _change(
        before={"triggers": {"S3CR3T_KEY": "x"}},
        after={"triggers": {"S3CR3T_KEY": "y"}},
        before_sensitive={"triggers": True},
        after_sensitive={"triggers": True},
        replace_paths=[["triggers", "S3CR3T_KEY"]],
    )
    from gatekeeper.plan.redact import redacted_paths

    assert redacted_paths(c) == (("triggers", SENSITIVE),)
    assert "S3CR3T_KEY" not in _all_outputs(c)


def test_a_mask_that_does_not_fit_hides_the_value() -> None:
    c = _change(
        before={"blob": SECRET}, after={"blob": SECRET}, before_sensitive={"blob": {"x": True}}
    )
    assert SECRET not in _all_outputs(c)
    assert mask({"a": "v"}, {"a": [True]}) == {"a": SENSITIVE}
    assert mask({"a": "v"}, {"a": [False]}) == {"a": "v"}  # marks nothing: nothing to hide


def test_the_digest_says_nothing_about_a_secret() -> None:
    """before_sha256 hashes the redacted object: with the rest of the object public, a hash
    of the raw value would let anyone guess a low-entropy secret offline."""
    from gatekeeper.classify import before_sha256

    def digest(secret: str) -> str:
        return before_sha256(
            _change(
                before={"id": "i-1", "pw": secret},
                after={"id": "i-1", "pw": secret},
                before_sensitive={"pw": True},
            )
        )

    assert digest("hunter2") == digest("correct horse")
    assert digest("hunter2") != before_sha256(
        _change(before={"id": "i-2", "pw": "hunter2"}, before_sensitive={"pw": True})
    )
