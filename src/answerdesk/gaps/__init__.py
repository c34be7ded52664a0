"""Knowledge gaps: customer questions the bot could not answer well, grouped by meaning."""
