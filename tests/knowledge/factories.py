"""Builders for the small documents the knowledge tests feed to the extract and chunk stages."""

from __future__ import annotations

import io
from collections.abc import Sequence

import docx
from docx.enum.text import WD_BREAK
from pypdf import PdfReader, PdfWriter

from answerdesk.knowledge.document import ExtractedDocument, FaqPair, Section

PdfLine = tuple[float, str]  # (font size in points, text)


def _pdf_string(text: str) -> bytes:
    raw = text.encode("cp1252")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def make_pdf(pages: Sequence[Sequence[PdfLine]], *, title: str | None = None) -> bytes:
    """A minimal hand-written PDF: Helvetica (WinAnsi), one positioned text line per entry."""
    body: dict[int, bytes] = {}
    page_ids: list[int] = []
    next_id = 4
    for lines in pages:
        y = 760.0
        ops: list[bytes] = []
        for size, text in lines:
            ops.append(b"BT /F1 %.1f Tf 72 %.1f Td " % (size, y) + _pdf_string(text) + b" Tj ET")
            y -= size * 1.5
        content = b"\n".join(ops)
        page_id, content_id = next_id, next_id + 1
        next_id += 2
        body[page_id] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_id
        )
        body[content_id] = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content)
        page_ids.append(page_id)
    kids = b" ".join(b"%d 0 R" % i for i in page_ids)
    body[1] = b"<< /Type /Catalog /Pages 2 0 R >>"
    body[2] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(page_ids))
    body[3] = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    info = b""
    if title is not None:
        body[next_id] = b"<< /Title " + _pdf_string(title) + b" >>"
        info = b" /Info %d 0 R" % next_id
    out = bytearray(b"%PDF-1.4\n")
    offsets: dict[int, int] = {}
    for obj_id in sorted(body):
        offsets[obj_id] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (obj_id, body[obj_id])
    xref = len(out)
    size = max(body) + 1
    out += b"xref\n0 %d\n0000000000 65535 f \n" % size
    for obj_id in range(1, size):
        out += b"%010d 00000 n \n" % offsets[obj_id]
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (size, info, xref)
    return bytes(out)


def encrypt_pdf(data: bytes, *, user_password: str, owner_password: str = "owner-secret") -> bytes:
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def make_docx() -> bytes:
    """A Word file with a title, two heading levels, a list, a header-row table and a key/value table."""
    document = docx.Document()
    document.core_properties.title = ""
    document.add_paragraph("Mail setup guide", style="Title")
    document.add_heading("Email", level=1)
    document.add_paragraph("Configure your mail client with the settings below.")
    document.add_heading("IMAP settings", level=2)
    document.add_paragraph("Use these values for incoming mail.")
    document.add_paragraph("Open the account settings", style="List Bullet")
    document.add_paragraph("Choose IMAP as the account type", style="List Bullet")
    table = document.add_table(rows=3, cols=3)
    for row, values in zip(
        table.rows,
        [("Setting", "Value", "Notes"), ("Server", "imap.example.com", "SSL"), ("Port", "993", "")],
        strict=True,
    ):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    for cell in table.rows[0].cells:
        for run in cell.paragraphs[0].runs:
            run.bold = True
    document.add_heading("Billing", level=1)
    paragraph = document.add_paragraph("Invoices are sent on the first day of each month.")
    paragraph.add_run().add_break(WD_BREAK.LINE)
    paragraph.add_run("Payment is due within 14 days.")
    pairs = document.add_table(rows=2, cols=2)
    for row, (key, value) in zip(pairs.rows, [("Currency", "EUR"), ("VAT", "Included")], strict=True):
        row.cells[0].text = key
        row.cells[1].text = value
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def make_doc(
    sections: Sequence[tuple[Sequence[str], Sequence[str]]], *, title: str = "Doc"
) -> ExtractedDocument:
    """An extracted document straight from (heading path, blocks) pairs, for chunker tests."""
    return ExtractedDocument(
        title=title,
        source_format="markdown",
        sections=tuple(Section(heading_path=tuple(path), blocks=tuple(blocks)) for path, blocks in sections),
    )


def make_faq_doc(pairs: Sequence[tuple[str, str]]) -> ExtractedDocument:
    return ExtractedDocument(
        title="FAQ",
        source_format="faq_csv",
        faqs=tuple(FaqPair(question=q, answer=a, tags=("billing",)) for q, a in pairs),
    )


def sentences(count: int, *, topic: str = "mail", words: int = 12) -> list[str]:
    """Distinct, numbered sentences of a fixed length, so tests can find each one in the output."""
    filler = " ".join(["settings"] * (words - 4))
    return [f"Sentence {topic} {i} covers {filler}." for i in range(count)]
