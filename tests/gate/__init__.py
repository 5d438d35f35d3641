"""Tests of gatekeeper.gate (the pure pipeline, head check, record) and of `gatekeeper gate`."""
