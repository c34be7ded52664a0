"""Organizations (tenants) and their settings."""
