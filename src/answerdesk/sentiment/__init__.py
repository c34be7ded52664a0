"""Customer-message sentiment: logistic regression over MiniLM embeddings and VADER scores, plus cues."""

from answerdesk.sentiment.analyzer import (
    Embed,
    Label,
    SentimentAnalyzer,
    SentimentResult,
    decide,
    load_analyzer,
)
from answerdesk.sentiment.cues import wants_human
from answerdesk.sentiment.linear import LinearSentimentModel, ModelFileError, load_shipped_model

__all__ = [
    "Embed",
    "Label",
    "LinearSentimentModel",
    "ModelFileError",
    "SentimentAnalyzer",
    "SentimentResult",
    "decide",
    "load_analyzer",
    "load_shipped_model",
    "wants_human",
]
