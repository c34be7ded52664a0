from __future__ import annotations

import io
import zipfile

import docx
import pytest

from answerdesk.knowledge.extract import CorruptFile, EncryptedFile, UnsupportedFileType, extract
from tests.knowledge.factories import make_docx

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def test_docx_headings_lists_and_tables_keep_their_structure() -> None:
    doc = extract(make_docx(), filename="guide.docx")

    assert doc.source_format == "docx"
    assert doc.title == "Mail setup guide"
    assert [s.heading for s in doc.sections] == [
        "Mail setup guide > Email",
        "Mail setup guide > Email > IMAP settings",
        "Mail setup guide > Billing",
    ]
    imap = doc.sections[1]
    assert imap.blocks == (
        "Use these values for incoming mail.",
        "- Open the account settings\n- Choose IMAP as the account type",
        "Setting: Server; Value: imap.example.com; Notes: SSL\nSetting: Port; Value: 993",
    )


def test_docx_line_breaks_and_key_value_tables() -> None:
    billing = extract(make_docx(), filename="guide.docx").sections[2]

    assert billing.blocks == (
        "Invoices are sent on the first day of each month.\nPayment is due within 14 days.",
        "Currency: EUR\nVAT: Included",
    )


def test_docx_core_title_property_wins() -> None:
    document = docx.Document(io.BytesIO(make_docx()))
    document.core_properties.title = "Official title"
    out = io.BytesIO()
    document.save(out)

    assert extract(out.getvalue(), filename="guide.docx").title == "Official title"


def test_docx_merged_cells_are_not_repeated() -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    merged = table.rows[0].cells[0].merge(table.rows[0].cells[1])
    merged.text = "Plan"
    table.rows[0].cells[2].text = "Price"
    for cell, value in zip(table.rows[1].cells, ["Basic", "Basic", "5 EUR"], strict=True):
        cell.text = value
    out = io.BytesIO()
    document.save(out)

    doc = extract(out.getvalue(), filename="plans.docx")

    assert doc.sections[0].blocks == ("Plan: Basic; Price: 5 EUR",)


def test_password_protected_docx_is_reported_as_such() -> None:
    data = OLE_MAGIC + b"\x00" * 100 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 100

    with pytest.raises(EncryptedFile, match="This Word document is password-protected"):
        extract(data, filename="secret.docx")


def test_legacy_doc_is_unsupported_with_a_hint() -> None:
    with pytest.raises(UnsupportedFileType, match=r"\.doc.*save it as \.docx"):
        extract(OLE_MAGIC + b"\x00" * 200, filename="old.doc")


def test_damaged_docx_raises_corrupt_file() -> None:
    with pytest.raises(CorruptFile, match="This Word document is damaged"):
        extract(b"PK\x03\x04" + b"\x00\x13garbage" * 20, filename="guide.docx")


def test_zip_without_a_word_document_named_docx_raises_corrupt_file() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("hello.txt", "hi")

    with pytest.raises(CorruptFile):
        extract(out.getvalue(), filename="guide.docx")


def test_other_zip_formats_are_unsupported() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")

    with pytest.raises(UnsupportedFileType, match=r"Unsupported file type \.xlsx; supported: "):
        extract(out.getvalue(), filename="prices.xlsx")
