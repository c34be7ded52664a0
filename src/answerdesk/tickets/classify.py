"""Ticket triage by explainable rules: category by keywords (the fallback of tickets/categories.py, which
tries the embedding classifier first), priority and urgency.

Category by keywords: each category has keywords; the category whose keywords occur most often in the
subject and the customer's latest message wins (subject words count double: people name the problem
there). With no keyword hit, the WHMCS department name is used when it is one of the categories, else
the department name itself, else "general".

Priority (low < medium < high < urgent), starting from the priority WHMCS or the customer gave:
- an outage phrase ("site is down", "not working", "hacked", "data loss", ...) → at least high;
  two or more, or an outage with an explicit urgency word ("urgent", "asap", "immediately") → urgent;
- a frustrated customer (the sentiment model's flag) → one step up, at least medium;
- a pure question ("how do I", "can I", "is it possible") with nothing else → at most medium.
Every rule that fired is returned as a reason, so staff can see why a ticket sits where it does.

Urgency score (0..1) orders tickets of equal priority: frustration and negative sentiment raise it.
The queue itself is ordered by priority, then frustration, then waiting time (oldest first).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from answerdesk.tickets.models import PRIORITY_RANK, Priority

_OUTAGE = (
    "is down",
    "are down",
    "site down",
    "website down",
    "server down",
    "not working",
    "doesn't work",
    "does not work",
    "stopped working",
    "can't access",
    "cannot access",
    "outage",
    "hacked",
    "malware",
    "data loss",
    "lost all",
    "deleted",
    "500 error",
    "bounce",
)
_URGENT = (
    "urgent",
    "asap",
    "immediately",
    "emergency",
    "right now",
    "critical",
    "losing money",
    "losing sales",
)
_QUESTION = re.compile(r"^\s*(how (do|can|to)|can i|is it possible|what is|where (do|can)|do you)\b", re.I)
_ORDER = [Priority.low, Priority.medium, Priority.high, Priority.urgent]
# The ticket's category column holds 100 characters; a WHMCS department name may be longer.
MAX_CATEGORY_CHARS = 100


class CategoryChoice(NamedTuple):
    """A ticket's category and the sentence saying how it was chosen."""

    name: str
    reason: str


@dataclass(frozen=True)
class Triage:
    category: str
    priority: Priority
    urgency: float
    reasons: list[str] = field(default_factory=list)


def normalise_priority(value: str | None) -> Priority:
    """WHMCS's Low/Medium/High (or ours) → our vocabulary; unknown values are medium."""
    lowered = (value or "").strip().lower()
    return Priority(lowered) if lowered in PRIORITY_RANK else Priority.medium


def whmcs_priority(priority: str) -> str:
    """Our priority → WHMCS's (which has no "urgent")."""
    return {"low": "Low", "medium": "Medium"}.get(priority, "High")


def categorise(
    subject: str,
    message: str,
    *,
    categories: Mapping[str, Sequence[str]],
    department: str = "",
) -> CategoryChoice:
    """By keywords (name → lower-case keywords), else the WHMCS department, else "general"."""
    subject_l, message_l = subject.lower(), message.lower()
    best, best_score, best_words = "", 0, list[str]()
    for name, words in categories.items():
        hits = [w for w in words if _contains(subject_l, w) or _contains(message_l, w)]
        score = sum(2 if _contains(subject_l, w) else 1 for w in hits)
        if score > best_score:
            best, best_score, best_words = name, score, hits
    if best:
        return CategoryChoice(best, f"category {best}: mentions {', '.join(best_words[:4])}")
    dept = department.strip()
    if dept:
        match = next((name for name in categories if name.lower() == dept.lower()), None)
        name = match or dept.lower()[:MAX_CATEGORY_CHARS]
        return CategoryChoice(name, f"category from the WHMCS department {dept!r}")
    return CategoryChoice("general", "no category keyword; general")


def triage(
    subject: str,
    message: str,
    *,
    category: CategoryChoice,
    given_priority: str | None = None,
    frustrated: bool = False,
    sentiment_score: float | None = None,
) -> Triage:
    """Priority and urgency by the rules above; ``category`` was chosen by tickets/categories.py."""
    reasons = [category.reason]
    text = f"{subject}\n{message}".lower()
    rank = PRIORITY_RANK[normalise_priority(given_priority)]
    if given_priority:
        reasons.append(f"given priority {given_priority}")
    outages = [p for p in _OUTAGE if p in text]
    urgent_words = [w for w in _URGENT if _contains(text, w)]
    if outages:
        if len(outages) >= 2 or urgent_words:
            rank = 3
            reasons.append(f"outage ({', '.join(outages[:3])}) stated as urgent → urgent")
        else:
            rank = max(rank, 2)
            reasons.append(f"outage ({outages[0]}) → at least high")
    elif urgent_words:
        rank = max(rank, 2)
        reasons.append(f"urgency word ({urgent_words[0]}) → at least high")
    if frustrated:
        rank = min(3, max(rank + 1, 1))
        reasons.append("frustrated customer → one step up")
    elif not outages and not urgent_words and _QUESTION.search(message or subject):
        if rank > 1:
            reasons.append("a plain how-to question → at most medium")
        rank = min(rank, 1)
    urgency = rank / 3 * 0.6
    if frustrated:
        urgency += 0.25
    if sentiment_score is not None and sentiment_score < 0:
        urgency += 0.15 * min(1.0, -sentiment_score)
    return Triage(category.name, _ORDER[rank], round(min(1.0, urgency), 4), reasons)


def _contains(text: str, word: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", text) is not None
