from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from answerdesk.kit.errors import ValidationFailed
from answerdesk.knowledge.extract import (
    SUPPORTED_EXTENSIONS,
    CorruptFile,
    EmptyDocument,
    EncryptedFile,
    ExtractionError,
    MalformedFaq,
    UnsupportedFileType,
    detect_format,
    extract,
)
from tests.knowledge.factories import make_docx, make_pdf

PDF = make_pdf([[(11, "Hello from a PDF.")]])
DOCX = make_docx()


@pytest.mark.parametrize(
    ("filename", "content_type", "expected"),
    [
        ("guide.TXT", None, "text"),
        ("notes.md", "text/plain", "markdown"),
        ("C:\\Users\\ann\\faq.CSV", "application/vnd.ms-excel", "faq_csv"),
        ("upload", "text/markdown; charset=utf-8", "markdown"),
        ("upload", "application/json", "faq_json"),
        ("page.htm", None, "html"),
        ("readme", None, None),
    ],
)
def test_format_from_extension_then_content_type(
    filename: str, content_type: str | None, expected: str | None
) -> None:
    if expected is None:
        with pytest.raises(UnsupportedFileType):
            detect_format(b"plain words", filename=filename, content_type=content_type)
    else:
        assert detect_format(b"plain words", filename=filename, content_type=content_type) == expected


def test_magic_bytes_win_over_a_wrong_name_or_content_type() -> None:
    assert detect_format(PDF, filename="guide.txt", content_type="text/plain") == "pdf"
    assert extract(PDF, filename="download.bin").sections[0].blocks == ("Hello from a PDF.",)


def test_html_is_sniffed_when_name_and_type_say_nothing() -> None:
    assert detect_format(b"\n<!DOCTYPE html><html></html>", filename="page", content_type=None) == "html"


def test_unsupported_type_lists_what_is_supported() -> None:
    with pytest.raises(UnsupportedFileType) as info:
        extract(b"some bytes", filename="archive.xyz", content_type="application/octet-stream")

    expected = "Unsupported file type .xyz; supported: " + ", ".join(sorted(SUPPORTED_EXTENSIONS))
    assert info.value.message == expected
    assert info.value.code == "unsupported_file_type"


@pytest.mark.parametrize("data", [b"", b"  \n\t ", b"\xef\xbb\xbf\n\n"], ids=["empty", "blank", "bom-only"])
def test_empty_file_contains_no_text(data: bytes) -> None:
    with pytest.raises(EmptyDocument, match=r"^The file contains no text$"):
        extract(data, filename="empty.txt")


def test_html_without_content_contains_no_text() -> None:
    with pytest.raises(EmptyDocument, match="The file contains no text"):
        extract(b"<html><body><nav>Menu</nav><script>x()</script></body></html>", filename="x.html")


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UnsupportedFileType, "unsupported_file_type"),
        (EmptyDocument, "empty_document"),
        (CorruptFile, "corrupt_file"),
        (EncryptedFile, "encrypted_file"),
        (MalformedFaq, "malformed_faq"),
    ],
)
def test_extraction_errors_render_as_422_with_a_specific_code(
    error: type[ExtractionError], code: str
) -> None:
    exc = error("Something is wrong", details={"row": 2})

    assert isinstance(exc, ValidationFailed)
    assert exc.status_code == 422
    assert exc.to_dict() == {"error": {"code": code, "message": "Something is wrong", "details": {"row": 2}}}


def test_language_is_guessed_for_prose() -> None:
    english = b"This is the guide for your account. You can change the settings that are on the page."
    german = "Das ist die Anleitung für Ihr Konto. Sie können die Einstellungen auf der Seite ändern."

    assert extract(english, filename="en.txt").language == "en"
    assert extract(german.encode(), filename="de.txt").language == "de"
    assert extract(b"Port 993.", filename="short.txt").language is None


@settings(max_examples=40, deadline=None)
@given(
    data=st.binary(min_size=1, max_size=400),
    extension=st.sampled_from(sorted(SUPPORTED_EXTENSIONS)),
)
def test_arbitrary_bytes_extract_or_raise_an_extraction_error(data: bytes, extension: str) -> None:
    try:
        doc = extract(data, filename=f"upload{extension}")
    except ExtractionError as exc:
        assert exc.message
    else:
        assert doc.sections or doc.faqs


@settings(max_examples=40, deadline=None)
@given(
    base=st.sampled_from(["pdf", "docx"]),
    flips=st.lists(
        st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), min_size=1, max_size=20
    ),
    keep=st.floats(0.1, 1),
)
def test_damaged_pdf_and_docx_raise_extraction_errors(
    base: str, flips: list[tuple[float, int]], keep: float
) -> None:
    data = bytearray(PDF if base == "pdf" else DOCX)
    for where, value in flips:
        data[int(where * len(data))] = value
    try:
        doc = extract(bytes(data[: max(1, int(keep * len(data)))]), filename=f"upload.{base}")
    except ExtractionError as exc:
        assert exc.message
    else:
        assert doc.sections
