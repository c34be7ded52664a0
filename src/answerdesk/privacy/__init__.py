"""Privacy (GDPR): a customer's data exported or erased, retention, an organization exported or deleted."""
