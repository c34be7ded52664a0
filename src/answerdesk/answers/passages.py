"""Numbered passages an answer is grounded in, and the citations that point back at them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from answerdesk.knowledge.chunk import split_faq
from answerdesk.retrieval.service import Retrieved

__all__ = ["Citation", "Passage", "PassageKind", "cite", "number_passages", "split_faq"]

PassageKind = Literal["text", "faq"]


@dataclass(frozen=True, slots=True)
class Passage:
    """A retrieved chunk as the prompt shows it: ``n`` is the number the model cites as ``[n]``."""

    n: int
    chunk_id: int
    document_id: uuid.UUID
    title: str
    source: str  # URL, file name or "FAQ"
    section: str
    text: str
    kind: PassageKind
    score: float  # fused rank score: only comparable within one query
    dense_score: float | None  # cosine similarity to the query, when the dense list had this chunk
    question_score: float | None = None  # FAQ chunks: cosine of the query and the FAQ's question alone

    @property
    def similarity(self) -> float:
        """The better of the chunk's and its FAQ question's cosine to the query."""
        return max(self.dense_score or 0.0, self.question_score or 0.0)


@dataclass(frozen=True, slots=True)
class Citation:
    n: int
    title: str
    source: str
    chunk_id: int
    document_id: uuid.UUID
    section: str = ""

    def as_dict(self) -> dict[str, object]:
        return {
            "n": self.n,
            "title": self.title,
            "source": self.source,
            "chunk_id": self.chunk_id,
            "document_id": str(self.document_id),
            "section": self.section,
        }


def number_passages(retrieved: Sequence[Retrieved]) -> list[Passage]:
    """Numbers search hits from 1 in rank order."""
    return [
        Passage(
            n=i,
            chunk_id=r.hit.chunk_id,
            document_id=r.hit.document_id,
            title=r.hit.title,
            source=r.hit.source,
            section=r.hit.section,
            text=r.hit.text,
            kind="faq" if r.hit.kind == "faq" else "text",
            score=r.score,
            dense_score=r.dense_score,
            question_score=r.question_score,
        )
        for i, r in enumerate(retrieved, start=1)
    ]


def cite(passage: Passage) -> Citation:
    return Citation(
        n=passage.n,
        title=passage.title,
        source=passage.source,
        chunk_id=passage.chunk_id,
        document_id=passage.document_id,
        section=passage.section,
    )
