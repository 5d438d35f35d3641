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


def test_an_indexed_glob_set_keeps_policy_order_and_every_kind_of_glob() -> None:
    pats = ("*_bucket", "module.prod*", "aws_db_*", "*prod*", "module.prod.x", "a?c")
    assert first_match(pats, "module.prod.x") == "module.prod.x"  # literal first
    assert first_match(pats, "module.prod.y") == "module.prod*"
    assert first_match(pats, "aws_s3_bucket") == "*_bucket"
    assert first_match(pats, "aws_db_prod") == "aws_db_*"  # before "*prod*"
    assert first_match(pats, "x.prod.y") == "*prod*"  # a wildcard at both ends
    assert first_match(pats, "abc") == "a?c" and first_match(pats, "ac") is None
    assert first_match(("PROD*",), "production", casefold=True) == "PROD*"
    assert first_match(("*/x",), "a/b/x", path=True) is None  # `*` does not cross `/` here


def test_a_glob_set_is_compiled_once_per_pattern_tuple() -> None:
    from gatekeeper.globs import glob_set

    pats = tuple(f"module.svc{i}.aws_*.x{i}*" for i in range(20000))
    built = glob_set(pats)
    assert glob_set(pats) is built
    # Only the glob whose prefix the address has is tried: no compile of the other 19,999.
    assert first_match(pats, "module.svc12345.aws_db.x123457") == "module.svc12345.aws_*.x12345*"
    assert first_match(pats, "module.other.aws_db.x") is None
    assert len(built.by_prefix) == 20000 and not built.rest
