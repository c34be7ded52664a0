"""Language names for prompts and the admin, by ISO 639-1 code."""

from __future__ import annotations

import re

# The prompt is what the model reads; a code is easier to misread than a name.
LANGUAGE_NAMES = {
    "ar": "Arabic", "cs": "Czech", "da": "Danish", "de": "German", "el": "Greek", "en": "English",
    "es": "Spanish", "fi": "Finnish", "fr": "French", "hu": "Hungarian", "it": "Italian",
    "ja": "Japanese", "ko": "Korean", "nl": "Dutch", "no": "Norwegian", "pl": "Polish",
    "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sv": "Swedish", "tr": "Turkish",
    "uk": "Ukrainian", "zh": "Chinese",
}  # fmt: skip


def base_code(tag: str) -> str:
    """The base language of a tag: "pt-BR", "en_GB", "DE" -> "pt", "en", "de"."""
    return re.split(r"[-_]", tag.strip().casefold(), maxsplit=1)[0]


def language_name(tag: str) -> str | None:
    """The English name of a language code or tag ("de", "pt-BR"), or None when we do not know it."""
    return LANGUAGE_NAMES.get(base_code(tag))


def code_of(value: str) -> str | None:
    """The code of a language given by code, tag or English name ("de", "pt-BR", "German", "german" as
    WHMCS stores a client's language), or None when we do not know it."""
    text = value.strip().casefold()
    if language_name(text):
        return base_code(text)
    return next((code for code, name in LANGUAGE_NAMES.items() if name.casefold() == text), None)


_TAG = re.compile(r"^[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*$")


def language_code(tag: str) -> str | None:
    """The ISO 639-1 code of a BCP 47 tag we can name ("de-DE" -> "de"); None for other languages.

    Raises ValueError for text that is no language tag at all.
    """
    if not _TAG.match(tag.strip()):
        raise ValueError("use a language tag such as 'de' or 'pt-BR'")
    code = base_code(tag)
    return code if code in LANGUAGE_NAMES else None
