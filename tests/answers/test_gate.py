"""The relevance gate's model: reads the shipped JSON, grows with its evidence, refuses what it must."""

from __future__ import annotations

import uuid

import pytest

from answerdesk.answers.gate import FEATURES, AnswerGate, Evidence, evidence_of, pieces, shipped_gate
from answerdesk.knowledge.repository import ChunkHit
from answerdesk.retrieval.service import Retrieved


def hit(
    chunk_id: int, dense: float | None, question: float | None = None, coverage: float = 0.0
) -> Retrieved:
    chunk = ChunkHit(chunk_id, uuid.uuid4(), "T", "f.md", "", "text", "faq" if question else "text")
    return Retrieved(chunk, 0.1, dense, None, question_score=question, coverage=coverage)


def test_shipped_gate_reads_and_round_trips() -> None:
    gate = shipped_gate()
    assert len(gate.weights) == len(FEATURES)
    assert all(w > 0 for w in gate.weights)  # more evidence of every kind never lowers the probability
    assert AnswerGate.from_json(gate.to_json()) == gate
    with pytest.raises(ValueError):
        AnswerGate.from_json({**gate.to_json(), "features": ["chunk_cosine"]})


def test_clear_cases_fall_on_the_right_side_of_the_default_cut() -> None:
    gate = shipped_gate()
    assert gate.probability(Evidence(best_cosine=0.75, sentence_cosine=0.8, coverage=1.0)) > 0.95
    assert gate.probability(Evidence(best_cosine=0.1, sentence_cosine=0.15, coverage=0.0)) < 0.05
    weak = Evidence(best_cosine=0.35, sentence_cosine=0.4, coverage=0.3)
    strong = Evidence(best_cosine=0.35, sentence_cosine=0.6, coverage=0.3)
    assert gate.probability(strong) > gate.probability(weak)


def test_evidence_takes_the_best_of_chunk_and_faq_question_cosines() -> None:
    found = [hit(1, 0.40, coverage=0.5), hit(2, 0.35, question=0.82, coverage=0.9), hit(3, None)]
    evidence = evidence_of(found, sentence_cosine=0.6)
    assert evidence == Evidence(best_cosine=0.82, sentence_cosine=0.6, coverage=0.9)
    assert evidence_of([], 0.0) == Evidence(0.0, 0.0, 0.0)


def test_pieces_are_sentences_line_by_line() -> None:
    text = "## Hours\nLive chat is open 8:00-20:00. Phone support is not offered.\n| Mini | €3.50 |\nok"
    assert pieces(text) == [
        "## Hours",
        "Live chat is open 8:00-20:00.",
        "Phone support is not offered.",
        "| Mini | €3.50 |",
    ]
