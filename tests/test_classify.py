from __future__ import annotations

from gatekeeper.classify import analyze, classify, plan_digest
from gatekeeper.plan.parse import parse_plan
from gatekeeper.policy.model import Policy, ProductionPolicy
from gatekeeper.source.model import SourceFacts
from tests.helpers import fixture_plan, rc, show_json

TRIGGERS = Policy(production=ProductionPolicy(tag_attributes=("triggers",)))


DEFAULT = Policy()


def one(entry: dict, policy: Policy = DEFAULT, label: str = "p"):  # type: ignore[no-untyped-def,type-arg]
    plan = parse_plan(show_json(entry), label=label, path=label)
    return classify(plan.changes[0], policy)


def codes(c) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.code for r in c.reasons]


def test_delete_reads_tags_from_before_case_insensitive() -> None:
    c = one(rc("aws_instance.web", ["delete"], before={"tags": {"Environment": "PRODUCTION"}}))
    assert c.gated and c.production and codes(c) == ["tag"]
    assert "tags.Environment = 'PRODUCTION' (before)" in c.reasons[0].text


def test_create_is_never_destructive() -> None:
    c = one(rc("aws_db_instance.db", ["create"], after={"tags": {"env": "prod"}}))
    assert not c.destructive and not c.gated and c.reasons == ()


def test_replace_reads_both_sides() -> None:
    c = one(
        rc(
            "aws_instance.web",
            ["delete", "create"],
            before={"tags": {"env": "dev"}},
            after={"tags": {"env": "live"}},
        )
    )
    assert c.gated and "(after)" in c.reasons[0].text


def test_non_production_destructive_is_not_gated() -> None:
    c = one(rc("aws_instance.web", ["delete"], before={"tags": {"env": "staging"}}))
    assert c.destructive and not c.production and not c.possibly_production and not c.gated


def test_unknown_tags_are_possibly_production() -> None:
    c = one(
        rc(
            "aws_instance.web",
            ["create", "delete"],
            before={"tags": {"env": "dev"}},
            after={"tags": None},
            after_unknown={"tags": True},
        )
    )
    assert c.gated and c.possibly_production and not c.production
    assert codes(c) == ["unknown_tags"]


def test_unknown_key_irrelevant_when_not_a_tag_key() -> None:
    c = one(
        rc(
            "aws_instance.web",
            ["delete", "create"],
            before={"tags": {"env": "dev"}},
            after={"tags": {"env": "dev"}},
            after_unknown={"tags": {"owner": True}},
        )
    )
    assert not c.gated


def test_address_glob_treats_brackets_literally() -> None:
    policy = Policy(production=ProductionPolicy(addresses=('module.db["main"].*',)))
    c = one(rc('module.db["main"].aws_instance.x', ["delete"], before={}), policy)
    assert c.gated and codes(c) == ["address"]
    c = one(rc('module.db["other"].aws_instance.x', ["delete"], before={}), policy)
    assert not c.gated


def test_module_glob_and_plan_label() -> None:
    policy = Policy(
        production=ProductionPolicy(addresses=("module.prod",), plan_labels=("*prod*",))
    )
    entry = rc("module.prod.aws_instance.x", ["delete"], before={}, module_address="module.prod")
    c = one(entry, policy, label="stacks/eu-prod")
    assert codes(c) == ["plan_label", "module"]


def test_protected_type() -> None:
    c = one(rc("aws_db_instance.main", ["delete", "create"], before={}, after={}))
    assert c.gated and codes(c) == ["protected_type"]


def test_sensitive_tag_value_is_never_read_and_fails_closed() -> None:
    # A hidden tag is not matched against the globs (the bundle could not match it: it carries
    # only redacted values): whatever its value, the change is possibly production.
    for value in ("prod-secret", "dev-secret"):
        c = one(
            rc(
                "aws_instance.web",
                ["delete"],
                before={"tags": {"env": value, "team": "x"}},
                before_sensitive={"tags": {"env": True}},
            ),
            Policy(production=ProductionPolicy(tag_values=("prod*",))),
        )
        assert c.gated and c.possibly_production and not c.production
        assert codes(c) == ["redacted_tags"]
        assert (
            value not in c.reasons[0].text and "before.tags.env is sensitive" in c.reasons[0].text
        )


