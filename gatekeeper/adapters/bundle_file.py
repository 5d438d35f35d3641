"""Writing the plan bundle where actions/upload-artifact picks it up (the plan job of the
split setup, and `verify --bundle-out`). The document itself is bundle.format's."""

from __future__ import annotations

import os
from collections.abc import Sequence

from gatekeeper.adapters.files import write_atomic
from gatekeeper.bundle.format import BUNDLE_FILE, BundleError, MatrixLeg, bundle_document
from gatekeeper.plan.model import Plan


def write_bundle(
    plans: Sequence[Plan],
    out_dir: str,
    *,
    repository: str,
    head_sha: str,
    pr_number: int | None = None,
    base_ref: str | None = None,
    no_plan: str | None = None,
    matrix: MatrixLeg | None = None,
) -> str:
    """Write DIR/gatekeeper-bundle.json atomically; returns its path (see bundle_document)."""
    data = bundle_document(
        plans,
        repository=repository,
        head_sha=head_sha,
        pr_number=pr_number,
        base_ref=base_ref,
        no_plan=no_plan,
        matrix=matrix,
    )
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as exc:
        raise BundleError(f"{out_dir}: cannot write the bundle: {exc.strerror}") from None
    path = os.path.join(out_dir, BUNDLE_FILE)
    write_atomic(path, data)
    return path
