"""Subjects of e-mailed ticket replies."""

from __future__ import annotations


def reply_subject(subject: str, ticket_number: str) -> str:
    """ "Re: <subject> [#<ticket number>]", without piling up "Re:"s."""
    base = subject.strip()
    while base.lower().startswith("re:"):
        base = base[3:].strip()
    return f"Re: {base} [#{ticket_number}]" if ticket_number else f"Re: {base}"
