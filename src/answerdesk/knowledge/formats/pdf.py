"""PDF files: text per page, headings guessed from font size, running headers and footers dropped."""

from __future__ import annotations

import io
import logging
import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from pypdf import PageObject, PasswordType, PdfReader

from answerdesk.knowledge.cleaning import clean_inline, dehyphenate, running_lines
from answerdesk.knowledge.document import Section
from answerdesk.knowledge.extract_errors import CorruptFile, EncryptedFile, ExtractionError
from answerdesk.knowledge.formats.builder import SectionBuilder, list_line

log = logging.getLogger(__name__)

# A heading is at least this much larger than body text.
_HEADING_RATIO = 1.15
# A size used for more than this share of all characters is a second body font, not a heading.
_HEADING_MAX_SHARE = 0.3
_HEADING_MAX_CHARS = 150
_MAX_LEVELS = 4
_BULLET = re.compile(r"^(?:[•◦▪▫■□●○‣\u2043∙·*\u2013-]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+", re.I)
_HAS_LETTER = re.compile(r"[^\W\d_]")
_DOT_LEADER = re.compile(r"(?:\s*\.){4,}\s*\d*\s*$")  # "Billing . . . . . 12" in a table of contents
_GENERIC_TITLES = {"untitled", "title", "document", "slide 1", "no title", "(anonymous)"}
_WORD_PREFIX = re.compile(r"^microsoft (?:word|powerpoint) - ", re.I)


@dataclass(frozen=True, slots=True)
class _Line:
    text: str
    size: float | None


def parse_pdf(data: bytes) -> tuple[str | None, tuple[Section, ...]]:
    """Returns (title, sections); the title is the PDF's Title metadata or its largest first-page heading."""
    reader, pages = _open(data)
    page_lines = _extract_pages(pages)
    levels = _heading_levels(page_lines)
    page_lines = _without_running_lines(page_lines, levels)
    builder = SectionBuilder()
    _assemble(page_lines, levels, builder)
    first_page = page_lines[0] if page_lines else []
    big_first = max(
        (line for line in first_page if line.size in levels and _is_heading_text(line.text)),
        key=lambda line: line.size or 0.0,
        default=None,
    )
    title = _metadata_title(reader) or (clean_inline(big_first.text) if big_first else None)
    return title or builder.first_heading, builder.sections()


def _open(data: bytes) -> tuple[PdfReader, list[PageObject]]:
    # pypdf raises a wide variety of exception types on damaged input; all mean "cannot read it".
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            _decrypt(reader)
        return reader, list(reader.pages)
    except ExtractionError:
        raise
    except Exception as exc:
        raise CorruptFile("This PDF is damaged and cannot be read") from exc


def _decrypt(reader: PdfReader) -> None:
    """Many PDFs are encrypted only against editing, with an empty password to open them."""
    try:
        result = reader.decrypt("")
    except Exception as exc:
        raise EncryptedFile("This PDF is password-protected") from exc
    if result == PasswordType.NOT_DECRYPTED:
        raise EncryptedFile("This PDF is password-protected")


def _extract_pages(pages: list[PageObject]) -> list[list[_Line]]:
    extracted: list[list[_Line]] = []
    failures = 0
    for number, page in enumerate(pages, start=1):
        try:
            extracted.append(_page_lines(page))
        except Exception:
            failures += 1
            log.warning("pdf page %d could not be read", number, exc_info=True)
    if pages and failures == len(pages):
        raise CorruptFile("This PDF is damaged and cannot be read")
    return extracted


