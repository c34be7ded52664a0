"""Behaviour and quality floors of the shipped model on the run-time (int8 ONNX) MiniLM embeddings."""

from __future__ import annotations

from dataclasses import replace
from importlib import resources
from pathlib import Path

import numpy as np

from answerdesk.sentiment import Embed, SentimentAnalyzer
from answerdesk.sentiment.corpora import read_labelled_tsv
from tests.sentiment.messages import LABELLED_MESSAGES

ACCURACY_FLOOR = 0.9
NEGATIVE_RECALL_FLOOR = 0.88
SUPPORT_EVAL = Path(str(resources.files("answerdesk.sentiment").joinpath("data", "support_eval.tsv")))


def test_clear_cases(analyzer: SentimentAnalyzer) -> None:
    angry = analyzer.analyze_one("This is the third time my site is down, UNACCEPTABLE!!!")
    assert angry.label == "negative" and angry.frustrated and angry.score < -0.3
    assert "third time" in angry.reasons
    thanks = analyzer.analyze_one("Thanks, that fixed it, you're great")
    assert thanks.label == "positive" and not thanks.frustrated and thanks.score > 0.3
    question = analyzer.analyze_one("How do I change my MX records?")
    assert question.label == "neutral" and not question.frustrated and not question.wants_human


def test_calm_problem_reports_are_negative_and_polite_requests_neutral(analyzer: SentimentAnalyzer) -> None:
    """What review-trained models got wrong: a complaint needs no angry word, a request's "thanks" is not
    praise."""
    reports = [
        "My shop has been offline since 8 this morning.",
        "Hello, I still have not received the refund for order 5512.",
        "The login page gives an error when I enter my password.",
    ]
    requests = [
        "Hi, could you tell me how to add a CNAME record? Thanks!",
        "Please send me a copy of last month's invoice, thank you.",
        "What are your opening hours on Saturday?",
    ]
    assert [r.label for r in analyzer.analyze(reports)] == ["negative"] * 3
    assert [r.label for r in analyzer.analyze(requests)] == ["neutral"] * 3


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
    # The int8 graph quantises activations with one scale per call, so a text's vector depends a little on
    # its batch-mates: scores move by up to a few hundredths (how far depends on the CPU's int8 kernels),
    # labels and cues stay. Only a score that close to the "strongly negative" cut may flip that reason.
    tolerance = 0.05
    np.testing.assert_allclose([r.score for r in batch], [r.score for r in single], atol=tolerance)
    cut = analyzer.model.strongly_negative_below
    for together, alone in zip(batch, single, strict=True):
        if abs(alone.score - cut) > tolerance:
            assert replace(together, score=0.0) == replace(alone, score=0.0)
        else:
            assert (together.label, together.wants_human) == (alone.label, alone.wants_human)
            others = {r for r in alone.reasons if r != "strongly negative"}
            assert {r for r in together.reasons if r != "strongly negative"} == others


def test_analyze_embedded_matches_analyze(analyzer: SentimentAnalyzer, embed: Embed) -> None:
    texts = [text for text, _ in LABELLED_MESSAGES[:6]]
    assert analyzer.analyze_embedded(texts, embed(texts)) == analyzer.analyze(
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


def test_support_evaluation_set_floors(analyzer: SentimentAnalyzer) -> None:
    """support_eval.tsv is never trained on. The shipped model measures accuracy 0.95 and negative recall
    0.96 there (bench/sentiment_eval.py); the floors leave room for a retrain, not for a regression."""
    rows = read_labelled_tsv(SUPPORT_EVAL)
    results = analyzer.analyze([r.text for r in rows])
    gold = np.array([r.label for r in rows])
    pred = np.array([r.label for r in results])
    assert (gold == pred).mean() >= ACCURACY_FLOOR
    assert (pred[gold == "negative"] == "negative").mean() >= NEGATIVE_RECALL_FLOOR
    for label in ("neutral", "positive"):
        assert (pred[gold == label] == label).mean() >= 0.8, label
    calm = [r for r, row in zip(results, rows, strict=True) if row.label != "negative"]
    assert sum(r.frustrated for r in calm) <= 1
