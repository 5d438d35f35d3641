"""Plan Gatekeeper: keep AI coding agents from destroying production."""

__version__ = "0.1.0"
