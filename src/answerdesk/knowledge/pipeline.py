"""Pure ingest orchestration: bytes or an FAQ pair in, deduplicated chunks out (the job embeds them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from answerdesk.knowledge.chunk import Chunk as ChunkDraft
from answerdesk.knowledge.chunk import chunk_document, dedupe
from answerdesk.knowledge.document import ExtractedDocument, FaqPair
from answerdesk.knowledge.extract import extract
from answerdesk.languages.detect import detect_language


@dataclass(frozen=True)
class ChunkBudget:
    """MiniLM reads 256 word pieces; 200/240 tokens keeps nearly every chunk inside that window."""

    target: int = 200
    maximum: int = 240
    overlap: int = 40


@dataclass(frozen=True)
class Prepared:
    document: ExtractedDocument
    chunks: list[ChunkDraft]


def prepare_file(data: bytes, *, filename: str, content_type: str | None, budget: ChunkBudget) -> Prepared:
    doc = extract(data, filename=filename, content_type=content_type)
    return Prepared(doc, _chunks(doc, budget))


def prepare_faq(question: str, answer: str, tags: Sequence[str], budget: ChunkBudget) -> Prepared:
    doc = ExtractedDocument(
        title=question,
        source_format="faq_json",
        faqs=(FaqPair(question=question, answer=answer, tags=tuple(tags)),),
        language=detect_language(f"{question}\n{answer}"),
    )
    return Prepared(doc, _chunks(doc, budget))


def _chunks(doc: ExtractedDocument, budget: ChunkBudget) -> list[ChunkDraft]:
    return dedupe(
        chunk_document(
            doc, target_tokens=budget.target, max_tokens=budget.maximum, overlap_tokens=budget.overlap
        )
    )
