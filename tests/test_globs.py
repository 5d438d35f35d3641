from __future__ import annotations

from gatekeeper.globs import first_match, match


def test_brackets_are_literal() -> None:
    assert match('module.db["main"].*', 'module.db["main"].aws_rds_cluster.this')
    assert not match("module.db[0].*", "module.db0.x")
    assert match("aws_fsx_*", "aws_fsx_lustre_file_system")


def test_question_mark_and_case() -> None:
    assert match("prd?", "prd1") and not match("prd?", "prd")
    assert match("PROD*", "production", casefold=True)
    assert not match("PROD*", "production")


def test_path_mode() -> None:
    assert match(".github/workflows/**", ".github/workflows/deploy.yml", path=True)
    assert match(".github/workflows/**", ".github/workflows/sub/x.yml", path=True)
    assert not match(".github/*", ".github/workflows/x.yml", path=True)
    assert match("**/CODEOWNERS", "CODEOWNERS", path=True)
    assert match("**/CODEOWNERS", "docs/CODEOWNERS", path=True)


def test_first_match_prefers_literal_then_globs_in_order() -> None:
    pats = ("aws_s3_*", "aws_db_instance", "aws_*")
    assert first_match(pats, "aws_db_instance") == "aws_db_instance"
    assert first_match(pats, "aws_s3_bucket") == "aws_s3_*"
    assert first_match(pats, "aws_iam_role") == "aws_*"
    assert first_match(pats, "google_project") is None
    assert first_match(("Live",), "LIVE", casefold=True) == "Live"
