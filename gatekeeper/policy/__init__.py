"""The policy (`.github/gatekeeper.yml`): `model` (the frozen dataclasses, whose field defaults
are the built-in policy), `load` (YAML parse and JSON Schema validation, errors with
file:line:column) and `defaults` (the shipped lists: production tags, stateful types, agents).
"""
