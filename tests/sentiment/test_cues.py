from __future__ import annotations

import pytest

from answerdesk.sentiment.cues import (
    _WANTS_HUMAN,
    _WANTS_HUMAN_WORD,
    emphasis,
    find_cues,
    is_shouting,
    wants_human,
)

HUMAN_REQUESTS = (
    "I want to talk to a human",
    "Can I speak to a real person please?",
    "please connect me with an agent",
    "put me through to someone who can help",
    "Operator!",
    "human please",
    "I need a live agent now",
    "is there a real human here?",
    "I don't want to talk to a bot",
    "I can't speak to a live agent, why?",
    "Why can't I talk to someone?",
    "I don't know how to contact a live agent",
    "assistance speaking with a bloody human agent",
    "Ich möchte mit einem Mitarbeiter sprechen",
    "Je voudrais parler à un conseiller",
    "Quiero hablar con una persona",
    "Posso falar com um atendente?",
    "Ik wil met een medewerker spreken",
)


@pytest.mark.parametrize("text", HUMAN_REQUESTS)
def test_requests_for_a_human_are_detected(text: str) -> None:
    assert wants_human(text)


@pytest.mark.parametrize(
    "text",
    [
        "How do I change my MX records?",
        "I don't need to talk to a human, just tell me the IP",
        "The agent on my server reports high load",
        "My SQL query uses the OR operator",
        "Who is the contact person for billing?",
        "Is the putty agent supported?",
        "Thanks, the person who helped me was great",
        "",
    ],
)
def test_other_messages_do_not_ask_for_a_human(text: str) -> None:
    assert not wants_human(text)


def test_acronyms_and_error_codes_are_not_shouting() -> None:
    assert not is_shouting("My SMTP and IMAP fail with ERR_CONNECTION_REFUSED on the WHMCS host")
    assert not is_shouting("DNS TTL")
    assert is_shouting("WHY IS MY SITE DOWN")
    assert is_shouting("this is UNACCEPTABLE")
    assert is_shouting("fix it NOW, I am WAITING, SERIOUSLY")


def test_emphasis_grows_with_exclamations_and_shouting() -> None:
    assert emphasis("ok") == 0.0
    assert emphasis("ok!") < emphasis("ok!!!") < emphasis("OK THIS IS BROKEN!!!") <= 1.0


def test_negated_urgency_is_not_a_cue() -> None:
    assert find_cues("Not urgent, whenever you have time").unconditional == ()
    assert find_cues("no rush at all").unconditional == ()
    assert "urgent" in find_cues("This is urgent, please").unconditional


def test_cue_groups() -> None:
    cues = find_cues("Third time asking. Still not working!!! Cancel my account.")
    assert "third time" in cues.unconditional
    assert "still not" in cues.unconditional
    assert "repeated !?" in cues.when_not_positive
    assert "cancel my account" in cues.when_negative
    assert "site is down" in find_cues("our site is down for hours").unconditional
    calm = find_cues("How do I set up SPF for my domain?")
    assert (calm.unconditional, calm.when_not_positive, calm.when_negative) == ((), (), ())


def test_the_quick_word_check_never_hides_a_request() -> None:
    """wants_human skips its full pattern when no person or bot word occurs: the full pattern alone must
    agree on every request above."""
    for text in HUMAN_REQUESTS:
        assert _WANTS_HUMAN.search(text)
        assert _WANTS_HUMAN_WORD.search(text), text


def test_find_cues_emphasis_equals_emphasis() -> None:
    for text in ("PLEASE FIX THIS NOW!!", "Thanks!", "why?? why??", "HTTP 500 on cPanel"):
        assert find_cues(text).emphasis == emphasis(text)
