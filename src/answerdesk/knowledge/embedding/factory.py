"""Picks the embedding backend the settings name."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from answerdesk.knowledge.embedding.base import Embedder, EmbeddingError
from answerdesk.knowledge.embedding.onnx_backend import OnnxEmbedder
from answerdesk.knowledge.embedding.torch_backend import SentenceTransformerEmbedder

EmbedderKind = Literal["onnx", "torch"]


def load_embedder(kind: EmbedderKind, cache_dir: Path) -> Embedder:
    """A ready embedder of ``kind``: its model is read (for ``"onnx"`` exported if need be) before returning.

    Blocking and slow the first time (the ONNX export takes tens of seconds, once per ``cache_dir``), so
    call it from a worker thread at start-up. ``"torch"`` is plain sentence-transformers and ignores
    ``cache_dir``. Importing this module loads nothing heavy.
    """
    if kind == "onnx":
        onnx = OnnxEmbedder(cache_dir)
        onnx.load()
        return onnx
    if kind == "torch":
        reference = SentenceTransformerEmbedder()
        reference.load()
        return reference
    raise EmbeddingError(f"unknown embedder kind {kind!r}; expected 'onnx' or 'torch'")
