"""Helpers every format parser uses to build sections: the heading stack, lists and tables as text."""

from __future__ import annotations

import re
from collections.abc import Sequence

from answerdesk.knowledge.cleaning import clean_inline, clean_text
from answerdesk.knowledge.document import Section


class SectionBuilder:
    """Collects headings and blocks in reading order into sections keyed by their heading path."""

    def __init__(self) -> None:
        self._sections: list[Section] = []
        self._stack: list[tuple[int, str]] = []
        self._blocks: list[str] = []
        self.first_heading: str | None = None

    def heading(self, level: int, text: str) -> None:
        """Open a heading; a heading at the same or a higher level closes the deeper ones."""
        title = clean_inline(text)
        if not title:
            return
        self._flush()
        while self._stack and self._stack[-1][0] >= level:
            self._stack.pop()
        self._stack.append((level, title))
        if self.first_heading is None:
            self.first_heading = title

    def block(self, text: str) -> None:
        cleaned = clean_text(text)
        if cleaned:
            self._blocks.append(cleaned)

    def sections(self) -> tuple[Section, ...]:
        self._flush()
        return tuple(self._sections)

    def _flush(self) -> None:
        if self._blocks:
            path = tuple(title for _, title in self._stack)
            self._sections.append(Section(heading_path=path, blocks=tuple(self._blocks)))
            self._blocks = []


def list_line(text: str, *, marker: str = "-") -> str:
    """One list item as one line; nesting is flattened since blocks are cleaned line by line."""
    return f"{marker} {clean_inline(text)}"


def render_table(rows: Sequence[Sequence[str]], *, header: bool) -> str:
    """A table as text, one row per line.

    With a header row, each body row reads "Column: value; Column: value" so a chunk cut from the
    middle of the table still says what each value means. Two-column tables without a header are
    key/value lists ("Key: value"); anything else becomes pipe-separated rows.
    """
    cleaned = [[clean_inline(cell) for cell in row] for row in rows]
    cleaned = [row for row in cleaned if any(row)]
    if not cleaned:
        return ""
    if header and len(cleaned) > 1 and any(cleaned[0]):
        names = cleaned[0]
        lines = []
        for row in cleaned[1:]:
            pairs = [
                f"{names[i]}: {value}" if i < len(names) and names[i] else value
                for i, value in enumerate(row)
                if value
            ]
            # Cells spanning several columns arrive once per column.
            lines.append("; ".join(p for i, p in enumerate(pairs) if i == 0 or p != pairs[i - 1]))
        return "\n".join(lines)
    if all(len(row) == 2 and row[0] for row in cleaned):
        return "\n".join(f"{key}: {value}" if value else key for key, value in cleaned)
    return "\n".join(" | ".join(row) for row in cleaned)


_SEPARATORS = re.compile(r"[_\-.\s]+")


def title_from_filename(filename: str) -> str:
    """'imap-setup_guide.pdf' -> 'imap setup guide'; the last resort for a document title."""
    name = re.split(r"[/\\]", filename)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return _SEPARATORS.sub(" ", stem).strip() or "Untitled"
