"""Sentiment test fixtures: the int8 ONNX MiniLM embedder the application runs, loaded once per session."""

from __future__ import annotations

import pytest

from answerdesk.knowledge.embedding import Embedder, load_embedder
from answerdesk.sentiment import Embed, SentimentAnalyzer, load_analyzer
from tests.conftest import MODEL_CACHE


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    # The shipped model is trained on these vectors (scripts/train_sentiment.py), as run time uses them.
    return load_embedder("onnx", MODEL_CACHE)


@pytest.fixture(scope="session")
def embed(embedder: Embedder) -> Embed:
    return embedder.embed


@pytest.fixture(scope="session")
def analyzer(embed: Embed) -> SentimentAnalyzer:
    return load_analyzer(embed)
