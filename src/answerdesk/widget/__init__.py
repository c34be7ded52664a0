"""The embeddable chat widget: its script, its public configuration, the demo page and its CORS rules."""
