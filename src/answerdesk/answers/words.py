"""Content words of questions and passages, and how much two of them overlap (shared by the answer stages)."""

from __future__ import annotations

from answerdesk.retrieval.keyword import tokenize

# Words that say how a customer asks, not what about; retrieval's own stopword list keeps them.
_ASKING_WORDS = frozenset(
    {
        "about", "also", "any", "anything", "able", "all", "am", "cannot", "can't", "currently",
        "don", "explain", "get", "go", "hello", "help", "hi", "just", "know", "let", "like",
        "many", "much", "need", "not", "ok", "okay", "one", "please", "possible", "should", "some",
        "something", "still", "tell", "thank", "thanks", "too", "us", "use", "want", "way", "well",
        "yes", "no",
    }
)  # fmt: skip


def content_words(text: str) -> set[str]:
    """Stemmed words that carry the topic of ``text``, tokenized the way keyword search does."""
    return {word for word in tokenize(text) if word not in _ASKING_WORDS}


def containment(a: set[str], b: set[str]) -> float:
    """Share of the smaller set found in the other: 1.0 when one text's words are all in the other."""
    if not a or not b:
        return 0.0
    return len(a & b) / min(len(a), len(b))


def jaccard(a: set[str], b: set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)
