"""How an FAQ question's vector is made: its own embedding folded with the other ways customers ask it.

An FAQ question's vector (``chunk.question_embedding``) is the normalised sum of the question's and its
phrasings' vectors (``knowledge.phrasings``). MiniLM places near-synonym questions ("check invoice" / "get
invoice", "refund policy" / "get a refund") too close to tell apart from one wording each; the centre of
several real wordings sits where customers actually ask (bench/faq_matching.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

# Phrasings kept per FAQ question: the gain flattens past ~20 (bench/faq_matching.py) and each one costs a
# row and a re-ingestion.
MAX_PER_QUESTION = 30
MAX_CHARS = 500
MIN_CHARS = 3

Vector = npt.NDArray[np.float32]


def question_hash(question: str) -> str:
    """The key of an FAQ question within its document (its text, whitespace-normalised)."""
    return hashlib.sha256(" ".join(question.split()).encode()).hexdigest()


def question_vector(question: Vector, wordings: Iterable[Vector]) -> Vector:
    """The vector an FAQ question is matched by: the normalised sum of its own and its wordings'."""
    total = np.asarray(question, dtype=np.float32).copy()
    for v in wordings:
        total += np.asarray(v, dtype=np.float32)
    norm = float(np.linalg.norm(total))
    return total / norm if norm > 0 else total


def from_blob(blob: bytes) -> Vector:
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def to_blob(vector: Vector) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def clean_phrasings(texts: Iterable[str]) -> list[str]:
    """Trimmed, de-duplicated (case-insensitively) wordings; blank lines dropped."""
    seen: set[str] = set()
    out: list[str] = []
    for text in texts:
        text = " ".join(text.split())
        if len(text) >= MIN_CHARS and text.lower() not in seen:
            seen.add(text.lower())
            out.append(text[:MAX_CHARS])
    return out
