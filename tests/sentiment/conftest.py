"""Sentiment test fixtures: the real MiniLM model, loaded once per session."""

from __future__ import annotations

import pytest

from answerdesk.sentiment import SentimentAnalyzer, load_analyzer
from answerdesk.sentiment.minilm import MiniLMEmbedder


@pytest.fixture(scope="session")
def minilm() -> MiniLMEmbedder:
    return MiniLMEmbedder()


@pytest.fixture(scope="session")
def analyzer(minilm: MiniLMEmbedder) -> SentimentAnalyzer:
    return load_analyzer(minilm)
