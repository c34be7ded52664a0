# Deliberately non-ASCII text: these tests are about encodings and typographic characters.
# ruff: noqa: RUF001
from __future__ import annotations

import codecs

import pytest

from answerdesk.knowledge.extract import CorruptFile, extract

SAMPLE = "Café menu\n\nThe chef’s “special” costs 12 €.\n"


@pytest.mark.parametrize(
    "data",
    [
        SAMPLE.encode("utf-8"),
        codecs.BOM_UTF8 + SAMPLE.encode("utf-8"),
        codecs.BOM_UTF16_LE + SAMPLE.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + SAMPLE.encode("utf-16-be"),
        SAMPLE.encode("utf-16-le"),
        SAMPLE.encode("utf-16-be"),
        SAMPLE.encode("cp1252"),
    ],
    ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le", "utf16be", "cp1252"],
)
def test_text_encodings_decode_without_mojibake(data: bytes) -> None:
    doc = extract(data, filename="menu.txt")

    assert doc.title == "Café menu"
    assert doc.sections[0].blocks == ("Café menu", "The chef’s “special” costs 12 €.")


def test_utf16_without_bom_in_a_non_latin_script() -> None:
    text = "Привет, это страница помощи о паролях и счетах."

    doc = extract(text.encode("utf-16-le"), filename="ru.txt")

    assert doc.sections[0].blocks == (text,)


def test_cp1252_undefined_bytes_do_not_crash() -> None:
    data = "Le menu du café coûte 5 € par personne, boissons comprises.".encode("cp1252")

    doc = extract(data.replace(b"5", b"5\x81"), filename="x.txt")

    assert doc.sections[0].blocks == ("Le menu du café coûte 5 € par personne, boissons comprises.",)


def test_text_cleaning_normalises_unicode_and_whitespace() -> None:
    raw = "Cafe\u0301\u00a0 menu\r\nZero\u200bwidth\x07 bell\tand tab\r\n\r\n\r\n\r\nNext\u00adpara"

    doc = extract(raw.encode("utf-8"), filename="x.txt")

    assert doc.sections[0].blocks == ("Café menu\nZerowidth bell and tab", "Nextpara")


def test_setext_headings_and_unwrapped_lines() -> None:
    raw = (
        "Billing\n=======\n\nInvoices are sent on the\nfirst day of the month.\n- Pay online\n\n"
        "Refunds\n-------\n\nWithin 30 days."
    )

    doc = extract(raw.encode(), filename="billing.txt")

    assert [(s.heading, s.blocks) for s in doc.sections] == [
        ("Billing", ("Invoices are sent on the first day of the month.\n- Pay online",)),
        ("Billing > Refunds", ("Within 30 days.",)),
    ]
    assert doc.title == "Billing"


def test_binary_file_with_text_extension_is_rejected() -> None:
    with pytest.raises(CorruptFile, match="binary"):
        extract(bytes(range(256)) * 8, filename="image.txt")
