"""Outgoing e-mail: the SMTP adapter every domain sends through."""
