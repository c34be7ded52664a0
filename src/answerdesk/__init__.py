"""Answerdesk: grounded AI customer support."""

__version__ = "0.1.0"
