"""A cheap guess of a text's language from its most common function words."""

from __future__ import annotations

import re

_FUNCTION_WORDS = {
    "en": "the and of to is in that it for you with are on this be your can not have",
    "de": "der die und das ist nicht sie ich mit den ein eine zu auf für sich auch wird",
    "fr": "le la les et des est une pour que dans pas vous sur avec qui par sont",
    "es": "el la los las y que es en una para por con del se su no como más",
    "it": "il di che la è per una non sono della con gli del le si al",
    "nl": "de het een en van is dat niet op voor met zijn je ook te u",
    "pt": "o os da do que não uma para com em se por das dos é são você",
}
_STOPWORDS = {lang: frozenset(words.split()) for lang, words in _FUNCTION_WORDS.items()}
_WORD = re.compile(r"[^\W\d_]+")


def guess_language(text: str, *, min_hits: int = 5) -> str | None:
    """ISO 639-1 code of the likeliest language, or None when the text is too short or ambiguous.

    Good enough to pick an answer language or flag non-English documents for the English-only
    embedder; not a classifier for short snippets or languages outside the list.
    """
    words = [w.casefold() for w in _WORD.findall(text[:20000])]
    scores = sorted(
        ((sum(1 for w in words if w in stop), lang) for lang, stop in _STOPWORDS.items()), reverse=True
    )
    (best, lang), (second, _) = scores[0], scores[1]
    if best < min_hits or best < 1.5 * second:
        return None
    return lang
