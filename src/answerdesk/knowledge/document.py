"""The structured text an uploaded file is reduced to, shared by the extract and chunk stages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

SourceFormat = Literal["pdf", "docx", "html", "markdown", "text", "faq_csv", "faq_json"]

HEADING_SEPARATOR = " > "


@dataclass(frozen=True, slots=True)
class Section:
    """A run of text under one heading path.

    Each block is a paragraph, a list (one ``- item`` per line) or a table (one row per line);
    lines inside a block are hard breaks the chunker never joins across a sentence.
    """

    heading_path: tuple[str, ...]
    blocks: tuple[str, ...]

    @property
    def heading(self) -> str:
        return HEADING_SEPARATOR.join(self.heading_path)


@dataclass(frozen=True, slots=True)
class FaqPair:
    question: str
    answer: str
    tags: tuple[str, ...] = ()
    # Other ways customers ask the question, given in the file (folded into its vector at ingestion).
    phrasings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExtractedDocument:
    """Either ``sections`` (prose documents) or ``faqs`` (CSV/JSON FAQ files) is filled, never both."""

    title: str
    source_format: SourceFormat
    sections: tuple[Section, ...] = ()
    faqs: tuple[FaqPair, ...] = ()
    language: str | None = None

    @property
    def is_faq(self) -> bool:
        return self.source_format in ("faq_csv", "faq_json")

    @property
    def text(self) -> str:
        """All text in reading order, for previews and language guessing."""
        if self.is_faq:
            return "\n\n".join(f"{p.question}\n{p.answer}" for p in self.faqs)
        parts: list[str] = []
        for section in self.sections:
            if section.heading_path:
                parts.append(section.heading_path[-1])
            parts.extend(section.blocks)
        return "\n\n".join(parts)
