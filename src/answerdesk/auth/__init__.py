"""Users, roles, sessions, API keys and the audit log."""
