"""Helpers the tests share: builders (pure facts), scenes (the local server), the gate runner."""
