"""Ticket categories by embedding similarity: each category is the mean vector of what the organization
wrote for it (a description and example tickets), and a ticket goes to the nearest one.

Trained at run time from the organization's own configuration, never from a bundled data set. A
best similarity under ``min_similarity`` means no category fits (the caller falls back to keywords).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from answerdesk.knowledge.embedding import Embedder

Matrix = NDArray[np.float32]


@dataclass(frozen=True)
class CentroidClassifier:
    labels: tuple[str, ...]
    centroids: Matrix  # one L2-normalised row per label

    @classmethod
    def fit(cls, vectors: Matrix, labels: Sequence[str]) -> CentroidClassifier:
        """Centroids of L2-normalised ``vectors`` grouped by ``labels`` (one label per row)."""
        if len(vectors) != len(labels) or not len(labels):
            raise ValueError("one label per vector, and at least one of each")
        names = tuple(dict.fromkeys(labels))
        index = {name: i for i, name in enumerate(names)}
        rows = np.array([index[label] for label in labels])
        sums = np.zeros((len(names), vectors.shape[1]), dtype=np.float32)
        np.add.at(sums, rows, vectors.astype(np.float32))
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return cls(names, (sums / np.maximum(norms, 1e-12)).astype(np.float32))

    def predict(self, vectors: Matrix) -> list[tuple[str, float]]:
        """(nearest label, its cosine similarity) per row of L2-normalised ``vectors``."""
        if not len(vectors):
            return []
        scores = vectors.astype(np.float32) @ self.centroids.T
        best = scores.argmax(axis=1)
        return [(self.labels[int(b)], float(scores[i, b])) for i, b in enumerate(best)]


def fit_from_examples(embedder: Embedder, examples: Mapping[str, Sequence[str]]) -> CentroidClassifier:
    """A classifier from the organization's texts per category (descriptions, example tickets).

    Blocking (it embeds): call it from a worker thread.
    """
    texts = [(name, text) for name, items in examples.items() for text in items if text.strip()]
    if not texts:
        raise ValueError("no category has a description or an example")
    vectors = embedder.embed([t for _, t in texts])
    return CentroidClassifier.fit(vectors, [name for name, _ in texts])
