"""The pull request: its snapshot, who wrote it, who approved it, and the trust-root rules."""
