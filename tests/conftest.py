"""Shared pytest configuration: the local GitHub test server fixtures."""

pytest_plugins = ["tests.ghserver.fixture"]
