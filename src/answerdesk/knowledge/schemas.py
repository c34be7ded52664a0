"""API schemas for documents, FAQ entries, URL imports and search."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from answerdesk.kit.bounds import MAX_LIST_ITEMS
from answerdesk.knowledge.question_vectors import MAX_CHARS, MAX_PER_QUESTION


def _clean_tags(values: list[str]) -> list[str]:
    tags: list[str] = []
    for value in values:
        tag = value.strip().lower()
        if not tag:
            continue
        if len(tag) > 50:
            raise ValueError(f"tag {tag[:20]!r}… is longer than 50 characters")
        if tag not in tags:
            tags.append(tag)
    if len(tags) > 20:
        raise ValueError("at most 20 tags")
    return tags


def parse_tags(raw: str | None) -> list[str]:
    """Tags as typed in a form field: comma or whitespace separated."""
    if not raw:
        return []
    return _clean_tags(raw.replace(",", " ").split())


class DocumentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    source: str
    filename: str | None
    url: str | None
    content_type: str | None
    size_bytes: int
    tags: list[str]
    language: str | None
    status: str
    progress: int
    error: str | None
    chunk_count: int
    question: str | None
    answer: str | None
    created_at: datetime
    updated_at: datetime
    ingested_at: datetime | None


class DocumentAccepted(BaseModel):
    id: uuid.UUID
    status: str


# Bounds of the raw request; the cleaning below then holds tags to 50 characters and 20 of them.
RawTags = list[Annotated[str, Field(max_length=200)]]


class Tagged(BaseModel):
    tags: RawTags = Field(default_factory=list, max_length=MAX_LIST_ITEMS)

    @field_validator("tags")
    @classmethod
    def _tags(cls, values: list[str]) -> list[str]:
        return _clean_tags(values)


class FaqCreate(Tagged):
    question: str = Field(min_length=3, max_length=1000)
    answer: str = Field(min_length=1, max_length=10_000)
    phrasings: list[Annotated[str, Field(max_length=MAX_CHARS)]] | None = Field(
        default=None,
        max_length=MAX_PER_QUESTION,
        description="Other ways customers ask this question (replaces those staff gave; null keeps them)",
    )


class FaqUpdate(FaqCreate):
    pass


class PhrasingRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    text: str
    source: str  # staff, learned (an answer rated helpful) or gap (a knowledge-gap question)
    created_at: datetime


MAX_URL_CHARS = 2000  # the document's url column


class UrlImport(Tagged):
    url: HttpUrl
    sitemap: bool = Field(default=False, description="Treat the URL as a sitemap.xml and import its pages")
    max_pages: int = Field(default=20, ge=1, le=500)

    @field_validator("url")
    @classmethod
    def _short_enough(cls, value: HttpUrl) -> HttpUrl:
        if len(str(value)) > MAX_URL_CHARS:
            raise ValueError(f"URL longer than {MAX_URL_CHARS} characters")
        return value


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=50)
    tags: RawTags | None = Field(default=None, max_length=MAX_LIST_ITEMS)

    @field_validator("tags")
    @classmethod
    def _tags(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else _clean_tags(values)


class SearchResult(BaseModel):
    chunk_id: int
    document_id: uuid.UUID
    title: str
    source: str
    section: str
    text: str
    score: float


class SearchResponse(BaseModel):
    results: list[SearchResult]
