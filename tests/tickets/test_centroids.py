"""The nearest-centroid category classifier on hand-made unit vectors, and the cache of fitted ones."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence

import numpy as np
import pytest

from answerdesk.knowledge.embedding import Vectors
from answerdesk.tickets.centroids import CentroidClassifier, ClassifierCache


def unit(*values: float) -> list[float]:
    v = np.array(values, dtype=np.float32)
    return list(v / np.linalg.norm(v))


def test_nearest_centroid_wins_with_its_similarity() -> None:
    vectors = np.array([unit(1, 0.1, 0), unit(1, -0.1, 0), unit(0, 1, 0), unit(0.1, 1, 0)], dtype=np.float32)
    model = CentroidClassifier.fit(vectors, ["billing", "billing", "email", "email"])
    assert model.labels == ("billing", "email")
    (first, second) = model.predict(np.array([unit(0.9, 0.2, 0), unit(0, 0, 1)], dtype=np.float32))
    assert first[0] == "billing" and first[1] > 0.9
    assert second[1] == pytest.approx(0.0, abs=1e-6)  # orthogonal to both: nothing fits
    assert model.predict(np.zeros((0, 3), dtype=np.float32)) == []


def test_fit_needs_one_label_per_vector() -> None:
    with pytest.raises(ValueError):
        CentroidClassifier.fit(np.zeros((2, 3), dtype=np.float32), ["a"])


# --- The cache of fitted classifiers ---------------------------------------------------------------


def test_a_changed_configuration_is_fitted_again_and_an_unchanged_one_is_not() -> None:
    cache, embedder = ClassifierCache(), HashEmbedder()
    config = {"billing": ["billing: money"], "email": ["email: mail"]}
    first = cache.get(embedder, config)
    assert cache.get(embedder, {k: list(v) for k, v in config.items()}) is first
    assert cache.fits == 1
    edited = cache.get(embedder, {**config, "billing": ["billing: money", "Where is my bill?"]})
    assert edited is not first and cache.fits == 2
    renamed = cache.get(embedder, {"invoices": ["billing: money"], "email": ["email: mail"]})
    assert renamed.labels == ("invoices", "email") and cache.fits == 3
    # Another model is another classifier, even for the same texts.
    assert cache.get(HashEmbedder(name="other"), config) is not first and cache.fits == 4


def test_the_cache_is_bounded_least_recently_used_first() -> None:
    cache, embedder = ClassifierCache(max_entries=2), HashEmbedder()
    one, two, three = ({"a": [t]} for t in ("one", "two", "three"))
    kept = cache.get(embedder, one)
    cache.get(embedder, two)
    assert cache.get(embedder, one) is kept  # one is now the most recently used
    cache.get(embedder, three)  # evicts two
    assert len(cache) == 2 and cache.fits == 3
    assert cache.get(embedder, one) is kept and cache.fits == 3
    cache.get(embedder, two)
    assert cache.fits == 4


def test_concurrent_tickets_fit_a_configuration_once() -> None:
    cache, embedder = ClassifierCache(), HashEmbedder(delay=0.05)
    config = {"billing": ["billing: money"], "email": ["email: mail"]}
    start = threading.Barrier(8)
    results: list[object] = []

    def classify() -> None:
        start.wait(timeout=10)
        results.append(cache.get(embedder, config))

    threads = [threading.Thread(target=classify) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(results) == 8 and all(r is results[0] for r in results)
    assert cache.fits == 1 and embedder.batches == 1


class HashEmbedder:
    """Deterministic unit vectors from a text's hash; counts its batches (and can be slow to embed)."""

    dim = 16

    def __init__(self, name: str = "hash", delay: float = 0.0) -> None:
        self.name = name
        self.delay = delay
        self.batches = 0
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        with self._lock:
            self.batches += 1
        if self.delay:
            threading.Event().wait(self.delay)  # widens the window in which other threads ask too
        rows = [np.frombuffer(hashlib.sha256(t.encode()).digest()[: self.dim], dtype=np.uint8) for t in texts]
        vectors = np.array(rows, dtype=np.float32).reshape(len(texts), self.dim) - 127.5
        return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)

    def embed_query(self, text: str) -> Vectors:
        return self.embed([text]).reshape(self.dim)
