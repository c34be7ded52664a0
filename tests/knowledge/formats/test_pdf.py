from __future__ import annotations

import pytest

from answerdesk.knowledge.extract import CorruptFile, EmptyDocument, EncryptedFile, extract
from tests.knowledge.factories import encrypt_pdf, make_pdf

GUIDE = [
    (24, "Mail Guide"),
    (16, "Email setup"),
    (11, "The setup docu-"),
    (11, "ment explains every step of the configuration."),
    (11, "Open the caf\u00e9 \u2019settings\u2019 (in the app) first."),
    (11, "\u2022 Choose IMAP"),
    (11, "\u2022 Enter the server name"),
    (16, "Billing"),
    (11, "Invoices are sent every month."),
]


def test_pdf_headings_from_font_size_build_the_heading_path() -> None:
    doc = extract(make_pdf([GUIDE]), filename="guide.pdf")

    assert doc.source_format == "pdf"
    assert doc.title == "Mail Guide"
    assert [s.heading_path for s in doc.sections] == [
        ("Mail Guide", "Email setup"),
        ("Mail Guide", "Billing"),
    ]
    assert doc.sections[1].blocks == ("Invoices are sent every month.",)


def test_pdf_lines_are_dehyphenated_joined_and_bullets_kept_as_list_lines() -> None:
    block = extract(make_pdf([GUIDE]), filename="guide.pdf").sections[0].blocks[0]

    assert block.split("\n") == [
        "The setup document explains every step of the configuration. "
        "Open the caf\u00e9 \u2019settings\u2019 (in the app) first.",
        "- Choose IMAP",
        "- Enter the server name",
    ]


def test_pdf_metadata_title_wins_over_the_largest_heading() -> None:
    doc = extract(make_pdf([GUIDE], title="Microsoft Word - Mail setup.docx"), filename="x.pdf")

    assert doc.title == "Mail setup"


def test_pdf_without_headings_or_title_falls_back_to_the_filename() -> None:
    doc = extract(make_pdf([[(11, "Just one line of text.")]]), filename="reset_password-guide.pdf")

    assert doc.title == "reset password guide"
    assert doc.sections[0].heading_path == ()


def test_pdf_running_headers_footers_and_page_numbers_are_dropped() -> None:
    topics = ["Passwords", "Invoices", "Domains", "Backups"]
    pages = [
        [
            (9, "ACME Help Center"),
            (11, f"{topic} are explained on this page."),
            (11, f"Read the {topic.lower()} section carefully."),
            (11, "Contact us when in doubt."),
            (9, f"Page {n} of 4"),
        ]
        for n, topic in enumerate(topics, start=1)
    ]

    text = extract(make_pdf(pages), filename="x.pdf").text

    assert "ACME Help Center" not in text
    assert "of 4" not in text
    for topic in topics:
        assert f"{topic} are explained on this page. Read the {topic.lower()} section carefully." in text


def test_pdf_text_runs_on_across_page_breaks() -> None:
    pages = [[(11, "The refund is pro-")], [(11, "cessed within five days.")]]

    text = extract(make_pdf(pages), filename="x.pdf").text

    assert "The refund is processed within five days." in text


def test_pdf_with_a_user_password_is_rejected_as_password_protected() -> None:
    data = encrypt_pdf(make_pdf([GUIDE]), user_password="secret")

    with pytest.raises(EncryptedFile, match="This PDF is password-protected") as info:
        extract(data, filename="guide.pdf")
    assert info.value.code == "encrypted_file"
    assert info.value.status_code == 422


def test_pdf_encrypted_only_against_editing_is_read() -> None:
    data = encrypt_pdf(make_pdf([GUIDE]), user_password="")

    assert extract(data, filename="guide.pdf").title == "Mail Guide"


def test_corrupt_pdf_raises_corrupt_file() -> None:
    with pytest.raises(CorruptFile, match="damaged"):
        extract(b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 9 0 R\n garbage \x00\xff", filename="x.pdf")


def test_truncated_pdf_raises_corrupt_file() -> None:
    data = make_pdf([GUIDE])

    with pytest.raises(CorruptFile):
        extract(data[: len(data) // 3], filename="x.pdf")


def test_pdf_without_text_says_it_contains_no_text() -> None:
    with pytest.raises(EmptyDocument, match="The file contains no text"):
        extract(make_pdf([[]]), filename="scan.pdf")


def test_file_named_pdf_that_is_not_a_pdf_is_reported_as_damaged() -> None:
    with pytest.raises(CorruptFile, match=r"^This file is named \.pdf but is not a valid PDF$"):
        extract(b"<html><body>Not found</body></html>", filename="guide.pdf")
