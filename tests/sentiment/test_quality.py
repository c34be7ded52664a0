"""Behaviour of the shipped model on the real MiniLM embeddings."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from answerdesk.sentiment import SentimentAnalyzer
from answerdesk.sentiment.minilm import MiniLMEmbedder
from tests.sentiment.messages import LABELLED_MESSAGES


def test_clear_cases(analyzer: SentimentAnalyzer) -> None:
    angry = analyzer.analyze_one("This is the third time my site is down, UNACCEPTABLE!!!")
    assert angry.label == "negative" and angry.frustrated and angry.score < -0.3
    assert "third time" in angry.reasons
    thanks = analyzer.analyze_one("Thanks, that fixed it, you're great")
    assert thanks.label == "positive" and not thanks.frustrated and thanks.score > 0.3
    question = analyzer.analyze_one("How do I change my MX records?")
    assert question.label == "neutral" and not question.frustrated and not question.wants_human


def test_delight_with_exclamations_is_not_frustration(analyzer: SentimentAnalyzer) -> None:
    result = analyzer.analyze_one("THANK YOU SO MUCH!!!")
    assert result.label == "positive" and not result.frustrated


def test_wants_human_is_reported(analyzer: SentimentAnalyzer) -> None:
    result = analyzer.analyze_one("This bot is useless, let me talk to a real person")
    assert result.wants_human
    assert result.label == "negative"


def test_batch_equals_one_by_one(analyzer: SentimentAnalyzer) -> None:
    texts = [text for text, _ in LABELLED_MESSAGES[::4]] + ["", "Still not working!!!"]
    batch = analyzer.analyze(texts)
    single = [analyzer.analyze_one(text) for text in texts]
    # Padding in a batch moves embeddings by ~1e-7, which may flip the 4th decimal of a score.
    assert [replace(r, score=0.0) for r in batch] == [replace(r, score=0.0) for r in single]
    np.testing.assert_allclose([r.score for r in batch], [r.score for r in single], atol=1e-3)


def test_analyze_embedded_matches_analyze(analyzer: SentimentAnalyzer, minilm: MiniLMEmbedder) -> None:
    texts = [text for text, _ in LABELLED_MESSAGES[:6]]
    assert analyzer.analyze_embedded(texts, minilm(texts)) == analyzer.analyze(
        texts
    )  # same batch, same floats


def test_accuracy_floor_on_hand_written_customer_messages(analyzer: SentimentAnalyzer) -> None:
    results = analyzer.analyze([text for text, _ in LABELLED_MESSAGES])
    gold = np.array([label for _, label in LABELLED_MESSAGES])
    pred = np.array([r.label for r in results])
    # 0.87 measured when the model was trained; the floor leaves room for a retrain, not for a regression.
    assert (gold == pred).mean() >= 0.8
    for label in ("negative", "neutral", "positive"):
        assert (pred[gold == label] == label).mean() >= 0.6, label
    calm = [r for r, (_, label) in zip(results, LABELLED_MESSAGES, strict=True) if label != "negative"]
    assert sum(r.frustrated for r in calm) == 0
