"""all-MiniLM-L6-v2 through sentence-transformers on the CPU: the reference the ONNX one is held to."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from answerdesk.knowledge.embedding.base import (
    EMBEDDING_DIM,
    MODEL_NAME,
    EmbeddingError,
    Vectors,
    check_batch_size,
    empty_vectors,
    packaged_model_dir,
)


class SentenceTransformerEmbedder:
    """The packaged model run by sentence-transformers; weights are read on first use, not at construction."""

    dim: int = EMBEDDING_DIM
    name: str = MODEL_NAME

    def __init__(self, *, model_dir: Path | None = None, device: str = "cpu") -> None:
        self._model_dir = model_dir
        self._device = device
        self._model: Any = None
        self._load_lock = threading.Lock()

    def load(self) -> None:
        """Read the weights now (idempotent), so the first request does not pay for it."""
        self._ensure_model()

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        check_batch_size(batch_size)
        if not texts:
            return empty_vectors(self.dim)
        model = self._ensure_model()
        vectors = model.encode(
            list(texts),
            batch_size=batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return np.asarray(vectors, dtype=np.float32)

    def embed_query(self, text: str) -> Vectors:
        return self.embed([text]).reshape(self.dim)

    def _ensure_model(self) -> Any:
        with self._load_lock:
            if self._model is None:
                model_dir = self._model_dir or packaged_model_dir()
                self._model = _load_sentence_transformer(model_dir, self._device)
            return self._model


def _load_sentence_transformer(model_dir: Path, device: str) -> Any:
    from sentence_transformers import SentenceTransformer

    try:
        # A local folder plus local_files_only means the Hugging Face hub is never contacted.
        return SentenceTransformer(str(model_dir), device=device, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise EmbeddingError(f"sentence-transformers could not load the model in {model_dir}: {exc}") from exc
