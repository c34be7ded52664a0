from __future__ import annotations

import pytest

from answerdesk.answers.followup import clean_rewrite, looks_like_followup, standalone_query
from answerdesk.answers.prompt import Turn

FOLLOWUPS = [
    "and for webmail?",
    "What about Thunderbird?",
    "how about the Pro plan?",
    "Does it renew automatically?",
    "How much does that cost?",
    "Can I do this from my phone?",
    "same for .co.uk?",
    "And the Business plan?",
    "Also for e-mail?",
    "Is that free?",
    "Where do I find it?",
    "How long does it take?",
    "and on Android?",
    "Why?",
    "How long?",
    "Webmail too?",
    "for the Pro plan?",
    "Can I change it later?",
    "OK and for Outlook?",
    "How do I set it up on my iPhone?",
    "Is there a fee for that?",
    "Those steps didn\u2019t work",
]

COMPLETE = [
    "How do I point my domain to your nameservers?",
    "What are your support hours?",
    "How long does DNS propagation take?",
    "How do I reset my cPanel password?",
    "Which SMTP port should I use?",
    "Is SSL included and does it renew automatically?",
    "What is your refund policy?",
    "How do I install WordPress and keep it updated?",
    "What happens if I don't pay my invoice?",
    "How do I make sure that my emails don't go to spam?",
    "Can I transfer my .com domain to Northwind Hosting?",
    "And how do I add an MX record to my domain?",
    "Also, how do I enable two-factor authentication?",
    "I forgot my client area password. How do I reset it?",
    "My e-mail stopped working. What should I check?",
    "Is there a limit on mailbox size?",
    "What are the IMAP and POP3 settings?",
    "How do I cancel my hosting?",
]


@pytest.mark.parametrize("question", FOLLOWUPS)
def test_questions_leaning_on_context_are_followups(question: str) -> None:
    assert looks_like_followup(question)


@pytest.mark.parametrize("question", COMPLETE)
def test_complete_questions_are_not_followups(question: str) -> None:
    assert not looks_like_followup(question)


def test_empty_text_is_not_a_followup() -> None:
    assert not looks_like_followup("   ")


def _history(*customer: str) -> list[Turn]:
    turns: list[Turn] = []
    for text in customer:
        turns += [Turn("customer", text), Turn("bot", "Here is how [1].")]
    return turns


@pytest.mark.parametrize(
    ("previous", "followup", "expected"),
    [
        ("How do I reset my cPanel password?", "and for webmail?", "How do I reset my webmail password?"),
        ("How much does the Starter plan cost?", "And Pro?", "How much does the Pro plan cost?"),
        (
            "How much does the Starter plan cost?",
            "how about the Pro plan?",
            "How much does the Pro plan cost?",
        ),
        ("How do I transfer a .com domain?", "same for .co.uk?", "How do I transfer a .co.uk domain?"),
        ("How do I set up Outlook?", "What about Thunderbird?", "How do I set up Thunderbird?"),
        (
            "What are the IMAP settings for Outlook?",
            "and for POP3?",
            "What are the POP3 settings for Outlook?",
        ),
    ],
)
def test_elliptical_followups_take_the_place_of_the_name_they_replace(
    previous: str, followup: str, expected: str
) -> None:
    assert standalone_query(followup, _history(previous)) == expected


def test_what_about_a_word_of_another_kind_is_joined_not_swapped() -> None:
    """ "what about the ports?" may ask about another aspect of the same thing: search for both."""
    thunderbird = _history("How do I set up my email in Thunderbird?")
    assert standalone_query("and what about the ports?", thunderbird) == (
        "How do I set up my email in Thunderbird? ports"
    )
    cpanel = _history("How do I reset my cPanel password?")
    assert standalone_query("what about the client area?", cpanel) == (
        "How do I reset my cPanel password? client area"
    )


def test_followup_without_a_clear_name_to_swap_is_joined_to_the_previous_question() -> None:
    history = _history("How do I reset my cPanel password?")

    assert standalone_query("same for .co.uk?", history) == "How do I reset my cPanel password? .co.uk"
    assert (
        standalone_query("Does it take long?", history)
        == "How do I reset my cPanel password? Does it take long?"
    )


def test_uses_the_latest_customer_question_and_ignores_the_current_one_in_history() -> None:
    history = [
        *_history("What are your support hours?", "How do I set up Outlook?"),
        Turn("customer", "and Thunderbird?"),
    ]

    assert standalone_query("and Thunderbird?", history) == "How do I set up Thunderbird?"


def test_complete_question_or_no_history_is_returned_as_is() -> None:
    history = _history("How do I set up Outlook?")

    assert standalone_query("How do I cancel my hosting?", history) == "How do I cancel my hosting?"
    assert standalone_query("and for webmail?", []) == "and for webmail?"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("reset webmail password", "reset webmail password"),
        ('Query: "reset webmail password"', "reset webmail password"),
        (
            "**Standalone query:** reset webmail password\nI replaced cPanel with webmail.",
            "reset webmail password",
        ),
        ("\n\n  Search query - `webmail password reset`  ", "webmail password reset"),
        ("\u201cHow do I reset my webmail password?\u201d", "How do I reset my webmail password?"),
        ("- Rewritten question: webmail password", "webmail password"),
    ],
)
def test_clean_rewrite_strips_labels_and_quotes(output: str, expected: str) -> None:
    assert clean_rewrite(output, "fallback") == expected


@pytest.mark.parametrize(
    "output",
    [
        "",
        "   \n  ",
        'Query: ""',
        "word " * 200,
        "I'm sorry, but I can't help with that.",
        "As an AI, I cannot",
    ],
)
def test_clean_rewrite_falls_back_when_the_output_is_unusable(output: str) -> None:
    assert (
        clean_rewrite(output, "How do I reset my webmail password?") == "How do I reset my webmail password?"
    )