def _page_lines(page: PageObject) -> list[_Line]:
    fragments: list[tuple[str, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text:
            scale = math.hypot(tm[2], tm[3]) * math.hypot(cm[2], cm[3])
            fragments.append((text, round(size * scale * 2) / 2))

    output = page.extract_text(visitor_text=visit)
    if _squash(output) != _squash("".join(text for text, _ in fragments)):
        # The visitor missed text pypdf still returned: keep the text, give up on sizes for this page.
        return [_Line(_DOT_LEADER.sub("", line), None) for line in output.split("\n") if line.strip()]
    lines: list[_Line] = []
    parts: list[str] = []
    sizes: Counter[float] = Counter()
    for text, size in fragments:
        for index, piece in enumerate(text.split("\n")):
            if index:
                lines.append(_line(parts, sizes))
                parts, sizes = [], Counter()
            parts.append(piece)
            sizes[size] += len(piece.strip())
    lines.append(_line(parts, sizes))
    return [line for line in lines if line.text.strip()]


def _line(parts: list[str], sizes: Counter[float]) -> _Line:
    size, chars = sizes.most_common(1)[0] if sizes else (0.0, 0)
    return _Line(_DOT_LEADER.sub("", "".join(parts)), size if chars else None)


def _squash(text: str) -> str:
    return "".join(text.split())


def _heading_levels(pages: list[list[_Line]]) -> dict[float, int]:
    """Font sizes clearly larger than the body text, largest first, mapped to heading levels."""
    chars: Counter[float] = Counter()
    for page in pages:
        for line in page:
            if line.size is not None:
                chars[line.size] += len(line.text.strip())
    total = sum(chars.values())
    if not total:
        return {}
    body = chars.most_common(1)[0][0]
    sizes = sorted(
        (s for s in chars if s >= body * _HEADING_RATIO and chars[s] <= _HEADING_MAX_SHARE * total),
        reverse=True,
    )
    return {size: min(index + 1, _MAX_LEVELS) for index, size in enumerate(sizes)}


def _is_heading_text(text: str) -> bool:
    stripped = text.strip()
    return 0 < len(stripped) <= _HEADING_MAX_CHARS and bool(_HAS_LETTER.search(stripped))


def _without_running_lines(pages: list[list[_Line]], levels: dict[float, int]) -> list[list[_Line]]:
    drop = running_lines([[line.text for line in page] for page in pages])
    return [
        [line for i, line in enumerate(page) if i not in dropped or line.size in levels]
        for page, dropped in zip(pages, drop, strict=True)
    ]


def _assemble(pages: list[list[_Line]], levels: dict[float, int], builder: SectionBuilder) -> None:
    body: list[str] = []
    heading: tuple[int, str] | None = None

    def flush_heading() -> None:
        nonlocal heading
        if heading is not None:
            builder.heading(*heading)
            heading = None

    # Body text runs on across page breaks, so lines are gathered over the whole document.
    for line in (line for page in pages for line in page):
        level = levels.get(line.size) if line.size is not None else None
        if level is not None and _is_heading_text(line.text):
            if body:
                builder.block(_paragraphs(body))
                body = []
            text = clean_inline(line.text)
            # A heading wrapped over two lines arrives as two lines of the same size.
            wrapped = heading is not None and heading[0] == level
            if heading is not None and wrapped and len(heading[1]) + len(text) < _HEADING_MAX_CHARS:
                heading = (level, f"{heading[1]} {text}")
            else:
                flush_heading()
                heading = (level, text)
            continue
        flush_heading()
        body.append(line.text)
    flush_heading()
    if body:
        builder.block(_paragraphs(body))


def _paragraphs(lines: list[str]) -> str:
    """Join wrapped lines back into running text; list items keep a line of their own."""
    text = dehyphenate("\n".join(line.strip() for line in lines))
    out: list[str] = []
    for line in text.split("\n"):
        bullet = _BULLET.match(line)
        if bullet and len(line) > bullet.end():
            marker = bullet.group(0).strip()
            out.append(line if marker[0].isalnum() or marker[0] == "(" else list_line(line[bullet.end() :]))
        elif out:
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return "\n".join(out)


def _metadata_title(reader: PdfReader) -> str | None:
    try:
        raw = reader.metadata.title if reader.metadata is not None else None
    except Exception:
        return None
    title = clean_inline(_WORD_PREFIX.sub("", raw or ""))
    title = re.sub(r"\.(docx?|pptx?|odt|rtf|txt)$", "", title, flags=re.I)
    if not title or title.casefold() in _GENERIC_TITLES:
        return None
    return title
