"""The shipped linear sentiment model: logistic-regression coefficients evaluated with numpy only."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import numpy as np
import numpy.typing as npt

CLASSES: tuple[str, str, str] = ("negative", "neutral", "positive")
NEUTRAL = CLASSES.index("neutral")
MODEL_RESOURCE = "sentiment_lr.json"
FORMAT_VERSION = 1

FloatArray = npt.NDArray[np.float32]


class ModelFileError(ValueError):
    """The model file is missing fields or has the wrong shapes."""


@dataclass(frozen=True, slots=True)
class LinearSentimentModel:
    """Multinomial logistic regression over [sentence embedding ; lexicon features].

    `emphasis_gain` lowers the neutral logit by gain x emphasis (0..1, from !!! and shouting): emphasis
    says a message is not neutral but leaves the choice between negative and positive to the model.
    """

    coef: FloatArray
    intercept: FloatArray
    embedding_dim: int
    lexicon_features: tuple[str, ...]
    emphasis_gain: float
    strongly_negative_below: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def probabilities(
        self, embeddings: npt.ArrayLike, lexicon: npt.ArrayLike, emphasis: npt.ArrayLike | None = None
    ) -> FloatArray:
        """Softmax over the linear scores, rows in CLASSES order."""
        emb = np.asarray(embeddings, dtype=np.float32)
        lex = np.asarray(lexicon, dtype=np.float32)
        if emb.ndim != 2 or emb.shape[1] != self.embedding_dim:
            raise ValueError(f"expected embeddings of shape (n, {self.embedding_dim}), got {emb.shape}")
        if lex.shape != (emb.shape[0], len(self.lexicon_features)):
            raise ValueError(
                f"expected lexicon features of shape ({emb.shape[0]}, {len(self.lexicon_features)})"
            )
        logits = np.hstack([emb, lex]) @ self.coef.T + self.intercept
        if emphasis is not None:
            logits[:, NEUTRAL] -= self.emphasis_gain * np.asarray(emphasis, dtype=np.float32).reshape(-1)
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float32)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": FORMAT_VERSION,
            "classes": list(CLASSES),
            "embedding_dim": self.embedding_dim,
            "lexicon_features": list(self.lexicon_features),
            "coef": [[round(float(v), 7) for v in row] for row in self.coef],
            "intercept": [round(float(v), 7) for v in self.intercept],
            "emphasis_gain": self.emphasis_gain,
            "strongly_negative_below": self.strongly_negative_below,
            "metadata": self.metadata,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinearSentimentModel:
        try:
            if data["format_version"] != FORMAT_VERSION:
                raise ModelFileError(f"unsupported model format_version {data['format_version']!r}")
            if tuple(data["classes"]) != CLASSES:
                raise ModelFileError(f"model classes must be {list(CLASSES)}, got {data['classes']!r}")
            model = cls(
                coef=np.asarray(data["coef"], dtype=np.float32),
                intercept=np.asarray(data["intercept"], dtype=np.float32),
                embedding_dim=int(data["embedding_dim"]),
                lexicon_features=tuple(str(name) for name in data["lexicon_features"]),
                emphasis_gain=float(data["emphasis_gain"]),
                strongly_negative_below=float(data["strongly_negative_below"]),
                metadata=dict(data.get("metadata", {})),
            )
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, ModelFileError):
                raise
            raise ModelFileError(f"malformed sentiment model: {exc!r}") from exc
        width = model.embedding_dim + len(model.lexicon_features)
        if model.coef.shape != (len(CLASSES), width):
            raise ModelFileError(f"coef shape {model.coef.shape} is not ({len(CLASSES)}, {width})")
        if model.intercept.shape != (len(CLASSES),):
            raise ModelFileError(f"intercept shape {model.intercept.shape} is not ({len(CLASSES)},)")
        if not (np.isfinite(model.coef).all() and np.isfinite(model.intercept).all()):
            raise ModelFileError("model coefficients contain NaN or infinity")
        if not -1.0 <= model.strongly_negative_below <= 0.0 or model.emphasis_gain < 0.0:
            raise ModelFileError("strongly_negative_below must be in [-1, 0] and emphasis_gain >= 0")
        return model

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LinearSentimentModel:
        return cls.from_dict(json.loads(text))


def load_shipped_model() -> LinearSentimentModel:
    """The model file packaged under answerdesk/sentiment/model/."""
    resource = resources.files("answerdesk.sentiment").joinpath("model", MODEL_RESOURCE)
    return LinearSentimentModel.from_json(resource.read_text(encoding="utf-8"))
