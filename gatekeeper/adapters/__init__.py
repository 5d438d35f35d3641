"""The edge: files, environment, GitHub. Library exceptions become GatekeeperError here."""
