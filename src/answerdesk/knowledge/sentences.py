"""Rule-based sentence splitting, good enough to cut chunks where a sentence ends."""

from __future__ import annotations

import re

_BOUNDARY = re.compile(r"[.!?\u2026]+[\"'\u201d\u2019)\]]*\s+|[\u3002\uff01\uff1f]+[\"'\u201d\u2019)\]]*\s*")
_ABBREVIATIONS = frozenset(
    ("e.g", "i.e", "etc", "vs", "mr", "mrs", "ms", "dr", "prof", "fig", "approx", "inc", "ltd", "z.b", "d.h")
)
_LAST_WORD = re.compile(r"([\w.]+)\.$")


def split_sentences(text: str) -> list[str]:
    """Split after sentence-final punctuation followed by something that does not start lowercase.

    Abbreviations ("e.g.", "Dr.") and initials ("J. Smith") do not end a sentence. Only the
    whitespace between sentences is dropped, so joining the result with spaces restores the text.
    """
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        following = text[match.end() : match.end() + 1]
        if following.islower() or _ends_with_abbreviation(text[start : match.start() + 1]):
            continue
        sentence = text[start : match.end()].strip()
        if sentence:
            sentences.append(sentence)
        start = match.end()
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def _ends_with_abbreviation(sentence: str) -> bool:
    match = _LAST_WORD.search(sentence)
    if match is None:
        return False
    word = match.group(1)
    return word.casefold() in _ABBREVIATIONS or (len(word) == 1 and word.isupper())
