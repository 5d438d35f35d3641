"""Every real plan in fixtures/corpus through the whole pipeline with the default policy.

The expected gated set of each plan was reviewed by hand: stateful types (secrets, buckets)
are gated whatever their tags; a log without attributes and an unknown action fail closed."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from gatekeeper.classify import analyze
from gatekeeper.decision import decide_offline
from gatekeeper.errors import PlanError
from gatekeeper.plan.parse import parse_plan
from gatekeeper.policy.model import Policy
from gatekeeper.render.report import build_report, dumps, report_schema

pytestmark = pytest.mark.slow  # every public plan through the whole pipeline: seconds

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "corpus"
PLANS = sorted(p for p in CORPUS.glob("*/*") if p.suffix != ".tsv")

REFUSED = {
    "infracost/NEGATIVE_setup_terraform_wrapper.txt": "setup-terraform wrapper",
    "terraform-json/NEGATIVE_invalid_plan.json": "not a valid Terraform plan",
    "tfplan-validator/NEGATIVE_missing_format_version.json": "no format_version",
    "opentofu/show_plan_error.json": "errored",
}

GATED = {
    "checkov/HANDWRITTEN_delete_tagged_secret.json": {"aws_secretsmanager_secret.deleted"},
    "checkov/create_before_destroy_edited.json": {"aws_secretsmanager_secret.default"},
    "snyk/resource_changes_delete_drift.json": {"aws_s3_bucket.delete_bucket"},
    "opentofu/eq_null_provider_delete.apply_array.json": {"null_resource.null_resource"},
    "opentofu/eq_simple_object_replace.apply_array.json": {"tfcoremock_object.object"},
    "terraform-json/actions_invocations.json": {"action.bufo_print.success"},
    "tfplan-validator/NEGATIVE_invalid_action.json": {"local_file.foo"},
}

DESTRUCTIVE_NOT_GATED = {
    "opentofu/eq_complex_destroy.json": 1,
    "opentofu/eq_local_provider_delete.json": 1,
    "opentofu/eq_local_provider_update.json": 1,
    "opentofu/eq_null_provider_delete.json": 1,
    "opentofu/eq_replace_within_list.json": 1,
    "opentofu/eq_replace_within_map.json": 1,
    "opentofu/eq_simple_object_replace.json": 1,
    "opentofu/show_basic_delete.json": 1,
    "opentofu/show_identity_destroy.json": 1,
    "opentofu/show_requires_replace.json": 1,
    "terraform-json/action_reason.json": 1,
    "terraform-json/config_resource_depends_on.json": 1,
    "terraform-json/hist_replace_tf0120beta2.json": 1,
    "tfcompliance/aws_2deletes_tags_drift_tf100.json": 2,
    "tfplan-validator/create_before_destroy_replace.json": 1,
    "tfplan-validator/delete_create_replace.json": 1,
    "tfplan-validator/module_count_index_delete.json": 1,
    "tfreveal/advanced_4replaces_delete_sensitive.json": 5,
    "tfreveal/resource_delete.json": 1,
    "tfreveal/sensitive_replace.json": 1,
}


def test_corpus_is_present() -> None:
    assert len(PLANS) >= 80, f"expected the corpus at {CORPUS}"


@pytest.mark.parametrize("path", PLANS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_plan(path: Path) -> None:
    name = f"{path.parent.name}/{path.name}"
    data = path.read_bytes()
    if name in REFUSED:
        with pytest.raises(PlanError) as exc:
            parse_plan(data, label=name, path=name)
        assert REFUSED[name] in exc.value.message
        assert exc.value.hint
        return
    plan = parse_plan(data, label=name, path=name)
    analysis = analyze([plan], Policy())
    gated = {c.change.address for c in analysis.gated}
    assert gated == GATED.get(name, set())
    others = [c for c in analysis.destructive if not c.gated]
    assert len(others) == DESTRUCTIVE_NOT_GATED.get(name, 0)
    decision = decide_offline(analysis, Policy())
    assert decision.exit_code == (1 if gated else 0)
    report = json.loads(dumps(build_report(analysis, decision)))
    jsonschema.validate(report, report_schema())
    # every gated change says why
    assert all(c.reasons for c in analysis.gated)
