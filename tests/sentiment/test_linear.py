from __future__ import annotations

import copy
import math
from typing import Any

import numpy as np
import pytest

from answerdesk.sentiment.lexicon import LEXICON_FEATURES
from answerdesk.sentiment.linear import CLASSES, LinearSentimentModel, ModelFileError, load_shipped_model


def shipped_dict() -> dict[str, Any]:
    return load_shipped_model().to_dict()


def test_shipped_model_is_well_formed_and_documents_its_training_data() -> None:
    model = load_shipped_model()
    assert model.coef.shape == (3, 384 + len(LEXICON_FEATURES))
    assert model.intercept.shape == (3,)
    assert model.lexicon_features == LEXICON_FEATURES
    assert -1.0 < model.strongly_negative_below < 0.0
    data = model.metadata["training_data"]
    # Only sources whose licence lets a shipped model be trained on them; evaluation sets never.
    assert set(data["sources"]) == {"complaints", "goemotions", "vader_tweets", "support"}
    assert "CC BY 4.0" in data["sources"]["goemotions"] and "MIT" in data["sources"]["vader_tweets"]
    assert "Preoțiuc-Pietro" in data["sources"]["complaints"]
    cv = model.metadata["cross_validation"]
    assert cv["complaints_leave_one_domain_out"]["pooled"]["complaint_recall"] > 0.7
    assert cv["support_messages"]["accuracy"] > 0.85
    assert "all-MiniLM-L6-v2" in model.metadata["embedding_model"]
    assert "int8 ONNX" in model.metadata["embedding_model"]  # trained on the run-time vectors


def test_json_round_trip_keeps_the_model() -> None:
    model = load_shipped_model()
    again = LinearSentimentModel.from_json(model.to_json())
    np.testing.assert_array_equal(again.coef, model.coef)
    np.testing.assert_array_equal(again.intercept, model.intercept)
    assert again.metadata == model.metadata


def test_probabilities_are_a_distribution_and_emphasis_only_drains_neutral() -> None:
    model = load_shipped_model()
    rng = np.random.default_rng(0)
    emb = rng.normal(size=(5, 384)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    lex = rng.uniform(-1, 1, size=(5, len(LEXICON_FEATURES)))
    calm = model.probabilities(emb, lex)
    np.testing.assert_allclose(calm.sum(axis=1), 1.0, rtol=1e-5)
    boosted = LinearSentimentModel.from_dict({**model.to_dict(), "emphasis_gain": 2.0})
    loud = boosted.probabilities(emb, lex, np.ones(5))
    assert (loud[:, 1] < calm[:, 1]).all()
    # Emphasis never swaps negative and positive.
    np.testing.assert_allclose(loud[:, 2] / loud[:, 0], calm[:, 2] / calm[:, 0], rtol=1e-4)


def test_wrong_embedding_width_is_refused() -> None:
    with pytest.raises(ValueError, match="shape"):
        load_shipped_model().probabilities(np.zeros((2, 768)), np.zeros((2, len(LEXICON_FEATURES))))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(classes=["neg", "neu", "pos"]), "classes"),
        (lambda d: d["coef"].pop(), "coef shape"),
        (lambda d: d.update(intercept=[0.0, 0.0]), "intercept shape"),
        (lambda d: d["coef"][0].__setitem__(0, math.nan), "NaN"),
        (lambda d: d.pop("emphasis_gain"), "malformed"),
        (lambda d: d.update(format_version=99), "format_version"),
        (lambda d: d.update(strongly_negative_below=0.5), "strongly_negative_below"),
    ],
)
def test_malformed_model_files_are_refused(change: Any, message: str) -> None:
    data = copy.deepcopy(shipped_dict())
    change(data)
    with pytest.raises(ModelFileError, match=message):
        LinearSentimentModel.from_dict(data)


def test_classes_are_in_label_order() -> None:
    assert CLASSES == ("negative", "neutral", "positive")
