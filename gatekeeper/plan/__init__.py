"""The plan: its model, the two parsers and the one masker (see docs/ARCHITECTURE.md)."""
