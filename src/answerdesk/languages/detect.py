"""Which language a customer message or a document is written in (py3langid, limited to languages we name).

Chosen over lingua-language-detector by bench/language_detection.py (100 short support messages in 11
languages): both limited to our languages, py3langid got 100/100 and lingua's accurate mode 99/100 as best
guesses, but lingua takes ~570 MB and 20+ s to load where py3langid takes ~80 MB and 1-2 s, and is several
times faster per message; lingua's low-accuracy mode is small but got 94/100. A 4.5 MB package, not 96 MB.
"""

from __future__ import annotations

import re
from functools import cache

from py3langid.langid import MODEL_FILE, LanguageIdentifier

from answerdesk.languages.names import LANGUAGE_NAMES

# Below this probability (normalised over the languages we detect) a message does not change anything:
# "ok danke" reads as Dutch at 0.56, while real questions of four words score 0.72 and more.
MIN_CONFIDENCE = 0.65
# An order number, a product name or a single "thanks" says nothing about the language a customer writes in.
MIN_WORDS = 2
MAX_CHARS = 20_000  # a document's opening is as telling as all of it, and costs far less

_NOISE = re.compile(r"https?://\S+|www\.\S+|\S+@\S+|`[^`]*`")
_WORD = re.compile(r"(?<![\w-])[^\W\d_]{2,}(?![\w-])")  # letters only: not "ERR_SSL", "v2", "INV-2026"
_NO_SPACES = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]")  # kana, CJK, Hangul


@cache
def _identifier() -> LanguageIdentifier:
    """Loaded once per process on first use (~1 s): the model is package data, no download."""
    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(sorted(LANGUAGE_NAMES))
    return identifier


def load_detector() -> None:
    """Loads the model now, so that the first customer message does not wait for it."""
    _identifier()


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language, or None when it is too short or too ambiguous to tell."""
    clean = telling_text(text)
    if clean is None:
        return None
    code, probability = _identifier().classify(clean)
    return str(code) if probability >= MIN_CONFIDENCE else None


def telling_text(text: str) -> str | None:
    """The text without links, addresses and code, when enough words are left to tell a language by."""
    clean = _NOISE.sub(" ", text[:MAX_CHARS])
    words = _WORD.findall(clean)
    if len(words) < MIN_WORDS and not (_NO_SPACES.search(clean) and sum(len(w) for w in words) >= 3):
        return None
    return clean
