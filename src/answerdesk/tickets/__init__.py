"""Tickets: the WHMCS connector, native tickets, AI drafts and the staff review queue."""
