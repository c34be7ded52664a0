"""The organization's default language, as answers fall back to it for customers whose language is unknown."""

from __future__ import annotations

from answerdesk.tenants.service import org_language


def test_default_language_codes() -> None:
    assert org_language({"default_language": "de-AT"}) == "de"
    assert org_language({"default_language": "EN"}) == "en"
    assert org_language({"default_language": "xx"}) is None  # not a language we can name
    assert org_language({}) is None and org_language(None) is None
