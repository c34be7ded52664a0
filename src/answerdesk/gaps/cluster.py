"""Grouping question vectors by meaning: agglomerative clustering on cosine distance (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from sklearn.cluster import AgglomerativeClustering

# Average cosine distance under which questions are "the same question" for MiniLM: paraphrases
# ("Can I pay with PayPal?" / "payment by paypal possible?") sit near 0.3, related topics near 0.6+.
DISTANCE_THRESHOLD = 0.5


def cluster(vectors: npt.NDArray[np.float32], threshold: float = DISTANCE_THRESHOLD) -> list[list[int]]:
    """Row indexes grouped by meaning, largest group first (ties: earliest row first).

    Deterministic: the same rows in the same order give the same groups. Average linkage keeps a group's
    members close to the group as a whole, so one borderline question cannot chain two topics together.
    Memory and time are quadratic: callers cap the rows (4,000 rows take about a second).
    """
    n = len(vectors)
    if n == 0:
        return []
    if n == 1:
        return [[0]]
    labels = AgglomerativeClustering(
        n_clusters=None, distance_threshold=threshold, metric="cosine", linkage="average"
    ).fit_predict(np.asarray(vectors, dtype=np.float32))
    groups: dict[int, list[int]] = {}
    for row, label in enumerate(labels.tolist()):
        groups.setdefault(int(label), []).append(row)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]))


def medoid(vectors: npt.NDArray[np.float32], rows: Sequence[int]) -> int:
    """The row closest on average to the others: the question that stands for its group."""
    if len(rows) <= 2:
        return rows[0]
    members = np.asarray(vectors[list(rows)], dtype=np.float32)
    norms = np.linalg.norm(members, axis=1, keepdims=True)
    unit = members / np.where(norms == 0, 1, norms)
    # Mean cosine to the group = dot product with the group's mean vector: linear, not quadratic.
    mean_similarity = unit @ unit.mean(axis=0)
    return rows[int(np.argmax(mean_similarity))]
