"""How a passage's heading path reads to a customer: without the document title it repeats."""

from __future__ import annotations

from answerdesk.answers.passages import Passage
from answerdesk.knowledge.document import HEADING_SEPARATOR


def section_label(passage: Passage) -> str:
    """The heading path below the document title ("Backups > Automatic daily backups"), or ""."""
    return HEADING_SEPARATOR.join(heading_parts(passage))


def heading_parts(passage: Passage) -> list[str]:
    """Headings from the outermost to the innermost, the document title left out."""
    parts = [part.strip() for part in passage.section.split(HEADING_SEPARATOR)]
    parts = [part for part in parts if part]
    # Chunking puts the document title first in the path; the title is shown on its own anyway.
    if parts and parts[0] == passage.title.strip():
        parts = parts[1:]
    return parts
