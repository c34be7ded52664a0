"""Every kind of source through the knowledge API: each file format, FAQ entries, web pages and sitemaps."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.knowledge.models import Chunk, Document
from answerdesk.runtime import Runtime
from tests.knowledge.factories import make_docx, make_pdf
from tests.knowledge.ingest_support import (
    API,
    Kb,
    Site,
    doc_ids,
    html_page,
    make_kb,
    running_site,
    sitemap,
    sitemap_index,
    wait_for,
    wait_threading_event,
)

MARKDOWN = b"""# Backup guide

## Restoring a backup

Open JetBackup in the control panel, pick the snapshot date and press Restore. Restores of a whole
account take about ten minutes.
"""
TEXT = b"""Server maintenance window
=========================

Maintenance of the Frankfurt cluster happens every Tuesday between 02:00 and 04:00 CET.
Short interruptions of a few seconds are possible.
"""
CSV_FAQ = b"""question,answer,tags
How do I cancel my plan?,Open Billing and choose Cancel service; the plan stops at the term's end.,billing
Do you offer a staging site?,Yes: every plan includes one staging copy you can push live in one click.,hosting
Which PHP versions are available?,PHP 8.1 8.2 and 8.3 can be selected per domain in MultiPHP Manager.,php
"""
JSON_FAQ = json.dumps(
    [
        {
            "question": "Can I pay by bank transfer?",
            "answer": "Yes, SEPA transfers are accepted for yearly plans.",
            "tags": ["billing"],
        },
        {
            "question": "Where is my data stored?",
            "answer": "All servers are in our own racks in Frankfurt, Germany.",
            "tags": ["privacy"],
        },
    ]
).encode()


async def revision_is(db: AsyncSession, kb: Kb, revision: int) -> bool:
    await db.commit()  # a fresh snapshot on SQLite
    current = await db.scalar(
        sa.select(sa.func.max(Document.revision)).where(Document.organization_id == kb.organization_id)
    )
    return current == revision


async def chunks_of(db: AsyncSession, doc_id: str) -> list[Chunk]:
    db.expire_all()
    stmt = sa.select(Chunk).where(Chunk.document_id == uuid.UUID(doc_id)).order_by(Chunk.position)
    rows = await db.scalars(stmt)
    return list(rows)


@pytest.fixture
async def kb(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> Kb:
    return await make_kb(client, db, runtime)


@pytest.fixture
def site() -> Iterator[Site]:
    with running_site(Site()) as s:
        yield s


async def test_every_file_format_is_ingested_and_searchable(kb: Kb, db: AsyncSession) -> None:
    pdf = make_pdf(
        [
            [
                (18, "Quokka plan"),
                (11, "The Quokka plan includes nightly offsite backups."),
                (11, "Backups are kept for thirty days."),
            ]
        ],
        title="Quokka plan overview",
    )
    uploads = {
        "pdf": ("quokka.pdf", pdf, "application/pdf"),
        "docx": (
            "mail-guide.docx",
            make_docx(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        "html": (
            "outage.html",
            html_page(
                "Status page", "During an outage we post updates on status.example every thirty minutes."
            ),
            "text/html",
        ),
        "markdown": ("backups.md", MARKDOWN, "text/markdown"),
        "text": ("maintenance.txt", TEXT, "text/plain"),
        "csv": ("faq.csv", CSV_FAQ, "text/csv"),
        "json": ("faq.json", JSON_FAQ, "application/json"),
    }
    ids = {kind: await kb.upload_ok(*args) for kind, args in uploads.items()}
    await kb.drain()
    docs = {kind: await kb.doc(doc_id) for kind, doc_id in ids.items()}
    for kind, doc in docs.items():
        assert doc["status"] == "ready" and doc["error"] is None and doc["chunk_count"] >= 1, (kind, doc)
        assert doc["progress"] == 100 and doc["ingested_at"] is not None, (kind, doc)
        assert doc["source"] == "file" and doc["filename"] == uploads[kind][0], doc

    queries = {
        "pdf": "Does the Quokka plan include backups?",
        "docx": "IMAP server for incoming mail",
        "html": "how often are outage updates posted",
        "markdown": "restore a JetBackup snapshot",
        "text": "when is the Frankfurt maintenance window",
    }
    for kind, query in queries.items():
        results = await kb.search(query, k=3)
        assert results and results[0]["document_id"] == ids[kind], (kind, query, results)
    assert "imap.example.com" in (await kb.search("IMAP server for incoming mail", k=1))[0]["text"]

    # Each FAQ pair is its own chunk of kind "faq", whatever the file format.
    for kind, pairs in (("csv", 3), ("json", 2)):
        chunks = await chunks_of(db, ids[kind])
        assert docs[kind]["chunk_count"] == pairs == len(chunks)
        assert {c.kind for c in chunks} == {"faq"}
        assert all(c.text.startswith("Q: ") and "\nA: " in c.text for c in chunks), [c.text for c in chunks]
    top = (await kb.search("Which PHP versions can I use?", k=1))[0]
    assert top["document_id"] == ids["csv"] and "MultiPHP Manager" in top["text"]
    assert "PHP 8.1" in top["text"] and "staging" not in top["text"]  # one pair, not the whole file
    top = (await kb.search("can I pay with a SEPA bank transfer", k=1))[0]
    assert top["document_id"] == ids["json"] and "Frankfurt" not in top["text"]


async def test_faq_entries_are_created_and_edited_in_place(kb: Kb, db: AsyncSession) -> None:
    created = await kb.client.post(
        f"{API}/faqs",
        headers=kb.headers,
        json={
            "question": "How long does a domain transfer take?",
            "answer": "Usually five to seven days.",
            "tags": ["Domains"],
        },
    )
    assert created.status_code == 202, created.text
    faq_id = created.json()["id"]
    doc = await kb.ready(faq_id)
    assert doc["source"] == "faq" and doc["chunk_count"] == 1 and doc["tags"] == ["domains"]
    assert doc["question"] == "How long does a domain transfer take?"
    [chunk] = await chunks_of(db, faq_id)
    assert chunk.kind == "faq"
    assert chunk.text == "Q: How long does a domain transfer take?\nA: Usually five to seven days."
    assert (await kb.search("domain transfer duration", k=1))[0]["document_id"] == faq_id

    updated = await kb.client.put(
        f"{API}/faqs/{faq_id}",
        headers=kb.headers,
        json={
            "question": "How long does a domain transfer take?",
            "answer": "Transfers finish within 48 hours now.",
            "tags": [],
        },
    )
    assert updated.status_code == 202 and updated.json() == {"id": faq_id, "status": "queued"}
    doc = await kb.ready(faq_id)
    assert doc["answer"] == "Transfers finish within 48 hours now." and doc["tags"] == []
    [chunk] = await chunks_of(db, faq_id)
    assert "48 hours" in chunk.text and "seven days" not in chunk.text
    results = await kb.search("domain transfer duration", k=5)
    assert results[0]["document_id"] == faq_id and "48 hours" in results[0]["text"]
    assert all("seven days" not in r["text"] for r in results)
    assert len(await kb.docs(source="faq")) == 1

    # A file cannot be edited through the FAQ route.
    file_id = await kb.upload_ok("note.txt", b"Just a note about nothing in particular.", "text/plain")
    refused = await kb.client.put(
        f"{API}/faqs/{file_id}", headers=kb.headers, json={"question": "Is this a FAQ?", "answer": "No."}
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "conflict"


async def test_single_page_import_fetches_and_titles_the_page(kb: Kb, site: Site) -> None:
    site.pages["/help/ssl"] = (
        html_page(
            "Installing an SSL certificate", "AutoSSL issues a free Let's Encrypt certificate within an hour."
        ),
        "text/html; charset=utf-8",
    )
    url = site.url("/help/ssl")
    response = await kb.import_url(url, tags=["ssl"])
    assert response.status_code == 202, response.text
    doc_id = response.json()["id"]
    doc = await kb.ready(doc_id)
    assert doc["source"] == "url" and doc["url"] == url and doc["title"] == "Installing an SSL certificate"
    assert doc["tags"] == ["ssl"]
    top = (await kb.search("free Let's Encrypt certificate", k=1))[0]
    assert top["document_id"] == doc_id and top["source"] == url

    # Importing the same URL again refreshes that document rather than adding a second one.
    site.pages["/help/ssl"] = (
        html_page("Installing an SSL certificate", "AutoSSL now issues certificates from Sectigo."),
        "text/html",
    )
    again = await kb.import_url(url)
    assert again.json()["id"] == doc_id
    await kb.ready(doc_id)
    assert [d["id"] for d in await kb.docs(source="url")] == [doc_id]
    top = (await kb.search("which certificate authority does AutoSSL use", k=1))[0]
    assert "Sectigo" in top["text"] and "Let's Encrypt" not in top["text"]


async def test_sitemap_import_is_bounded_by_max_pages_and_host(kb: Kb, site: Site) -> None:
    topics = {
        "/kb/dns": ("DNS records", "An A record points your domain to the server address."),
        "/kb/email": ("Mailbox quotas", "Each mailbox holds ten gigabytes before new mail bounces."),
        "/kb/ftp": ("FTP accounts", "Create FTP accounts under Files in the control panel."),
    }
    for path, (title, text) in topics.items():
        site.pages[path] = (html_page(title, text), "text/html")
    site.pages["/sitemap.xml"] = (
        sitemap("http://other-host.example/kb/offsite", *(site.url(p) for p in topics)),
        "application/xml",
    )

    response = await kb.import_url(site.url("/sitemap.xml"), sitemap=True, max_pages=2)
    assert response.status_code == 202 and response.json()["status"] == "queued", response.text
    await kb.drain()
    docs = await kb.docs(source="url")
    # The other host's page is skipped and does not count toward max_pages.
    assert sorted(d["url"] for d in docs) == [site.url("/kb/dns"), site.url("/kb/email")]
    assert {d["status"] for d in docs} == {"ready"}
    assert {d["title"] for d in docs} == {"DNS records", "Mailbox quotas"}
    assert "/kb/ftp" not in site.requested
    top = (await kb.search("how big is a mailbox", k=1))[0]
    assert top["title"] == "Mailbox quotas"


async def test_page_shared_by_two_sitemaps_ends_ready(kb: Kb, site: Site, db: AsyncSession) -> None:
    """A page re-queued by a second crawl while its first ingest is still running is ingested again."""
    site.pages["/kb/shared"] = (html_page("Shared", "Cron jobs run at most every five minutes."), "text/html")
    site.held_paths.add("/kb/shared")
    site.pages["/a.xml"] = (sitemap(site.url("/kb/shared")), "application/xml")
    site.pages["/b.xml"] = (sitemap(site.url("/kb/shared")), "application/xml")

    assert (await kb.import_url(site.url("/a.xml"), sitemap=True)).status_code == 202
    await wait_threading_event(site.held_requested, "the first ingest job fetches the page (held back)")
    assert (await kb.import_url(site.url("/b.xml"), sitemap=True)).status_code == 202
    await wait_for(lambda: revision_is(db, kb, 2), "the second crawl re-queued the page")
    site.release.set()
    await kb.drain()
    [doc] = await kb.docs(source="url")
    assert doc["status"] == "ready", doc
    assert (await kb.search("how often can cron jobs run", k=1))[0]["document_id"] == doc["id"]


async def test_search_by_tag_matches_tags_from_the_file_and_the_form(kb: Kb) -> None:
    faq = b"question,answer,tags\nHow do I pay?,By card or PayPal.,Billing\nIs SSH on?,Always.,Hosting\n"
    faq_id = await kb.upload_ok("faq.csv", faq, "text/csv")
    guide_id = await kb.upload_ok(
        "pay.md", b"# Paying\n\nPay invoices by card in the client area.\n", "text/markdown", tags="Payments"
    )
    await kb.drain()
    billing = await kb.search("how can I pay", k=10, tags=["billing"])
    assert [(r["document_id"], "PayPal" in r["text"]) for r in billing] == [(faq_id, True)]
    assert doc_ids(await kb.search("how can I pay", k=10, tags=["BILLING", "payments"])) != []
    assert set(doc_ids(await kb.search("how can I pay", k=10, tags=["payments"]))) == {guide_id}
    assert await kb.search("how can I pay", k=10, tags=["nonexistent"]) == []


async def test_sitemap_index_is_followed_to_its_pages(kb: Kb, site: Site) -> None:
    for path, (title, text) in {
        "/blog/launch": ("Launch", "We opened our second data centre in Amsterdam."),
        "/docs/ssh": ("SSH access", "Enable SSH access under Security in the control panel."),
        "/docs/cron": ("Cron jobs", "Cron jobs can run every five minutes at most."),
    }.items():
        site.pages[path] = (html_page(title, text), "text/html")
    site.pages["/sitemap-posts.xml"] = (sitemap(site.url("/blog/launch")), "application/xml")
    site.pages["/sitemap-docs.xml"] = (sitemap(site.url("/docs/ssh"), site.url("/docs/cron")), "text/xml")
    site.pages["/sitemap_index.xml"] = (
        sitemap_index(
            site.url("/sitemap-posts.xml"),
            "http://other-host.example/sitemap.xml",
            site.url("/sitemap-docs.xml"),
        ),
        "application/xml",
    )
    response = await kb.import_url(site.url("/sitemap_index.xml"), sitemap=True, max_pages=2)
    assert response.status_code == 202
    await kb.drain()
    docs = await kb.docs(source="url")
    assert sorted(d["url"] for d in docs) == [site.url("/blog/launch"), site.url("/docs/ssh")]
    assert {d["status"] for d in docs} == {"ready"}, docs
    assert doc_ids(await kb.search("how do I enable SSH", k=1)) == [
        next(d["id"] for d in docs if d["url"].endswith("/docs/ssh"))
    ]
