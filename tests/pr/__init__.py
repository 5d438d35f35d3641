"""Tests of gatekeeper.pr: the PR snapshot, trailers, authorship, approvals, trust root."""
