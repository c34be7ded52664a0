"""Word (.docx) documents: heading styles, lists and tables in body order; headers and footers skipped."""

from __future__ import annotations

import io
import re

import docx
from docx.document import Document
from docx.table import Table
from docx.text.paragraph import Paragraph

from answerdesk.knowledge.cleaning import clean_inline
from answerdesk.knowledge.document import Section
from answerdesk.knowledge.extract_errors import CorruptFile
from answerdesk.knowledge.formats.builder import SectionBuilder, list_line, render_table

_HEADING_STYLE = re.compile(r"^heading\s*(\d)$", re.I)
_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def parse_docx(data: bytes) -> tuple[str | None, tuple[Section, ...]]:
    """Returns (title, sections); the title is the core "Title" property, a Title paragraph or a heading."""
    # A damaged package surfaces as zip, XML, key or value errors from deep inside python-docx.
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        raise CorruptFile("This Word document is damaged and cannot be read") from exc
    return _parse(document)


def _parse(document: Document) -> tuple[str | None, tuple[Section, ...]]:
    builder = SectionBuilder()
    list_lines: list[str] = []
    title_paragraph: str | None = None
    for item in document.iter_inner_content():
        if isinstance(item, Paragraph) and _is_list_item(item):
            marker = f"{len(list_lines) + 1}." if "number" in _style_name(item).lower() else "-"
            if clean_inline(item.text):
                list_lines.append(list_line(item.text, marker=marker))
            continue
        if list_lines:
            builder.block("\n".join(list_lines))
            list_lines = []
        if isinstance(item, Table):
            builder.block(_table_text(item))
            continue
        level = _heading_level(item)
        if level is None:
            builder.block(item.text)
            continue
        if level == 0 and title_paragraph is None:
            title_paragraph = clean_inline(item.text) or None
        builder.heading(level, item.text)
    builder.block("\n".join(list_lines))
    sections = builder.sections()
    if not sections:
        sections = _fallback_text(document)
    core_title = clean_inline(document.core_properties.title or "")
    return core_title or title_paragraph or builder.first_heading, sections


def _style_name(paragraph: Paragraph) -> str:
    style = paragraph.style
    return (style.name or "") if style is not None else ""


def _heading_level(paragraph: Paragraph) -> int | None:
    name = _style_name(paragraph)
    if name.lower() == "title":
        return 0
    match = _HEADING_STYLE.match(name)
    if match:
        return int(match.group(1))
    outline = paragraph._p.find(f"{_W}pPr/{_W}outlineLvl")
    if outline is not None:
        value = outline.get(f"{_W}val")
        # Level 9 is Word's "body text" outline level.
        if value is not None and value.isdigit() and int(value) < 9:
            return int(value) + 1
    return None


def _is_list_item(paragraph: Paragraph) -> bool:
    if paragraph._p.find(f"{_W}pPr/{_W}numPr") is not None:
        return True
    return _style_name(paragraph).lower().startswith("list")


def _table_text(table: Table) -> str:
    # python-docx repeats a merged cell once per grid column it spans: keep the grid when column
    # names are attached to values (render_table drops the repeated pairs), else drop the repeats.
    grid = [[cell.text for cell in row.cells] for row in table.rows]
    if _has_header_row(table, grid):
        return render_table(grid, header=True)
    rows: list[list[str]] = []
    for row in table.rows:
        cells: list[str] = []
        previous = None
        for cell in row.cells:
            if cell._tc is not previous:
                cells.append(cell.text)
            previous = cell._tc
        rows.append(cells)
    return render_table(rows, header=False)


def _has_header_row(table: Table, rows: list[list[str]]) -> bool:
    if len(rows) < 2:
        return False
    first = table.rows[0]
    if first._tr.find(f"{_W}trPr/{_W}tblHeader") is not None:
        return True
    runs = [run for cell in first.cells for p in cell.paragraphs for run in p.runs if run.text.strip()]
    if runs and all(run.bold for run in runs):
        return True
    # Wide tables almost always name their columns; two-column ones are usually key/value lists.
    return len(rows[0]) >= 3 and all(cell.strip() for cell in rows[0])


def _fallback_text(document: Document) -> tuple[Section, ...]:
    """Text boxes and content controls escape iter_inner_content; read every w:p of the body instead."""
    builder = SectionBuilder()
    for paragraph in document.element.body.iter(f"{_W}p"):
        builder.block("".join(t.text or "" for t in paragraph.iter(f"{_W}t")))
    return builder.sections()
