"""Markdown: headings become the heading path; lists, tables and code stay as blocks."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from markdown_it import MarkdownIt
from markdown_it.token import Token

from answerdesk.knowledge.cleaning import clean_inline
from answerdesk.knowledge.document import Section
from answerdesk.knowledge.formats.builder import SectionBuilder, render_table
from answerdesk.knowledge.formats.text import decode_plain

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_FRONT_TITLE = re.compile(r"^title:[ \t]*(.+?)[ \t]*$", re.M | re.I)


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def parse_markdown(data: bytes) -> tuple[str | None, tuple[Section, ...]]:
    """Returns (title, sections); the title is front matter's ``title:`` or the first heading."""
    text = decode_plain(data)
    title: str | None = None
    front = _FRONT_MATTER.match(text)
    if front:
        found = _FRONT_TITLE.search(front.group(1))
        title = clean_inline(found.group(1).strip("\"'")) if found else None
        text = text[front.end() :]
    builder = SectionBuilder()
    _walk(_parser().parse(text), builder)
    return title or builder.first_heading, builder.sections()


def _walk(tokens: list[Token], builder: SectionBuilder) -> None:
    list_lines: list[str] = []
    items: list[int] = []  # index in list_lines of each open list item, innermost last
    list_depth = 0
    table_rows: list[list[str]] = []
    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind = token.type
        if kind == "heading_open":
            builder.heading(int(token.tag[1:]), _inline_text(tokens[i + 1]))
            i += 3
            continue
        if kind in ("bullet_list_open", "ordered_list_open"):
            list_depth += 1
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_depth -= 1
            if list_depth == 0:
                builder.block("\n".join(list_lines))
                list_lines = []
        elif kind == "list_item_open":
            marker = f"{token.info}." if token.info else "-"
            items.append(len(list_lines))
            list_lines.append(marker)
        elif kind == "list_item_close":
            items.pop()
        elif kind == "table_open":
            table_rows = []
        elif kind == "tr_open":
            table_rows.append([])
        elif kind in ("th_open", "td_open"):
            table_rows[-1].append(_inline_text(tokens[i + 1]))
        elif kind == "table_close":
            builder.block(render_table(table_rows, header=True))
        elif kind == "inline" and tokens[i - 1].type == "paragraph_open":
            _emit(_inline_text(token), builder, list_lines, items)
        elif kind in ("fence", "code_block"):
            _emit(token.content, builder, list_lines, items)
        elif kind == "html_block":
            _emit(BeautifulSoup(token.content, "html.parser").get_text(" "), builder, list_lines, items)
        i += 1


def _emit(text: str, builder: SectionBuilder, list_lines: list[str], items: list[int]) -> None:
    if not items:
        builder.block(text)
        return
    index = items[-1]
    list_lines[index] = f"{list_lines[index]} {clean_inline(text)}"


def _inline_text(token: Token) -> str:
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type == "softbreak":
            parts.append(" ")
        elif child.type == "hardbreak":
            parts.append("\n")
        elif child.type == "image":
            parts.append(child.content)
    return "".join(parts)
