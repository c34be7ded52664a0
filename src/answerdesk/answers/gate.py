"""Whether the knowledge base answers a question: a small logistic model over several retrieval signals.

One cosine is a poor judge: a short question scores ~0.3 against the long passage that answers it
("what are your live chat opening hours" against a 200-token "Getting help" chunk), and ~0.45 against a
passage that merely shares its topic. The gate combines

* the best cosine in the top k: a chunk's, or its FAQ question's (a paraphrase of an FAQ question
  scores high),
* the best cosine of a single sentence (or line) of the top three passages: the sentence that answers
  a short question is about as long as the question, so its cosine does not drown in the rest of the
  chunk. These sentence vectors are the one embedding the gate adds at query time (~15 short sentences;
  cached per passage text, so a popular passage is embedded once per process),
* keyword evidence: the IDF-weighted share of the question's content words found in the best
  passage (a word the knowledge base never uses, "Minecraft", "Microsoft 365", weighs the most),

into the probability that the question is in scope. The weights are trained by
``scripts/train_answer_gate.py`` on our own hand-written questions (never Bitext or SciFact) and shipped
as ``gate_model.json``; an organization's "relevance threshold" is the probability below which the bot
says it does not know (0.4 by default: higher refuses more).
"""

from __future__ import annotations

import json
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import astuple, dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from answerdesk.knowledge.embedding import Embedder
from answerdesk.knowledge.sentences import split_sentences
from answerdesk.retrieval.service import Retrieved

MODEL_PATH = Path(__file__).with_name("gate_model.json")
FEATURES = ("best_cosine", "sentence_cosine", "coverage")
# Passages whose sentences are embedded, and how many passages' sentence vectors a process keeps.
SENTENCE_PASSAGES = 3
SENTENCE_CACHE_SIZE = 2048
_MIN_PIECE_CHARS = 4


@dataclass(frozen=True)
class Evidence:
    """What retrieval found for one question, as the gate reads it."""

    best_cosine: float
    sentence_cosine: float
    coverage: float

    def as_dict(self) -> dict[str, float]:
        return {name: round(value, 4) for name, value in zip(FEATURES, astuple(self), strict=True)}


def evidence_of(found: Sequence[Retrieved], sentence_cosine: float) -> Evidence:
    """The gate's inputs from a search's hits (best first) and ``best_sentence_cosine`` of them."""
    return Evidence(
        best_cosine=max((r.similarity for r in found), default=0.0),
        sentence_cosine=sentence_cosine,
        coverage=max((r.coverage for r in found), default=0.0),
    )


def pieces(text: str) -> list[str]:
    """The sentences of a passage, line by line (a table row or a bullet is a piece of its own)."""
    return [
        sentence
        for line in text.splitlines()
        for sentence in split_sentences(line.strip())
        if len(sentence) >= _MIN_PIECE_CHARS
    ]


class _SentenceVectors:
    """Sentence vectors per passage text, least recently used dropped first (texts are immutable)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._vectors: OrderedDict[str, npt.NDArray[np.float32]] = OrderedDict()
        self._lock = threading.Lock()

    def has(self, texts: Sequence[str]) -> bool:
        with self._lock:
            return all(t in self._vectors for t in texts)

    def of(self, embedder: Embedder, texts: Sequence[str]) -> list[npt.NDArray[np.float32]]:
        with self._lock:
            known = {t: self._vectors[t] for t in texts if t in self._vectors}
            for text in known:
                self._vectors.move_to_end(text)
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        split = [pieces(t) for t in missing]
        flat = [p for ps in split for p in ps]
        vectors = embedder.embed(flat) if flat else np.zeros((0, embedder.dim), dtype=np.float32)
        start = 0
        with self._lock:
            for text, ps in zip(missing, split, strict=True):
                known[text] = np.asarray(vectors[start : start + len(ps)], dtype=np.float32)
                start += len(ps)
                self._vectors[text] = known[text]
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        return [known[t] for t in texts]


_SENTENCES = _SentenceVectors(SENTENCE_CACHE_SIZE)


def sentence_vectors_ready(found: Sequence[Retrieved]) -> bool:
    """Whether ``best_sentence_cosine`` would embed nothing (each passage's sentences were seen lately): it
    then takes microseconds, and need not leave the event loop."""
    return _SENTENCES.has([r.hit.text for r in found[:SENTENCE_PASSAGES]])


def best_sentence_cosine(
    embedder: Embedder, query_vector: npt.NDArray[np.float32], found: Sequence[Retrieved]
) -> float:
    """The highest cosine of the query and one sentence of the first ``SENTENCE_PASSAGES`` hits (blocking)."""
    texts = [r.hit.text for r in found[:SENTENCE_PASSAGES]]
    if not texts:
        return 0.0
    vector = np.asarray(query_vector, dtype=np.float32)
    scores = [float(np.max(v @ vector)) for v in _SENTENCES.of(embedder, texts) if len(v)]
    return max(scores, default=0.0)


@dataclass(frozen=True)
class AnswerGate:
    """Logistic regression over standardised ``Evidence``: p(in scope) = sigmoid(w . z + b)."""

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]

    def probability(self, evidence: Evidence) -> float:
        z = sum(
            w * (x - m) / s
            for w, x, m, s in zip(self.weights, astuple(evidence), self.mean, self.scale, strict=True)
        )
        return 1.0 / (1.0 + math.exp(-(z + self.bias)))

    def to_json(self) -> dict[str, object]:
        return {
            "features": list(FEATURES),
            "weights": list(self.weights),
            "bias": self.bias,
            "mean": list(self.mean),
            "scale": list(self.scale),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> AnswerGate:
        if data.get("features") != list(FEATURES):
            raise ValueError(f"gate model features {data.get('features')} are not {list(FEATURES)}")

        def floats(key: str) -> tuple[float, ...]:
            values = data[key]
            assert isinstance(values, list)
            return tuple(float(v) for v in values)

        bias = data["bias"]
        assert isinstance(bias, int | float)
        return cls(floats("weights"), float(bias), floats("mean"), floats("scale"))


@cache
def shipped_gate() -> AnswerGate:
    """The gate trained by scripts/train_answer_gate.py, read once."""
    return AnswerGate.from_json(json.loads(MODEL_PATH.read_text(encoding="utf-8")))
