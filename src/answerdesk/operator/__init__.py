"""The instance operator's console: every organization, its plan and usage, suspension, plan changes."""
