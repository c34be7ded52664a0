"""The new organization's getting-started checklist, derived from what the organization has really done."""
