"""Self-service sign-up: the landing page's account creation, e-mail verification and invitation codes."""
