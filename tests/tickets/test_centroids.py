"""The nearest-centroid category classifier on hand-made unit vectors (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from answerdesk.tickets.centroids import CentroidClassifier


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
