"""Triage rules: category keywords, department fallback, priority steps and their reasons."""

from __future__ import annotations

from answerdesk.tickets.classify import categorise, triage, whmcs_priority


def test_category_from_keywords_subject_counts_double() -> None:
    category, reason = categorise("SSL certificate expired", "my e-mail also shows a warning")
    assert category == "ssl"
    assert "certificate" in reason


def test_category_falls_back_to_department_then_general() -> None:
    assert categorise("Question", "Hello there", department="Billing")[0] == "billing"
    assert categorise("Question", "Hello there", department="Sales")[0] == "sales"
    assert categorise("Question", "Hello there")[0] == "general"


def test_outage_with_urgency_is_urgent() -> None:
    result = triage("Website is down", "Our site is down since this morning, we are losing sales! Urgent")
    assert result.priority == "urgent"
    assert any("urgent" in r for r in result.reasons)


def test_single_outage_is_high_and_frustration_raises_one_step() -> None:
    assert triage("Mail", "My email stopped working", given_priority="Low").priority == "high"
    assert triage("Mail", "My email stopped working", frustrated=True).priority == "urgent"
    calm = triage("Invoice", "Can I get a copy of my invoice?", given_priority="Low")
    angry = triage("Invoice", "Can I get a copy of my invoice?", given_priority="Low", frustrated=True)
    assert (calm.priority, angry.priority) == ("low", "medium")
    assert angry.urgency > calm.urgency


def test_plain_question_is_at_most_medium() -> None:
    result = triage("DNS", "How do I add a CNAME record?", given_priority="High")
    assert result.priority == "medium"


def test_whmcs_priority_mapping() -> None:
    assert [whmcs_priority(p) for p in ("low", "medium", "high", "urgent")] == [
        "Low",
        "Medium",
        "High",
        "High",
    ]
