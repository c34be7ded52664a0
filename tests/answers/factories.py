"""Passages for answer-stage tests, cut from the bundled Northwind Hosting help centre like ingestion does."""

from __future__ import annotations

import uuid
from functools import cache
from importlib import resources

from answerdesk.answers.passages import Passage, PassageKind
from answerdesk.knowledge.chunk import Chunk, chunk_document
from answerdesk.knowledge.extract import extract

DOCUMENT_ID = uuid.UUID("00000000-0000-4000-8000-000000000001")


def make_passage(
    n: int,
    text: str,
    *,
    title: str = "Northwind Hosting help",
    section: str = "",
    kind: PassageKind = "text",
    chunk_id: int | None = None,
) -> Passage:
    return Passage(
        n=n,
        chunk_id=chunk_id if chunk_id is not None else 100 + n,
        document_id=DOCUMENT_ID,
        title=title,
        source="help.md",
        section=section,
        text=text,
        kind=kind,
        score=1.0 / n,
        dense_score=None,
    )


def demo_passage(n: int, filename: str, heading: str) -> Passage:
    """The demo document's chunk whose heading path ends with ``heading``."""
    title, chunks = _demo_chunks(filename)
    for chunk in chunks:
        if chunk.section.endswith(heading):
            return make_passage(n, chunk.text, title=title, section=chunk.section, chunk_id=n * 10)
    raise LookupError(f"{filename} has no section {heading!r}")


def demo_faq(n: int, question: str) -> Passage:
    """The demo FAQ chunk ("Q: …\\nA: …") for ``question``."""
    _, chunks = _demo_chunks("faq.json")
    for chunk in chunks:
        if chunk.text.startswith(f"Q: {question}\n"):
            return make_passage(n, chunk.text, title="faq", kind="faq", chunk_id=n * 10)
    raise LookupError(f"no demo FAQ asks {question!r}")


@cache
def _demo_chunks(filename: str) -> tuple[str, tuple[Chunk, ...]]:
    data = (resources.files("answerdesk.demo") / "content" / filename).read_bytes()
    doc = extract(data, filename=filename)
    return doc.title, tuple(chunk_document(doc))
