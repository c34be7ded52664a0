"""Plans, quotas and usage: what an organization may use and how much of it it has used."""
