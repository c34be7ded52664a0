"""Demo content seeded into the demo organization by `make run`."""
