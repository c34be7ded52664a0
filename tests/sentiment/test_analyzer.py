from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pytest

from answerdesk.sentiment import LinearSentimentModel, SentimentAnalyzer, decide, load_shipped_model
from answerdesk.sentiment.cues import Cues, find_cues


def no_cues() -> Cues:
    return Cues(emphasis=0.0, unconditional=(), when_not_positive=(), when_negative=())


def test_decide_takes_the_most_probable_class_and_scores_polarity() -> None:
    assert decide([0.1, 0.7, 0.2], no_cues(), -0.8) == ("neutral", 0.1, False, ())
    label, score, frustrated, _ = decide([0.05, 0.05, 0.9], no_cues(), -0.8)
    assert (label, frustrated) == ("positive", False)
    assert score == pytest.approx(0.85)


def test_decide_flags_strongly_negative_scores() -> None:
    assert decide([0.95, 0.04, 0.01], no_cues(), -0.8)[2:] == (True, ("strongly negative",))
    assert decide([0.6, 0.3, 0.1], no_cues(), -0.8)[2] is False


def test_decide_applies_cue_groups_by_label() -> None:
    cues = Cues(
        emphasis=1.0, unconditional=(), when_not_positive=("shouting",), when_negative=("cancel my plan",)
    )
    assert decide([0.1, 0.1, 0.8], cues, -0.8)[2] is False  # "THANK YOU SO MUCH"
    assert decide([0.2, 0.7, 0.1], cues, -0.8)[3] == ("shouting",)
    assert decide([0.6, 0.3, 0.1], cues, -0.8)[3] == ("shouting", "cancel my plan")
    urgent = find_cues("Thanks! This is urgent though.")
    assert decide([0.0, 0.1, 0.9], urgent, -0.8)[2] is True


class CountingEmbed:
    """Deterministic stand-in for MiniLM: one unit vector per text, counts what it was asked to embed."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for i, text in enumerate(texts):
            out[i, sum(map(ord, text)) % 384] = 1.0
        return out


def test_blank_messages_are_neutral_and_never_embedded() -> None:
    embed = CountingEmbed()
    analyzer = SentimentAnalyzer(embed, load_shipped_model())
    results = analyzer.analyze(["", "   ", "hello there"])
    assert [r.label for r in results[:2]] == ["neutral", "neutral"]
    assert results[0].score == 0.0 and not results[0].frustrated
    assert embed.calls == [["hello there"]]
    assert analyzer.analyze([]) == []
    assert embed.calls == [["hello there"]]


def test_analyze_embedded_checks_lengths() -> None:
    analyzer = SentimentAnalyzer(CountingEmbed(), load_shipped_model())
    with pytest.raises(ValueError, match="shape"):
        analyzer.analyze_embedded(["one", "two"], np.zeros((3, 384), dtype=np.float32))


def test_model_with_other_lexicon_features_is_refused() -> None:
    data = load_shipped_model().to_dict()
    data["lexicon_features"] = ["a", "b", "c"]
    with pytest.raises(ValueError, match="lexicon features"):
        SentimentAnalyzer(CountingEmbed(), LinearSentimentModel.from_dict(data))
