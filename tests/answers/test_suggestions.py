from __future__ import annotations

import pytest

from answerdesk.answers.suggestions import MAX_SUGGESTION_CHARS, heading_question, suggest_followups
from tests.answers.factories import demo_faq, demo_passage, make_passage

QUESTION = "How do I reset my cPanel password?"


def test_unused_faq_questions_come_first_then_headings_as_questions() -> None:
    passages = [
        demo_faq(1, "How do I reset my cPanel password?"),
        demo_passage(2, "cpanel.md", "Resetting the cPanel password"),
        demo_passage(3, "cpanel.md", "Logging in to cPanel"),
        demo_faq(4, "I forgot my client area password. How do I reset it?"),
        demo_passage(5, "billing.md", "Upgrading or downgrading your plan"),
    ]

    suggestions = suggest_followups(QUESTION, passages, used={1}, limit=3)

    assert suggestions == [
        "I forgot my client area password. How do I reset it?",
        "How do I log in to cPanel?",
        "How do I upgrade or downgrade my plan?",
    ]


def test_used_passages_and_ones_too_close_to_the_question_are_left_out() -> None:
    passages = [
        demo_faq(1, "How do I reset my cPanel password?"),
        demo_passage(2, "cpanel.md", "Resetting the cPanel password"),
        demo_faq(3, "How do I log in to cPanel?"),
    ]

    assert suggest_followups(QUESTION, passages, used={3}) == []


def test_duplicates_between_faqs_and_headings_appear_once() -> None:
    passages = [
        demo_faq(1, "How do I reset my cPanel password?"),
        demo_passage(2, "cpanel.md", "Resetting the cPanel password"),
        demo_passage(3, "cpanel.md", "Logging in to cPanel"),
        demo_faq(4, "How do I log in to cPanel?"),
    ]

    assert suggest_followups("What are your support hours?", passages, used=set()) == [
        "How do I reset my cPanel password?",
        "How do I log in to cPanel?",
    ]


def test_generic_or_context_bound_headings_use_the_heading_above() -> None:
    passages = [
        demo_passage(1, "dns.md", "Step by step"),
        demo_passage(2, "dns.md", "Checking that it worked"),
        demo_passage(3, "cpanel.md", "File Manager"),
    ]

    assert suggest_followups("What are your support hours?", passages, used=set()) == [
        "How do I point my domain to your nameservers?",
        "File Manager",
    ]


def test_a_passage_with_only_the_document_title_suggests_nothing() -> None:
    intro = make_passage(1, "cPanel is the control panel.", title="cPanel guide", section="cPanel guide")

    assert suggest_followups(QUESTION, [intro], used=set()) == []


def test_long_suggestions_are_dropped_and_limit_is_respected() -> None:
    long_question = "Q: " + "Can I " + "really " * 20 + "host a site?\nA: Yes."
    passages = [make_passage(1, long_question, kind="faq")] + [
        demo_faq(n, q)
        for n, q in enumerate(
            [
                "What are your nameservers?",
                "How long does DNS propagation take?",
                "What is your refund policy?",
            ],
            start=2,
        )
    ]

    suggestions = suggest_followups(QUESTION, passages, used=set(), limit=2)

    assert suggestions == ["What are your nameservers?", "How long does DNS propagation take?"]
    assert all(len(s) <= MAX_SUGGESTION_CHARS for s in suggestions)


@pytest.mark.parametrize(
    ("heading", "question"),
    [
        ("Resetting the cPanel password", "How do I reset the cPanel password?"),
        ("Pointing your domain to our nameservers", "How do I point my domain to your nameservers?"),
        ("Setting up Outlook", "How do I set up Outlook?"),
        ("Turning on 2FA for the client area", "How do I turn on 2FA for the client area?"),
        ("Upgrading or downgrading your plan", "How do I upgrade or downgrade my plan?"),
        ("Sending mail using SMTP", "How do I send mail using SMTP?"),
        # Not phrased by guesswork: questions, noun phrases, unknown verbs, "you"/"we" needing agreement.
        ("IMAP or POP3?", "IMAP or POP3?"),
        ("Support PIN", "Support PIN"),
        ("Refund policy (30-day money-back guarantee)", "Refund policy (30-day money-back guarantee)"),
        ("Whitelisting senders", "Whitelisting senders"),
        ("Making sure you get our e-mails", "Making sure you get our e-mails"),
        ("If your domain does not point to us yet", "If your domain does not point to us yet"),
    ],
)
def test_heading_question(heading: str, question: str) -> None:
    assert heading_question(heading) == question
