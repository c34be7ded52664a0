"""One package per external system: no business rules, no database."""
