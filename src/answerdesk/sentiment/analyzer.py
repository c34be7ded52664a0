"""Sentiment of customer messages: label, score, frustrated/urgent flag and request-for-a-human flag."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from answerdesk.sentiment.cues import Cues, find_cues, wants_human
from answerdesk.sentiment.lexicon import LEXICON_FEATURES, LexiconScorer
from answerdesk.sentiment.linear import LinearSentimentModel, load_shipped_model

Label = Literal["negative", "neutral", "positive"]
# Any function giving L2-normalised all-MiniLM-L6-v2 vectors, e.g. knowledge.embedding's `Embedder.embed`.
Embed = Callable[[Sequence[str]], npt.NDArray[np.float32]]
_LABELS: tuple[Label, Label, Label] = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class SentimentResult:
    label: Label
    # p(positive) - p(negative), in [-1, 1]; the label is the most probable class, so a mixed message can
    # have a mildly positive score and still be neutral.
    score: float
    frustrated: bool
    wants_human: bool
    # Why `frustrated` is set (cue phrases, "strongly negative"), for logs and the review queue.
    reasons: tuple[str, ...] = ()


def decide(
    probabilities: Sequence[float], cues: Cues, strongly_negative_below: float
) -> tuple[Label, float, bool, tuple[str, ...]]:
    """Turn class probabilities (CLASSES order) and surface cues into (label, score, frustrated, reasons).

    Escalation and urgency phrases flag a message whatever its tone; shouting, !!! and swearing only when it
    is not positive ("THANK YOU!!!"); churn phrases only when it is negative ("how do I cancel my plan?").
    """
    label = _LABELS[int(np.argmax(probabilities))]
    score = round(float(probabilities[2] - probabilities[0]), 4)
    reasons = list(cues.unconditional)
    if score < strongly_negative_below:
        reasons.append("strongly negative")
    if label != "positive":
        reasons += cues.when_not_positive
    if label == "negative":
        reasons += cues.when_negative
    return label, score, bool(reasons), tuple(reasons)


class SentimentAnalyzer:
    """Classifies message batches; the embedding function is injected, so any backend (torch, ONNX) fits."""

    def __init__(self, embed: Embed, model: LinearSentimentModel) -> None:
        if model.lexicon_features != LEXICON_FEATURES:
            raise ValueError(
                f"model expects lexicon features {model.lexicon_features}, code has {LEXICON_FEATURES}"
            )
        self._embed = embed
        self._model = model
        self._lexicon = LexiconScorer()

    @property
    def model(self) -> LinearSentimentModel:
        return self._model

    def analyze(self, texts: Sequence[str]) -> list[SentimentResult]:
        filled = [i for i, text in enumerate(texts) if text.strip()]
        results = [SentimentResult("neutral", 0.0, frustrated=False, wants_human=False)] * len(texts)
        if filled:
            subset = [texts[i] for i in filled]
            for i, result in zip(filled, self.analyze_embedded(subset, self._embed(subset)), strict=True):
                results[i] = result
        return results

    def analyze_one(self, text: str) -> SentimentResult:
        return self.analyze([text])[0]

    def analyze_embedded(self, texts: Sequence[str], embeddings: npt.ArrayLike) -> list[SentimentResult]:
        """For callers that already hold the messages' embeddings: no second embedding pass."""
        all_cues = [find_cues(text) for text in texts]
        probabilities = self._model.probabilities(
            embeddings, self._lexicon.features(texts), [c.emphasis for c in all_cues]
        )
        results = []
        for text, cues, row in zip(texts, all_cues, probabilities.tolist(), strict=True):
            label, score, frustrated, reasons = decide(row, cues, self._model.strongly_negative_below)
            results.append(SentimentResult(label, score, frustrated, wants_human(text), reasons))
        return results


def load_analyzer(embed: Embed) -> SentimentAnalyzer:
    """An analyzer using the model file shipped in the package."""
    return SentimentAnalyzer(embed, load_shipped_model())
