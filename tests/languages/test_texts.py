"""The table of texts the server writes to customers: complete in every widget language, with fallbacks."""

from __future__ import annotations

import string

import pytest

from answerdesk.languages.texts import _TEXTS, UI_LANGUAGES, Text, quoted_in, say


@pytest.mark.parametrize("key", list(Text))
def test_every_text_exists_in_every_widget_language_with_the_same_fields(key: Text) -> None:
    translations = _TEXTS[key]
    assert set(translations) == set(UI_LANGUAGES)
    fields = {
        lang: {f for _, f, _, _ in string.Formatter().parse(t) if f} for lang, t in translations.items()
    }
    assert len({frozenset(f) for f in fields.values()}) == 1, fields


def test_languages_fall_back_to_english() -> None:
    assert say(Text.closed, "pt-BR") == "Esta conversa foi encerrada."
    assert say(Text.closed, "pl") == say(Text.closed, None) == "This conversation has been closed."
    assert say(Text.joined, "de", name="{Anna}") == "{Anna} ist dem Chat beigetreten"


def test_quoted_in_names_the_language_in_the_customers_language() -> None:
    assert quoted_in("en", "de") == "Die unten zitierte Hilfe ist auf Englisch."
    assert quoted_in("de", "fr") == "L'aide citée ci-dessous est en allemand."
    assert quoted_in("pl", "es") == "La ayuda citada a continuación está en otro idioma."
