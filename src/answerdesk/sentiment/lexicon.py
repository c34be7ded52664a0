"""VADER lexicon scores used as extra model features: negation-, "but"- and emphasis-aware word valence."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # type: ignore[import-untyped]

# Order matters: the shipped model's last coefficients line up with these names.
LEXICON_FEATURES: tuple[str, ...] = ("vader_compound", "vader_pos", "vader_neg")


class LexiconScorer:
    """Wraps VADER; built once per analyzer because loading its lexicon takes a few hundred milliseconds."""

    def __init__(self) -> None:
        self._vader = SentimentIntensityAnalyzer()

    def features(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        rows = []
        for text in texts:
            scores = self._vader.polarity_scores(text)
            rows.append((scores["compound"], scores["pos"], scores["neg"]))
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), len(LEXICON_FEATURES))

    def compound(self, text: str) -> float:
        """VADER's own -1..+1 score, for the lexicon-only baseline."""
        return float(self._vader.polarity_scores(text)["compound"])
