"""Language detection on short support messages, and what it refuses to guess."""

from __future__ import annotations

import pytest

from answerdesk.languages.detect import detect_language
from answerdesk.languages.names import language_code, language_name


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("How do I reset my password?", "en"),
        ("Wie kann ich mein Passwort zurücksetzen?", "de"),
        ("Comment réinitialiser mon mot de passe ?", "fr"),
        ("¿Cómo restablezco mi contraseña?", "es"),
        ("Hoe reset ik mijn wachtwoord?", "nl"),
        ("Come reimposto la mia password?", "it"),
        ("Como redefino a minha senha?", "pt"),
        ("Jak zresetować hasło?", "pl"),
        ("Как сбросить пароль?", "ru"),
        ("Mein WordPress Login geht nicht", "de"),
        ("如何重置密码", "zh"),
    ],
)
def test_support_questions_are_recognised(text: str, code: str) -> None:
    assert detect_language(text) == code


@pytest.mark.parametrize(
    "text",
    [
        "ok",
        "thanks",
        "danke",
        "#48213",
        "INV-2026-0042",
        "ERR_SSL_PROTOCOL_ERROR",
        "example.com",
        "ok danke",
        "",
    ],
)
def test_short_or_ambiguous_messages_tell_nothing(text: str) -> None:
    assert detect_language(text) is None


def test_links_and_addresses_do_not_count_as_words() -> None:
    assert detect_language("https://example.com/login anna@example.com") is None


def test_language_tags() -> None:
    assert language_code("de-DE") == "de" and language_code("pt_BR") == "pt" and language_code("EN") == "en"
    assert language_code("haw") is None  # a real tag of a language we do not name
    with pytest.raises(ValueError):
        language_code("<script>")
    assert language_name("pt-BR") == "Portuguese" and language_name("xx") is None
