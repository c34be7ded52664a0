"""Plain text: paragraphs split on blank lines, setext-style underlined headings, hard wraps undone."""

from __future__ import annotations

import re

from answerdesk.knowledge.cleaning import clean_inline, clean_text, decode_text, looks_binary
from answerdesk.knowledge.document import Section
from answerdesk.knowledge.extract_errors import CorruptFile
from answerdesk.knowledge.formats.builder import SectionBuilder

_UNDERLINE = re.compile(r"^(=+|-+)$")
_LIST_START = re.compile(r"^(?:[-*•+]|\d{1,3}[.)])\s+")
_MAX_TITLE_CHARS = 80


def decode_plain(data: bytes) -> str:
    text = decode_text(data)
    if looks_binary(text):
        raise CorruptFile("The file does not contain readable text (it looks like a binary file)")
    return text


def parse_text(data: bytes) -> tuple[str | None, tuple[Section, ...]]:
    """Returns (title, sections); the title is the first heading, else a short first line."""
    lines = clean_text(decode_plain(data)).split("\n")
    builder = SectionBuilder()
    paragraph: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line and len(following) >= 3 and _UNDERLINE.match(following):
            builder.block(_unwrap(paragraph))
            paragraph = []
            builder.heading(1 if following[0] == "=" else 2, line)
            index += 2
            continue
        if line:
            paragraph.append(line)
        else:
            builder.block(_unwrap(paragraph))
            paragraph = []
        index += 1
    builder.block(_unwrap(paragraph))
    first = clean_inline(lines[0]) if lines else ""
    guess = first if 0 < len(first) <= _MAX_TITLE_CHARS and not first.endswith((".", ",", ";")) else None
    return builder.first_heading or guess, builder.sections()


def _unwrap(lines: list[str]) -> str:
    """Join a line onto the previous one when it continues a hard-wrapped sentence (starts lowercase)."""
    out: list[str] = []
    for line in lines:
        if out and line[:1].islower() and not _LIST_START.match(line):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return "\n".join(out)
