"""One module per CLI subcommand; `gatekeeper.cli` only parses and dispatches."""
