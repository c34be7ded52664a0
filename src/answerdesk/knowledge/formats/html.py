"""HTML pages: main content only (no navigation, scripts, footers), with the heading structure kept."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup, Tag
from bs4.dammit import EncodingDetector
from bs4.element import Comment, Declaration, Doctype, NavigableString, ProcessingInstruction

from answerdesk.knowledge.cleaning import clean_inline, decode_text
from answerdesk.knowledge.document import Section
from answerdesk.knowledge.formats.builder import SectionBuilder, list_line, render_table

_DROP_TAGS = (
    "script", "style", "noscript", "template", "nav", "footer", "aside", "form", "iframe",
    "svg", "canvas", "button", "select", "input", "textarea", "object", "embed", "dialog",
)  # fmt: skip
_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar", "dialog"}
_BOILERPLATE_NAME = re.compile(
    r"(?:^|[\s_-])(?:nav|navbar|navigation|menu|breadcrumbs?|sidebar|site-?footer|footer|cookies?|consent"
    r"|banner|share|social|skip|advert|ads|related|comments?|newsletter|toolbar)(?:$|[\s_-])",
    re.I,
)
_CONTENT_TAGS = ("main", "article", "h1")
_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_BLOCK_TAGS = {
    "address", "article", "blockquote", "body", "caption", "center", "dd", "details", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "header", "hgroup", "hr", "li", "main", "p", "section", "summary",
    "tbody", "td", "tfoot", "th", "thead", "tr",
}  # fmt: skip
_SKIPPED_STRINGS = (Comment, Declaration, Doctype, ProcessingInstruction)
_SPACE_RUN = re.compile(r"\s+")
_LATIN1_ALIASES = {"iso-8859-1", "latin-1", "latin1", "us-ascii", "ascii", "windows-1252", "cp1252"}


def decode_html(data: bytes) -> str:
    """Honour a <meta charset> when the bytes really are in it; otherwise fall back to our detection.

    Pages that declare latin-1 are decoded as cp1252, as browsers do.
    """
    declared = EncodingDetector.find_declared_encoding(data[:4096], is_html=True)
    if declared and declared.lower() not in _LATIN1_ALIASES:
        try:
            return data.decode(declared)
        except (UnicodeDecodeError, LookupError):
            pass
    return decode_text(data)


def parse_html(data: bytes) -> tuple[str | None, tuple[Section, ...]]:
    """Returns (title, sections); the title is the first <h1>, else <title>, else og:title."""
    soup = BeautifulSoup(decode_html(data), "lxml")
    page_title = _page_title(soup)
    _strip_boilerplate(soup)
    root = _content_root(soup)
    builder = SectionBuilder()
    if root is not None:
        walker = _Walker(builder)
        walker.walk(root)
        walker.flush()
    return builder.first_heading or page_title, builder.sections()


def _page_title(soup: BeautifulSoup) -> str | None:
    if soup.title is not None and clean_inline(soup.title.get_text()):
        return clean_inline(soup.title.get_text())
    og = soup.find("meta", attrs={"property": "og:title"})
    if isinstance(og, Tag):
        content = og.get("content")
        if isinstance(content, str) and clean_inline(content):
            return clean_inline(content)
    return None


def _strip_boilerplate(soup: BeautifulSoup) -> None:
    for tag in soup.find_all(["head", *_DROP_TAGS]):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed or tag.name in ("html", "body", "main", "article"):
            continue
        if _is_boilerplate(tag) and tag.find(_CONTENT_TAGS) is None:
            tag.decompose()


def _is_boilerplate(tag: Tag) -> bool:
    if tag.name == "header" and tag.find_parent(["article", "main"]) is None:
        return True
    if tag.get("role") in _DROP_ROLES or tag.get("aria-hidden") == "true" or tag.has_attr("hidden"):
        return True
    style = tag.get("style")
    if isinstance(style, str) and re.search(r"display\s*:\s*none|visibility\s*:\s*hidden", style):
        return True
    classes = tag.get("class")
    names = " ".join(classes) if isinstance(classes, list) else ""
    tag_id = tag.get("id")
    if isinstance(tag_id, str):
        names = f"{names} {tag_id}"
    return bool(_BOILERPLATE_NAME.search(names))


def _content_root(soup: BeautifulSoup) -> Tag | None:
    main = soup.find("main") or soup.find(True, attrs={"role": "main"})
    if isinstance(main, Tag):
        return main
    articles = soup.find_all("article")
    if len(articles) == 1:
        return articles[0]
    return soup.body or soup


class _Walker:
    """Depth-first walk that turns inline runs into paragraphs and block elements into blocks."""

    def __init__(self, builder: SectionBuilder) -> None:
        self.builder = builder
        self.inline: list[str] = []

    def flush(self) -> None:
        self.builder.block("".join(self.inline))
        self.inline = []

    def walk(self, node: Tag) -> None:
        for child in node.children:
            if isinstance(child, NavigableString):
                if not isinstance(child, _SKIPPED_STRINGS):
                    self.inline.append(_SPACE_RUN.sub(" ", str(child)))
            elif isinstance(child, Tag):
                self._tag(child)

    def _tag(self, tag: Tag) -> None:
        name = tag.name
        if name in _HEADINGS:
            self.flush()
            self.builder.heading(_HEADINGS[name], tag.get_text(" "))
        elif name == "br":
            self.inline.append("\n")
        elif name in ("ul", "ol"):
            self.flush()
            self.builder.block("\n".join(_list_lines(tag)))
        elif name == "table" and tag.find(["table", *_HEADINGS]) is None:
            self.flush()
            self.builder.block(_table_text(tag))
        elif name == "pre":
            self.flush()
            self.builder.block(tag.get_text())
        elif name == "dl":
            self.flush()
            self.builder.block(_definition_list(tag))
        elif name in _BLOCK_TAGS or name == "table":
            self.flush()
            self.walk(tag)
            self.flush()
        elif name != "img":
            self.walk(tag)


def _list_lines(tag: Tag) -> list[str]:
    lines: list[str] = []
    ordered = tag.name == "ol"
    for number, item in enumerate(tag.find_all("li", recursive=False), start=1):
        nested = item.find_all(["ul", "ol"], recursive=False)
        for sub in nested:
            sub.extract()
        text = item.get_text(" ")
        if clean_inline(text):
            lines.append(list_line(text, marker=f"{number}." if ordered else "-"))
        for sub in nested:
            lines.extend(_list_lines(sub))
    return lines


def _table_text(table: Tag) -> str:
    rows: list[list[str]] = []
    header = False
    for index, row in enumerate(table.find_all("tr")):
        cells = row.find_all(["th", "td"], recursive=False)
        if index == 0:
            header = row.find_parent("thead") is not None or all(cell.name == "th" for cell in cells)
        rows.append([cell.get_text(" ") for cell in cells])
    caption = table.find("caption")
    text = render_table(rows, header=header)
    return f"{clean_inline(caption.get_text(' '))}\n{text}" if caption is not None else text


def _definition_list(tag: Tag) -> str:
    lines: list[str] = []
    for child in tag.find_all(["dt", "dd"]):
        text = clean_inline(child.get_text(" "))
        if child.name == "dd" and lines:
            lines[-1] = f"{lines[-1]}: {text}" if not lines[-1].endswith(":") else f"{lines[-1]} {text}"
        else:
            lines.append(text)
    return "\n".join(lines)
