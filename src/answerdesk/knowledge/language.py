"""The language a knowledge base is written in: the one most of an organization's chunks are in.

Each document's language is detected once, at ingestion. The organization's is derived from those when an
answer needs it and kept per index generation: every change to the knowledge base bumps the generation.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.knowledge.repository import DocumentRepository, IndexStateRepository


class KnowledgeLanguages:
    """Per process: organization -> (index generation, dominant language), renewed on a new generation."""

    def __init__(self) -> None:
        self._known: dict[uuid.UUID, tuple[int, str | None]] = {}

    async def of(
        self, db: AsyncSession, organization_id: uuid.UUID, *, generation: int | None = None
    ) -> str | None:
        """ISO 639-1 code of the language most chunks are in; None when empty or undetected. ``generation``:
        the organization's index generation if the caller has just read it (a chat message reads it once for
        this and its search)."""
        if generation is None:
            generation = await IndexStateRepository(db).generation(organization_id)
        known = self._known.get(organization_id)
        if known is not None and known[0] == generation:
            return known[1]
        counts = await DocumentRepository(db).chunks_by_language(organization_id)
        language = max(counts, key=lambda code: (counts[code], code)) if counts else None
        self._known[organization_id] = (generation, language)
        return language

    def forget(self, organization_id: uuid.UUID) -> None:
        """Drops a deleted organization's entry."""
        self._known.pop(organization_id, None)
