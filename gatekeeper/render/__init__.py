"""Renderers: pure functions from an analysis and a decision to text, JSON or markdown."""
