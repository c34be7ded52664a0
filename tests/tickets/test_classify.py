"""Triage rules: category keywords, department fallback, priority steps and their reasons."""

from __future__ import annotations

from answerdesk.tickets.categories import DEFAULT_CATEGORIES, by_keywords
from answerdesk.tickets.classify import CategoryChoice, categorise, triage, whmcs_priority

GENERAL = CategoryChoice("general", "no category keyword; general")


def test_category_from_keywords_subject_counts_double() -> None:
    category, reason = by_keywords(
        DEFAULT_CATEGORIES, "SSL certificate expired", "my e-mail also shows a warning"
    )
    assert category == "ssl"
    assert "certificate" in reason


def test_category_falls_back_to_department_then_general() -> None:
    keywords = {c.name: c.keywords for c in DEFAULT_CATEGORIES}
    assert categorise("Question", "Hello there", categories=keywords, department="Billing").name == "billing"
    assert categorise("Question", "Hello there", categories=keywords, department="Sales").name == "sales"
    assert categorise("Question", "Hello there", categories=keywords).name == "general"
    # The ticket's category column holds 100 characters; a long department name is cut, not an error.
    assert len(categorise("Q", "Hi", categories=keywords, department="D" * 150).name) == 100


def test_triage_keeps_the_category_it_is_given_and_its_reason() -> None:
    chosen = CategoryChoice("billing", "category billing: closest to its examples (0.71)")
    result = triage("Help", "Something about money", category=chosen)
    assert result.category == "billing" and result.reasons[0] == chosen.reason


def test_outage_with_urgency_is_urgent() -> None:
    result = triage(
        "Website is down",
        "Our site is down since this morning, we are losing sales! Urgent",
        category=GENERAL,
    )
    assert result.priority == "urgent"
    assert any("urgent" in r for r in result.reasons)


def test_single_outage_is_high_and_frustration_raises_one_step() -> None:
    assert (
        triage("Mail", "My email stopped working", given_priority="Low", category=GENERAL).priority == "high"
    )
    assert triage("Mail", "My email stopped working", frustrated=True, category=GENERAL).priority == "urgent"
    calm = triage("Invoice", "Can I get a copy of my invoice?", given_priority="Low", category=GENERAL)
    angry = triage(
        "Invoice", "Can I get a copy of my invoice?", given_priority="Low", frustrated=True, category=GENERAL
    )
    assert (calm.priority, angry.priority) == ("low", "medium")
    assert angry.urgency > calm.urgency


def test_plain_question_is_at_most_medium() -> None:
    result = triage("DNS", "How do I add a CNAME record?", given_priority="High", category=GENERAL)
    assert result.priority == "medium"


def test_whmcs_priority_mapping() -> None:
    assert [whmcs_priority(p) for p in ("low", "medium", "high", "urgent")] == [
        "Low",
        "Medium",
        "High",
        "High",
    ]
