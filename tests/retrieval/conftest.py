"""Retrieval test settings."""

from __future__ import annotations

from collections.abc import Iterator

import faiss
import pytest


@pytest.fixture(autouse=True)
def single_faiss_thread() -> Iterator[None]:
    """OpenMP threads spin-wait for each other; on a busy 2-core box that makes HNSW builds ~10x slower."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)
