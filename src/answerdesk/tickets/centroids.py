"""Ticket categories by embedding similarity: each category is the mean vector of what the organization
wrote for it (a description and example tickets), and a ticket goes to the nearest one.

Trained at run time from the organization's own configuration, never from a bundled data set, and kept
in a ClassifierCache so that each configuration is embedded once. What a low best similarity means is
the caller's to decide (tickets/categories.py falls back to keywords).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
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


def fingerprint(model: str, examples: Mapping[str, Sequence[str]]) -> str:
    """What a fitted classifier depends on: the model and each category's texts, in order."""
    canonical = json.dumps([model, [[name, list(texts)] for name, texts in examples.items()]])
    return hashlib.sha256(canonical.encode()).hexdigest()


class ClassifierCache:
    """Fitted classifiers by the fingerprint of what they were fitted on.

    An edited configuration has a new fingerprint, so it is fitted afresh on its next use; organizations
    with the same texts (all those on the defaults) share one. Used from worker threads: a fingerprint
    is fitted once however many tickets ask at the same time, and the least recently used beyond
    ``max_entries`` are dropped.
    """

    def __init__(self, max_entries: int = 256) -> None:
        self.max_entries = max_entries
        self.fits = 0
        self._entries: OrderedDict[str, CentroidClassifier] = OrderedDict()
        self._lock = threading.Lock()
        self._fitting: dict[str, threading.Lock] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, embedder: Embedder, examples: Mapping[str, Sequence[str]]) -> CentroidClassifier:
        """Blocking (it may embed): call it from a worker thread."""
        key = fingerprint(embedder.name, examples)
        with self._lock:
            found = self._lookup(key)
            if found is not None:
                return found
            fitting = self._fitting.setdefault(key, threading.Lock())
        with fitting:
            with self._lock:
                found = self._lookup(key)
            if found is not None:
                return found
            try:
                fitted = fit_from_examples(embedder, examples)
            except BaseException:
                with self._lock:
                    self._fitting.pop(key, None)
                raise
            with self._lock:
                # Stored and unmarked at once: a caller arriving now finds the entry, never an empty slot.
                self._entries[key] = fitted
                self._fitting.pop(key, None)
                self.fits += 1
                while len(self._entries) > self.max_entries:
                    self._entries.popitem(last=False)
            return fitted

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _lookup(self, key: str) -> CentroidClassifier | None:
        found = self._entries.get(key)
        if found is not None:
            self._entries.move_to_end(key)
        return found
