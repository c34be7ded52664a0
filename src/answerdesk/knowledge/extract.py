"""Extract stage of ingestion: bytes of an uploaded file in, structured clean text out (pure, no I/O)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import replace

from answerdesk.knowledge.document import ExtractedDocument, FaqPair, Section, SourceFormat
from answerdesk.knowledge.extract_errors import (
    CorruptFile,
    EmptyDocument,
    EncryptedFile,
    ExtractionError,
    MalformedFaq,
    UnsupportedFileType,
)
from answerdesk.knowledge.formats.builder import title_from_filename
from answerdesk.knowledge.formats.docx import parse_docx
from answerdesk.knowledge.formats.faq import parse_faq_csv, parse_faq_json
from answerdesk.knowledge.formats.html import parse_html
from answerdesk.knowledge.formats.markdown import parse_markdown
from answerdesk.knowledge.formats.pdf import parse_pdf
from answerdesk.knowledge.formats.text import parse_text
from answerdesk.languages.detect import detect_language

__all__ = [
    "CONTENT_TYPES",
    "SUPPORTED_EXTENSIONS",
    "CorruptFile",
    "EmptyDocument",
    "EncryptedFile",
    "ExtractedDocument",
    "ExtractionError",
    "FaqPair",
    "MalformedFaq",
    "Section",
    "UnsupportedFileType",
    "detect_format",
    "extract",
]

SUPPORTED_EXTENSIONS: dict[str, SourceFormat] = {
    ".pdf": "pdf",
    ".docx": "docx",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".txt": "text",
    ".text": "text",
    ".csv": "faq_csv",
    ".json": "faq_json",
}
CONTENT_TYPES: dict[str, SourceFormat] = {
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "text/html": "html",
    "application/xhtml+xml": "html",
    "text/markdown": "markdown",
    "text/x-markdown": "markdown",
    "text/plain": "text",
    "text/csv": "faq_csv",
    "application/json": "faq_json",
}
_FORMAT_NAMES = {"pdf": "PDF", "docx": "Word document"}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Password-protected .docx files are OLE containers holding a stream of this name.
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html[\s>])", re.I)

_SectionParser = Callable[[bytes], tuple[str | None, tuple[Section, ...]]]
_SECTION_PARSERS: dict[SourceFormat, _SectionParser] = {
    "pdf": parse_pdf,
    "docx": parse_docx,
    "html": parse_html,
    "markdown": parse_markdown,
    "text": parse_text,
}


def extract(data: bytes, *, filename: str, content_type: str | None = None) -> ExtractedDocument:
    """Turn an uploaded file into sections (or FAQ pairs) of clean text.

    Raises an ``ExtractionError`` subclass (HTTP 422) with a message fit for the uploader when the
    file is empty, of an unsupported type, damaged, password-protected or a malformed FAQ.
    """
    if not data.strip():
        raise EmptyDocument()
    source_format = detect_format(data, filename=filename, content_type=content_type)
    fallback_title = title_from_filename(filename)
    if source_format in ("faq_csv", "faq_json"):
        faqs = parse_faq_csv(data) if source_format == "faq_csv" else parse_faq_json(data)
        if not faqs:
            raise EmptyDocument("The file contains no question/answer pairs")
        doc = ExtractedDocument(title=fallback_title, source_format=source_format, faqs=faqs)
    else:
        title, sections = _SECTION_PARSERS[source_format](data)
        if not sections:
            hint = " (a scanned PDF needs OCR first)" if source_format == "pdf" else ""
            raise EmptyDocument(f"The file contains no text{hint}")
        doc = ExtractedDocument(title=title or fallback_title, source_format=source_format, sections=sections)
    return replace(doc, language=detect_language(doc.text))


def detect_format(data: bytes, *, filename: str, content_type: str | None = None) -> SourceFormat:
    """Pick the parser: magic bytes of binary formats win, then the extension, then the content type.

    A file claiming to be a PDF or .docx without the matching magic bytes is reported as damaged
    rather than parsed as something else; text formats have no magic, so their name decides.
    """
    extension = _extension(filename)
    declared = SUPPORTED_EXTENSIONS.get(extension) or CONTENT_TYPES.get(_media_type(content_type))
    if data.startswith(_OLE_MAGIC):
        if _ENCRYPTED_PACKAGE in data:
            raise EncryptedFile("This Word document is password-protected")
        raise UnsupportedFileType(
            f"Unsupported file type {extension or '(legacy Office)'}: old Office formats (.doc, .xls, .ppt) "
            f"are not supported; save it as .docx or PDF. Supported: {_supported()}"
        )
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if data.startswith(b"PK\x03\x04"):
        if declared == "docx" or _is_docx_zip(data):
            return "docx"
        raise UnsupportedFileType(
            f"Unsupported file type {extension or '(zip archive)'}; supported: {_supported()}"
        )
    if declared in _FORMAT_NAMES:
        claimed = f"named {extension}" if extension else f"sent as {content_type}"
        raise CorruptFile(f"This file is {claimed} but is not a valid {_FORMAT_NAMES[declared]}")
    if declared is not None:
        return declared
    if _HTML_START.match(data[:512].lstrip(b"\xef\xbb\xbf")):
        return "html"
    described = extension or f"(no extension{f', content type {content_type}' if content_type else ''})"
    raise UnsupportedFileType(f"Unsupported file type {described}; supported: {_supported()}")


def _extension(filename: str) -> str:
    name = re.split(r"[/\\]", filename)[-1]
    return f".{name.rsplit('.', 1)[1].lower()}" if "." in name.lstrip(".") else ""


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _is_docx_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "word/document.xml" in archive.namelist()
    except (zipfile.BadZipFile, ValueError):
        return False


def _supported() -> str:
    return ", ".join(sorted(SUPPORTED_EXTENSIONS))
