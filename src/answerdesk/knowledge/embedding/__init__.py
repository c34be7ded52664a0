"""Sentence embeddings (all-MiniLM-L6-v2, 384-d, unit length): the Embedder interface and its two backends."""

from answerdesk.knowledge.embedding.base import (
    EMBEDDING_DIM,
    MAX_SEQ_LENGTH,
    MODEL_NAME,
    Embedder,
    EmbeddingError,
    Vectors,
)
from answerdesk.knowledge.embedding.factory import EmbedderKind, load_embedder
from answerdesk.knowledge.embedding.onnx_backend import OnnxEmbedder
from answerdesk.knowledge.embedding.onnx_export import ExportSettings
from answerdesk.knowledge.embedding.torch_backend import SentenceTransformerEmbedder

__all__ = [
    "EMBEDDING_DIM",
    "MAX_SEQ_LENGTH",
    "MODEL_NAME",
    "Embedder",
    "EmbedderKind",
    "EmbeddingError",
    "ExportSettings",
    "OnnxEmbedder",
    "SentenceTransformerEmbedder",
    "Vectors",
    "load_embedder",
]