def test_hidden_copy_of_a_secret_in_a_tag_fails_closed() -> None:
    # tags_all is a provider-computed copy Terraform does not mark: redaction hides it anyway.
    c = one(
        rc(
            "aws_instance.web",
            ["delete"],
            before={"tags": {"env": "prod-x"}, "tags_all": {"env": "prod-x"}},
            before_sensitive={"tags": {"env": True}},
        ),
        Policy(production=ProductionPolicy(tag_attributes=("tags_all",))),
    )
    assert c.possibly_production and "before.tags_all.env is sensitive" in c.reasons[0].text


def test_visible_tag_next_to_a_secret_still_counts() -> None:
    c = one(
        rc(
            "aws_instance.web",
            ["delete"],
            before={"tags": {"env": "prod", "token": "s3cr3t"}},
            before_sensitive={"tags": {"token": True}},
        )
    )
    assert c.production and codes(c) == ["tag"]


def test_forget_reported_not_destructive_unless_policy_says() -> None:
    entry = rc("aws_db_instance.main", ["forget"], before={"id": "x"})
    assert not one(entry).destructive
    assert one(entry).notes
    assert one(entry, Policy(forget_is_destructive=True)).gated


def test_streaming_log_fails_closed_then_source_tags_decide() -> None:
    plan = parse_plan(
        fixture_plan("replace_prod_db", "plan.jsonl").read_bytes(), label="l", path="l"
    )
    change = next(c for c in plan.changes if c.address.endswith("primary"))
    assert classify(change, TRIGGERS).possibly_production
    facts = SourceFacts(tags={"triggers": {"env": "prod"}})
    c = classify(change, TRIGGERS, facts)
    assert c.production and "(from code)" in c.reasons[0].text
    c = classify(change, TRIGGERS, SourceFacts(tags={"triggers": {"env": "dev"}}))
    assert not c.gated
    c = classify(change, TRIGGERS, SourceFacts(unresolved=("tags = var.tags: no default",)))
    assert c.gated and c.possibly_production


def test_prevent_destroy_note() -> None:
    entry = rc("aws_db_instance.main", ["delete"], before={})
    plan = parse_plan(show_json(entry), label="p", path="p")
    c = classify(plan.changes[0], Policy(), SourceFacts(prevent_destroy=True))
    assert any("Terraform will refuse this destroy" in n for n in c.notes)


def test_gated_first_ordering_and_digest_properties() -> None:
    plan = parse_plan(fixture_plan("nested_modules").read_bytes(), label="n", path="n")
    policy = Policy(production=ProductionPolicy(addresses=('module.app.module.db["main"].*',)))
    a = analyze([plan], policy)
    ranks = [0 if c.gated else 1 if c.destructive else 2 for c in a.changes]
    assert ranks == sorted(ranks) and ranks[0] == 0
    assert {c.change.address for c in a.gated} == {
        'module.app.module.db["main"].null_resource.primary',
        'module.app.module.db["main"].null_resource.replica[0]',
        'module.app.module.db["main"].null_resource.replica[1]',
    }
    # The digest binds the gated changes only, in any order.
    assert a.plan_digest == plan_digest(reversed(a.changes))
    assert a.plan_digest == plan_digest(a.gated)
    wider = analyze([plan], Policy(production=ProductionPolicy(addresses=("module.app.*",))))
    assert wider.plan_digest != a.plan_digest


def test_digest_changes_when_destroyed_object_changes() -> None:
    def digest(before: dict) -> str:  # type: ignore[type-arg]
        entry = rc("aws_db_instance.main", ["delete"], before=before)
        return analyze([parse_plan(show_json(entry), label="p", path="p")], Policy()).plan_digest

    assert digest({"id": "db-1"}) != digest({"id": "db-2"})
    assert digest({"id": "db-1", "b": 1}) == digest({"b": 1, "id": "db-1"})
