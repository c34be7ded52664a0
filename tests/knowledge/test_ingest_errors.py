"""Bad input through the knowledge API: each bad document fails alone and readably, losing no chunk."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.config import Settings
from answerdesk.kit.errors import PayloadTooLarge
from answerdesk.knowledge.models import Chunk
from answerdesk.knowledge.service import KnowledgeService
from answerdesk.runtime import Runtime
from tests.conftest import app_client, make_settings, started_app
from tests.factories import make_org
from tests.knowledge.factories import encrypt_pdf, make_pdf
from tests.knowledge.ingest_support import (
    API,
    Kb,
    Site,
    doc_ids,
    html_page,
    make_kb,
    running_site,
    texts,
)

UPLOAD_LIMIT = 64 * 1024
CRAWL_TIMEOUT = 1.0  # short, yet long enough for a loaded machine to serve the pages that do answer
GUIDE = b"""# Webmail

Open webmail at https://webmail.example.com and sign in with the full e-mail address.
"""


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """A small upload limit and a short fetch timeout, so both can be crossed cheaply."""
    return make_settings(
        database_url, tmp_path / "data", max_upload_bytes=UPLOAD_LIMIT, crawl_timeout_seconds=CRAWL_TIMEOUT
    )


@pytest.fixture
async def kb(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> Kb:
    return await make_kb(client, db, runtime)


@pytest.fixture
def site() -> Iterator[Site]:
    with running_site(Site()) as s:
        yield s


async def chunk_count(db: AsyncSession, doc_id: str) -> int:
    await db.commit()  # a fresh snapshot on SQLite
    return int(
        await db.scalar(
            sa.select(sa.func.count()).select_from(Chunk).where(Chunk.document_id == uuid.UUID(doc_id))
        )
        or 0
    )


def assert_error_shape(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code and body["error"]["message"], body
    return body["error"]  # type: ignore[no-any-return]


async def test_bad_files_fail_alone_and_good_ones_in_the_batch_succeed(kb: Kb, db: AsyncSession) -> None:
    pdf = make_pdf([[(11, "Invoices are emailed on the first working day of the month.")]])
    cp1252 = "Café crème: “smart quotes” and the € sign — all from Windows Notepad.".encode("cp1252")
    utf16 = "Grüße aus der Straße: Umlaute überleben den Import.".encode("utf-16")
    good = {
        "webmail.md": (GUIDE, "text/markdown"),
        "invoices.pdf": (pdf, "application/pdf"),
        "notepad.txt": (cp1252, "text/plain"),
        "umlaute.txt": (utf16, "text/plain"),
    }
    bad = {
        "corrupt.pdf": (b"%PDF-1.7\n" + bytes(range(256)) * 8, "application/pdf", "damaged"),
        "truncated.pdf": (pdf[: len(pdf) // 2], "application/pdf", "damaged"),
        "locked.pdf": (
            encrypt_pdf(make_pdf([[(11, "Secret llama pricing sheet.")]]), user_password="pw"),
            "application/pdf",
            "password-protected",
        ),
        "fake.pdf": (b"This is plain text pretending to be a PDF.", "application/pdf", "not a valid PDF"),
        "scanned.pdf": (make_pdf([[]]), "application/pdf", "no text (a scanned PDF needs OCR first)"),
        # Rows 2 and 3 are fine, row 4 is not: the whole file is refused, none of it becomes searchable.
        "half.csv": (
            b"question,answer\nDo you sell alpaca hosting?,Yes, alpaca hosting starts at 2 EUR.\n"
            b"Is there a free trial?,Thirty days of alpaca hosting for free.\nBroken row?,\n",
            "text/csv",
            "Row 4",
        ),
    }
    good_ids = {name: await kb.upload_ok(name, data, ctype) for name, (data, ctype) in good.items()}
    bad_ids = {name: await kb.upload_ok(name, data, ctype) for name, (data, ctype, _) in bad.items()}
    await kb.drain()

    for name, doc_id in good_ids.items():
        doc = await kb.doc(doc_id)
        assert doc["status"] == "ready" and doc["chunk_count"] >= 1, (name, doc)
    for name, doc_id in bad_ids.items():
        doc = await kb.doc(doc_id)
        assert doc["status"] == "failed" and bad[name][2] in (doc["error"] or ""), (name, doc)
        assert doc["chunk_count"] == 0 and doc["progress"] == 0, (name, doc)
        assert await chunk_count(db, doc_id) == 0, name
    assert sorted(d["filename"] for d in await kb.docs(status="failed")) == sorted(bad)

    # Text in legacy encodings comes out with its accents intact.
    top = (await kb.search("café crème smart quotes euro sign", k=1))[0]
    assert top["document_id"] == good_ids["notepad.txt"]
    assert "Café crème: “smart quotes” and the € sign" in top["text"]
    top = (await kb.search("Umlaute Straße Grüße", k=1))[0]
    assert top["document_id"] == good_ids["umlaute.txt"] and "Grüße aus der Straße" in top["text"]
    assert doc_ids(await kb.search("invoice emailed first working day", k=1)) == [good_ids["invoices.pdf"]]
    # Nothing of the refused files is searchable, not even the rows that parsed.
    results = await kb.search("alpaca hosting free trial", k=10)
    assert set(doc_ids(results)).isdisjoint(bad_ids.values()) and "alpaca" not in texts(results)


async def test_upload_checks_answer_at_once_with_the_json_error_shape(kb: Kb) -> None:
    empty = assert_error_shape(await kb.upload("empty.txt", b"", "text/plain"), 422, "empty_document")
    assert "empty.txt" in empty["message"]
    assert_error_shape(await kb.upload("blank.md", b"  \n\t\n", "text/markdown"), 422, "empty_document")
    exe = await kb.upload("setup.exe", b"MZ\x90\x00binary", "application/x-msdownload")
    unsupported = assert_error_shape(exe, 422, "unsupported_file_type")
    assert ".exe" in unsupported["message"] and ".pdf" in unsupported["message"]
    no_extension = await kb.upload("noextension", b"some text", "text/plain")
    assert_error_shape(no_extension, 422, "unsupported_file_type")
    too_big = assert_error_shape(
        await kb.upload("huge.txt", b"a" * (UPLOAD_LIMIT + 1), "text/plain"), 413, "payload_too_large"
    )
    assert str(UPLOAD_LIMIT) in too_big["message"]
    missing = await kb.client.post(f"{API}/documents", headers=kb.headers, data={"title": "no file"})
    assert_error_shape(missing, 422, "validation_error")
    assert await kb.docs() == []

    # A file just under the limit goes through.
    under = b"Large but allowed. " * ((UPLOAD_LIMIT - 2048) // 19)
    doc_id = await kb.upload_ok("big-but-fine.txt", under, "text/plain")
    assert (await kb.ready(doc_id))["size_bytes"] == len(under)


async def test_service_refuses_oversized_files_for_every_caller(runtime: Runtime, db: AsyncSession) -> None:
    """The CLI and admin call the service directly: it enforces the limit itself, with a readable size."""
    org = await make_org(db)
    service = KnowledgeService(db, runtime.storage, max_upload_bytes=UPLOAD_LIMIT)
    with pytest.raises(PayloadTooLarge) as refused:
        await service.upload(org.id, filename="huge.txt", data=b"a" * (UPLOAD_LIMIT + 1024))
    assert refused.value.message == "huge.txt is 66560 bytes; the limit is 65536 bytes."


async def test_refused_reupload_leaves_the_ready_document_alone(kb: Kb) -> None:
    doc_id = await kb.upload_ok("webmail.md", GUIDE, "text/markdown")
    await kb.ready(doc_id)
    assert_error_shape(await kb.upload("webmail.md", b"", "text/markdown"), 422, "empty_document")
    assert_error_shape(
        await kb.upload("webmail.md", b"x" * (UPLOAD_LIMIT + 1), "text/markdown"), 413, "payload_too_large"
    )
    doc = await kb.doc(doc_id)
    assert doc["status"] == "ready" and doc["size_bytes"] == len(GUIDE), doc
    assert (await kb.search("webmail sign in", k=1))[0]["document_id"] == doc_id


async def test_corrupt_new_version_fails_and_keeps_the_old_chunks(kb: Kb, db: AsyncSession) -> None:
    pdf = make_pdf([[(14, "Price list"), (11, "The Starter plan costs four euros a month.")]])
    doc_id = await kb.upload_ok("prices.pdf", pdf, "application/pdf")
    before = await kb.ready(doc_id)
    assert await kb.upload_ok("prices.pdf", pdf[:200], "application/pdf") == doc_id
    await kb.drain()
    doc = await kb.doc(doc_id)
    assert doc["status"] == "failed" and "damaged" in doc["error"], doc
    assert await chunk_count(db, doc_id) == before["chunk_count"] >= 1
    top = (await kb.search("how much is the Starter plan", k=1))[0]
    assert top["document_id"] == doc_id and "four euros" in top["text"]
    # The index rebuilt from the database still has them.
    assert (await kb.client.post(f"{API}/reindex", headers=kb.headers)).status_code == 202
    assert (await kb.search("how much is the Starter plan", k=1))[0]["document_id"] == doc_id


async def test_urls_that_fail_to_fetch_fail_their_document(kb: Kb, site: Site) -> None:
    site.pages["/ok"] = (html_page("Panel login", "Log in to the control panel at port 2083."), "text/html")
    site.slow_paths.add("/slow")
    # Same server, other host name: a redirect that leaves the host is refused.
    site.redirects["/moved"] = site.url("/ok").replace("127.0.0.1", "localhost")
    ids = {}
    for path in ("/ok", "/slow", "/missing", "/moved"):
        response = await kb.import_url(site.url(path))
        assert response.status_code == 202, response.text
        ids[path] = response.json()["id"]
    await kb.drain()
    slow, missing = await kb.doc(ids["/slow"]), await kb.doc(ids["/missing"])
    assert slow["status"] == "failed", slow
    assert slow["error"] == f"{site.url('/slow')} did not answer in time."
    assert missing["status"] == "failed" and "HTTP 404" in missing["error"], missing
    moved = await kb.doc(ids["/moved"])
    assert moved["status"] == "failed" and "redirected to another host (localhost)" in moved["error"], moved
    assert slow["chunk_count"] == missing["chunk_count"] == 0
    assert (await kb.doc(ids["/ok"]))["status"] == "ready"
    results = await kb.search("control panel login port", k=5)
    assert doc_ids(results) == [ids["/ok"]]


async def test_url_import_rejects_what_is_not_a_web_address(kb: Kb) -> None:
    cases: list[tuple[str, dict[str, int]]] = [
        ("ftp://127.0.0.1/file", {}),
        ("not a url", {}),
        ("http://127.0.0.1/", {"max_pages": 0}),
    ]
    for url, options in cases:
        assert_error_shape(await kb.import_url(url, **options), 422, "validation_error")
    assert await kb.docs() == []


async def test_url_import_refuses_private_addresses_unless_allowed(
    database_url: str, tmp_path: Path, client: httpx.AsyncClient, db: AsyncSession, site: Site
) -> None:
    """The default: an import cannot reach the server's own network (loopback here, metadata services)."""
    site.pages["/ok"] = (html_page("Panel login", "Log in to the control panel at port 2083."), "text/html")
    async with (
        started_app(make_settings(database_url, tmp_path / "strict", crawl_allow_private=False)) as strict,
        app_client(strict) as http,
    ):
        kb = await make_kb(http, db, strict.state.runtime)
        for url in (site.url("/ok"), site.url("/ok").replace("127.0.0.1", "localhost")):
            response = await kb.import_url(url)
            assert response.status_code == 202, response.text
            await kb.drain()
            doc = await kb.doc(response.json()["id"])
            assert doc["status"] == "failed", doc
            assert "private or local address (127.0.0.1)" in doc["error"], doc
    assert site.requested == []
