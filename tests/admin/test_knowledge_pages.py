"""Knowledge page over HTTP: per-file upload results, FAQ and URL forms, roles, tenants, live list, search."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.admin.routes.knowledge import (
    DocumentFilters,
    highlight,
    human_size,
    short_url,
    snippet,
    time_ago,
)
from answerdesk.auth.models import Role
from answerdesk.kit.db import session_scope
from answerdesk.kit.jobs import InProcessQueue
from answerdesk.knowledge.models import Chunk, Document, DocumentStatus, PhrasingSource
from answerdesk.knowledge.phrasings import PhrasingService
from answerdesk.knowledge.service import KnowledgeService
from answerdesk.knowledge.tasks import run_ingest
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from tests.factories import LoggedIn, logged_in, make_member, make_org
from tests.live import serve

GUIDE = b"""# Email setup

## Incoming mail (IMAP)

Use mail.example.com on port 993 with SSL/TLS. Your username is your full e-mail address.

## Outgoing mail (SMTP)

Use port 465 with SSL/TLS, or 587 with STARTTLS. Authentication is required.
"""
HX = {"HX-Request": "true"}


async def drain(runtime: Runtime) -> None:
    assert isinstance(runtime.jobs, InProcessQueue)
    await runtime.jobs.drain(timeout=120)


async def admin_of(
    client: httpx.AsyncClient, db: AsyncSession, name: str = "Hosting Co"
) -> tuple[Organization, LoggedIn]:
    org = await make_org(db, name)
    m = await make_member(db, org, Role.admin)
    return org, await logged_in(client, m.user.email)


async def add_faq(
    db: AsyncSession, runtime: Runtime, org: Organization, question: str, answer: str, **fields: object
) -> Document:
    """A document the app sees but no job processes: its status is whatever the test sets."""
    svc = KnowledgeService.of(db, runtime)
    doc = await svc.create_faq(org.id, question, answer, ["billing"])
    for name, value in fields.items():
        setattr(doc, name, value)
    await db.commit()
    return doc


async def documents_of(runtime: Runtime, org: Organization) -> list[Document]:
    """What is stored now, read in a session of its own (the arranging session may hold stale rows)."""
    async with runtime.sessionmaker() as fresh:
        svc = KnowledgeService.of(fresh, runtime)
        return list(await svc.list(org.id))


def outcomes(html: str) -> list[str]:
    items = re.findall(r'<li class="(ok|bad)" data-testid="upload-outcome">(.*?)</li>', html, re.S)
    return [f"{kind}: {' '.join(re.sub(r'<[^>]+>', ' ', body).split())}" for kind, body in items]


async def test_multi_file_upload_reports_each_file_and_keeps_the_good_one(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, admin = await admin_of(client, db)
    files = [
        ("files", ("email-setup.md", GUIDE, "text/markdown")),
        ("files", ("installer.exe", b"MZ\x90\x00binary", "application/octet-stream")),
        ("files", ("notes.txt", b"", "text/plain")),
    ]
    r = await client.post(
        "/admin/knowledge/upload", files=files, data={"tags": "Email, mail", "csrf_token": admin.csrf}
    )
    assert r.status_code == 200, r.text
    results = outcomes(r.text)
    assert len(results) == 3, results
    assert results[0] == "ok: ✓ email-setup.md accepted: Queued for processing"
    assert results[1].startswith("bad: ✕ installer.exe rejected: Unsupported file type .exe")
    assert results[2] == "bad: ✕ notes.txt rejected: notes.txt is empty."
    assert "1 of 3 files accepted." in r.text
    assert "<h1>Knowledge</h1>" in r.text and 'data-status="queued"' in r.text and "every 1s" in r.text

    await drain(runtime)
    docs = await documents_of(runtime, org)
    assert [(d.filename, d.status, d.tags) for d in docs] == [("email-setup.md", "ready", ["email", "mail"])]
    page = await client.get("/admin/knowledge")
    row = re.search(r'<tr id="doc-[^"]+" data-status="ready">(.*?)</tr>', page.text, re.S)
    assert row and "Email setup" in row.group(1) and re.search(r"\b1 chunk\b|\b\d+ chunks\b", row.group(1))
    assert "every 1s" not in page.text  # nothing pending: the list stops polling


async def test_htmx_upload_answers_with_the_card_and_refreshes_the_list(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, admin = await admin_of(client, db)
    r = await client.post(
        "/admin/knowledge/upload",
        headers={**HX, **admin.headers()},
        data={"title": "Mail guide", "tags": "x"},
        files=[("files", ("a.md", GUIDE, "text/markdown")), ("files", ("b.md", GUIDE, "text/markdown"))],
    )
    assert r.status_code == 200
    assert r.text.lstrip().startswith('<section id="upload-card"') and "<html" not in r.text
    assert r.headers["HX-Trigger"] == "knowledge-changed"
    assert len([o for o in outcomes(r.text) if o.startswith("ok")]) == 2
    assert 'name="title" maxlength="300" value=""' in r.text  # all accepted: the form starts afresh
    await drain(runtime)
    assert {(d.title, d.status) for d in await documents_of(runtime, org)} == {("Mail guide", "ready")}

    # What a browser sends when no file was chosen: an empty part with filename="".
    boundary = "kb-boundary"
    body = (
        "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{extra}\r\n\r\n{value}\r\n'
            for name, extra, value in [
                ("title", "", "Kept"),
                ("tags", "", "a b"),
                ("files", '; filename=""\r\nContent-Type: application/octet-stream', ""),
            ]
        )
        + f"--{boundary}--\r\n"
    )
    nothing = await client.post(
        "/admin/knowledge/upload",
        content=body.encode(),
        headers={**HX, **admin.headers(), "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert nothing.status_code == 200 and "HX-Trigger" not in nothing.headers
    assert "Choose at least one file to upload." in nothing.text
    assert 'value="Kept"' in nothing.text and 'value="a b"' in nothing.text
    bad_tags = await client.post(
        "/admin/knowledge/upload",
        data={"tags": "x" * 60, "csrf_token": admin.csrf},
        files=[("files", ("c.md", GUIDE, "text/markdown"))],
    )
    assert bad_tags.status_code == 422 and "longer than 50 characters" in bad_tags.text
    assert len(await documents_of(runtime, org)) == 2


async def test_staff_sees_the_list_but_no_management(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    await make_member(db, org, Role.admin)
    await make_member(db, org, Role.staff, email="kb-staff@example.com")
    doc = await add_faq(
        db,
        runtime,
        org,
        "How do I pay by bank transfer?",
        "Use the IBAN on your invoice.",
        status=DocumentStatus.ready,
    )
    staff = await logged_in(client, "kb-staff@example.com")
    page = await client.get("/admin/knowledge")
    assert page.status_code == 200 and "How do I pay by bank transfer?" in page.text
    assert "Test a question" in page.text
    for control in (
        "Upload files",
        "Reindex all",
        "Add an FAQ entry",
        "Import from the web",
        "/delete",
        "/edit",
    ):
        assert control not in page.text, control
    attempts = [
        ("/admin/knowledge/upload", {}, [("files", ("a.md", GUIDE, "text/markdown"))]),
        ("/admin/knowledge/faqs", {"question": "Why?", "answer": "Because."}, None),
        ("/admin/knowledge/urls", {"url": "https://example.com/"}, None),
        (f"/admin/knowledge/documents/{doc.id}/delete", {}, None),
        (f"/admin/knowledge/faqs/{doc.id}", {"question": "Changed?", "answer": "Yes."}, None),
        ("/admin/knowledge/reindex", {}, None),
    ]
    for path, data, files in attempts:
        r = await client.post(path, data={**data, "csrf_token": staff.csrf}, files=files)
        assert r.status_code == 403, path
        assert "Only organization admins" in r.text
    assert (await client.get(f"/admin/knowledge/faqs/{doc.id}/edit")).status_code == 403
    assert [d.title for d in await documents_of(runtime, org)] == ["How do I pay by bank transfer?"]


async def test_faq_create_edit_and_errors_keep_the_input(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, admin = await admin_of(client, db)
    short = await client.post(
        "/admin/knowledge/faqs",
        data={"question": "Hi", "answer": "Typed answer stays", "tags": "keep", "csrf_token": admin.csrf},
    )
    assert short.status_code == 422
    assert "Question should have at least 3 characters." in short.text
    assert "Typed answer stays</textarea>" in short.text and 'value="keep"' in short.text
    assert '<details class="panel" open>' in short.text

    created = await client.post(
        "/admin/knowledge/faqs",
        data={
            "question": "Can I upgrade my VPS plan?",
            "answer": "Yes, upgrades apply within five minutes.",
            "tags": "vps, plans",
            "csrf_token": admin.csrf,
        },
    )
    assert created.status_code == 303 and created.headers["location"] == "/admin/knowledge"
    await drain(runtime)
    [doc] = await documents_of(runtime, org)
    assert (doc.status, doc.tags, doc.revision) == ("ready", ["vps", "plans"], 1)
    assert "FAQ entry added" in (await client.get("/admin/knowledge")).text

    edit = await client.get(f"/admin/knowledge/faqs/{doc.id}/edit")
    assert edit.status_code == 200 and "<h1>Edit FAQ entry</h1>" in edit.text
    assert 'value="Can I upgrade my VPS plan?"' in edit.text and "vps, plans" in edit.text
    bad = await client.post(
        f"/admin/knowledge/faqs/{doc.id}",
        data={"question": "Can I downgrade my VPS plan?", "answer": "", "tags": "", "csrf_token": admin.csrf},
    )
    assert bad.status_code == 422 and "Answer should have at least 1 character." in bad.text
    assert 'value="Can I downgrade my VPS plan?"' in bad.text
    saved = await client.post(
        f"/admin/knowledge/faqs/{doc.id}",
        data={
            "question": "Can I downgrade my VPS plan?",
            "answer": "Downgrades happen at the next renewal date.",
            "tags": "vps",
            "csrf_token": admin.csrf,
        },
    )
    assert saved.status_code == 303
    await drain(runtime)
    [doc] = await documents_of(runtime, org)
    assert (doc.title, doc.answer, doc.tags, doc.status, doc.revision) == (
        "Can I downgrade my VPS plan?",
        "Downgrades happen at the next renewal date.",
        ["vps"],
        "ready",
        2,
    )
    found = await client.get(
        "/admin/knowledge/search", params={"question": "when does a downgrade happen"}, headers=HX
    )
    assert "next renewal date" in found.text


async def test_faq_phrasings_typed_learned_and_removed(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, admin = await admin_of(client, db)
    form = {
        "question": "Can I upgrade my VPS plan?",
        "answer": "Yes, within five minutes.",
        "csrf_token": admin.csrf,
    }
    too_long = await client.post("/admin/knowledge/faqs", data={**form, "phrasings": "ok line\n" + "x" * 501})
    assert too_long.status_code == 422 and "Other ways to ask" in too_long.text
    assert "ok line" in too_long.text  # the typed input is kept
    created = await client.post(
        "/admin/knowledge/faqs", data={**form, "phrasings": "more power for my server\n\n bigger VPS please "}
    )
    assert created.status_code == 303
    await drain(runtime)
    [doc] = await documents_of(runtime, org)
    async with session_scope(runtime.sessionmaker) as session:
        chunk_id = await session.scalar(sa.select(Chunk.id).where(Chunk.document_id == doc.id))
        assert chunk_id is not None
        [learned] = await PhrasingService(session, runtime).add(
            org.id, chunk_id, ["how do I move to a larger server"], source=PhrasingSource.learned
        )
    await drain(runtime)

    edit = await client.get(f"/admin/knowledge/faqs/{doc.id}/edit")
    assert edit.status_code == 200
    assert ">more power for my server\nbigger VPS please</textarea>" in edit.text
    assert "Learned from customers" in edit.text and "how do I move to a larger server" in edit.text
    removed = await client.post(
        f"/admin/knowledge/documents/{doc.id}/phrasings/{learned.id}/delete",
        data={"csrf_token": admin.csrf, "back": "edit"},
    )
    assert removed.status_code == 303 and removed.headers["location"].endswith(f"/faqs/{doc.id}/edit")
    await drain(runtime)
    after = await client.get(f"/admin/knowledge/faqs/{doc.id}/edit")
    assert "how do I move to a larger server" not in after.text and "Nothing yet." in after.text
    assert "bigger VPS please" in after.text


async def test_an_faq_files_phrasings_are_listed_by_question_and_removable(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, admin = await admin_of(client, db)
    faq_file = (
        b'[{"q": "Can I upgrade my VPS plan?", "a": "Yes."}, {"q": "Do you sell domains?", "a": "Yes."}]'
    )
    async with session_scope(runtime.sessionmaker) as session:
        doc = await KnowledgeService.of(session, runtime).upload(org.id, filename="faq.json", data=faq_file)
    await run_ingest(runtime, org.id, doc.id)
    assert 'id="phrasings-' not in (await client.get("/admin/knowledge")).text  # none yet: no button
    async with session_scope(runtime.sessionmaker) as session:
        chunk_id = await session.scalar(
            sa.select(Chunk.id).where(Chunk.document_id == doc.id, Chunk.text.like("Q: Do you sell%"))
        )
        assert chunk_id is not None
        [learned] = await PhrasingService(session, runtime).add(
            org.id, chunk_id, ["can I register a .com domain with you"], source=PhrasingSource.learned
        )
    await drain(runtime)
    listing = await client.get("/admin/knowledge")
    assert (
        f'href="/admin/knowledge/documents/{doc.id}/phrasings"' in listing.text
        and "Phrasings (1)" in listing.text
    )
    page = await client.get(f"/admin/knowledge/documents/{doc.id}/phrasings")
    assert page.status_code == 200
    assert "Do you sell domains?" in page.text and "can I register a .com domain with you" in page.text
    assert "Can I upgrade my VPS plan?" not in page.text  # questions without phrasings are not listed
    removed = await client.post(
        f"/admin/knowledge/documents/{doc.id}/phrasings/{learned.id}/delete", data={"csrf_token": admin.csrf}
    )
    assert removed.status_code == 303
    assert removed.headers["location"].endswith(f"/documents/{doc.id}/phrasings")
    await drain(runtime)
    assert "No phrasings yet." in (await client.get(f"/admin/knowledge/documents/{doc.id}/phrasings")).text
    [after] = await documents_of(runtime, org)
    assert after.status == "ready"


async def test_delete_removes_the_row(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> None:
    org, admin = await admin_of(client, db)
    keep = await add_faq(db, runtime, org, "Where is my invoice?", "Under Billing.", status="ready")
    gone = await add_faq(db, runtime, org, "Do you sell domains?", "Yes, over 300 endings.", status="ready")
    page = await client.get("/admin/knowledge")
    assert f'id="doc-{gone.id}"' in page.text and f"/admin/knowledge/documents/{gone.id}/delete" in page.text
    r = await client.post(f"/admin/knowledge/documents/{gone.id}/delete", data={"csrf_token": admin.csrf})
    assert r.status_code == 303
    page = await client.get("/admin/knowledge")
    assert "Deleted “Do you sell domains?”" in page.text
    assert f'id="doc-{gone.id}"' not in page.text and f'id="doc-{keep.id}"' in page.text
    assert [d.id for d in await documents_of(runtime, org)] == [keep.id]
    again = await client.post(f"/admin/knowledge/documents/{gone.id}/delete", data={"csrf_token": admin.csrf})
    assert again.status_code == 404 and "Document not found." in again.text


async def test_another_organizations_document_is_not_found(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    _, admin = await admin_of(client, db, "Org A")
    other = await make_org(db, "Org B")
    theirs = await add_faq(db, runtime, other, "Org B secret question?", "Org B answer.", status="ready")
    page = await client.get("/admin/knowledge")
    assert "Org B secret question?" not in page.text and "No knowledge yet" in page.text
    for method, path, data in [
        ("POST", f"/admin/knowledge/documents/{theirs.id}/delete", {}),
        ("GET", f"/admin/knowledge/faqs/{theirs.id}/edit", None),
        ("POST", f"/admin/knowledge/faqs/{theirs.id}", {"question": "Hijacked?", "answer": "Yes."}),
        ("POST", f"/admin/knowledge/documents/{uuid.uuid4()}/delete", {}),
    ]:
        kwargs = {"data": {**data, "csrf_token": admin.csrf}} if data is not None else {}
        r = await client.request(method, path, **kwargs)  # type: ignore[arg-type]
        assert r.status_code == 404, path
        assert "Document not found." in r.text
    [doc] = await documents_of(runtime, other)
    assert (doc.title, doc.status) == ("Org B secret question?", "ready")


async def test_polling_partial_shows_progress_and_stops_when_settled(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, _ = await admin_of(client, db)
    busy = await add_faq(
        db, runtime, org, "How do I point my domain?", "Set the A record.", status="processing", progress=40
    )
    broken = await add_faq(
        db, runtime, org, "Broken entry?", "x", status="failed", error="The file contains no text"
    )
    r = await client.get("/admin/knowledge/documents", headers=HX)
    assert r.status_code == 200 and "<html" not in r.text
    assert r.text.startswith('<div id="documents"')
    assert 'hx-trigger="knowledge-changed from:body, every 1s"' in r.text
    assert re.search(
        rf'id="doc-{busy.id}" data-status="processing">.*?<progress value="40" max="100"'
        r".*?>40%</span>",
        r.text,
        re.S,
    )
    assert re.search(rf'id="doc-{broken.id}" data-status="failed">.*?The file contains no text', r.text, re.S)
    assert '<dl id="kb-stats" class="kb-stats" hx-swap-oob="true">' in r.text
    assert "Processing 1 document." in r.text

    busy.status, busy.progress, busy.chunk_count = "ready", 100, 3
    await db.commit()
    settled = await client.get("/admin/knowledge/documents", headers=HX)
    assert "every 1s" not in settled.text and 'hx-trigger="knowledge-changed from:body"' in settled.text
    assert re.search(rf'id="doc-{busy.id}" data-status="ready">.*?3 chunks', settled.text, re.S)
    stats = re.search(r'<dl id="kb-stats".*?</dl>', settled.text, re.S)
    assert stats and re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", stats.group(0))).split() == [
        "Documents",
        "2",
        "Ready",
        "1",
        "Processing",
        "0",
        "Failed",
        "1",
        "Chunks",
        "0",
    ]
    # Outside htmx the same address is a whole page, so it also works as a link.
    full = await client.get("/admin/knowledge/documents")
    assert "<h1>Knowledge</h1>" in full.text


async def test_filters_narrow_the_list_and_keep_the_url(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, admin = await admin_of(client, db)
    await add_faq(db, runtime, org, "Refund policy?", "30 days.", status="ready", tags=["billing"])
    await add_faq(db, runtime, org, "Nameserver names?", "ns1 and ns2.", status="failed", tags=["dns"])
    await client.post(
        "/admin/knowledge/upload",
        data={"csrf_token": admin.csrf, "tags": "mail"},
        files=[("files", ("email-setup.md", GUIDE, "text/markdown"))],
    )

    async def titles(**params: str) -> list[str]:
        r = await client.get(
            "/admin/knowledge/documents", params=params, headers={**HX, "HX-Trigger": "kb-filters"}
        )
        return re.findall(r'<td data-label="Title" class="kb-title"><strong>(.*?)</strong>', r.text)

    assert sorted(await titles()) == ["Email setup", "Nameserver names?", "Refund policy?"]
    assert await titles(source="faq", status="failed") == ["Nameserver names?"]
    assert await titles(tag="billing") == ["Refund policy?"]
    assert await titles(q="EMAIL") == ["Email setup"]
    assert await titles(source="bogus") != []  # a stale value is ignored, not an error
    r = await client.get(
        "/admin/knowledge/documents",
        params={"tag": "dns", "q": ""},
        headers={**HX, "HX-Trigger": "kb-filters"},
    )
    assert r.headers["HX-Push-Url"] == "/admin/knowledge?tag=dns"
    assert 'hx-get="/admin/knowledge/documents?tag=dns"' in r.text
    none = await client.get("/admin/knowledge/documents", params={"q": "nothing like this"}, headers=HX)
    assert "No documents match these filters." in none.text
    page = await client.get("/admin/knowledge", params={"tag": "dns"})
    assert '<option value="dns" selected>' in page.text and '<option value="billing" >' in page.text
    await drain(runtime)


async def test_search_box_shows_passages_with_scores(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    _, admin = await admin_of(client, db)
    empty = await client.get("/admin/knowledge/search", params={"question": "smtp"}, headers=HX)
    assert "Nothing found for “smtp”" in empty.text
    await client.post(
        "/admin/knowledge/upload",
        data={"csrf_token": admin.csrf},
        files=[("files", ("email-setup.md", GUIDE, "text/markdown"))],
    )
    await drain(runtime)
    r = await client.get("/admin/knowledge/search", params={"question": "Which port for SMTP?"}, headers=HX)
    assert r.status_code == 200 and "<html" not in r.text
    first = re.search(r'<li class="kb-hit" data-score="([0-9.]+)">(.*?)</li>', r.text, re.S)
    assert first, r.text
    assert float(first.group(1)) > 0
    hit = first.group(2)
    assert "<strong>Email setup</strong>" in hit and "Outgoing mail" in hit and "587" in hit
    assert "\u203a" not in hit  # no section marker: the section only repeats the title here
    assert "<mark>SMTP</mark>" in hit and re.search(r"score 0\.\d\d", hit) and "email-setup.md" in hit
    full = await client.get("/admin/knowledge/search", params={"question": "IMAP port"})
    assert "<h1>Knowledge</h1>" in full.text and "993" in full.text and 'value="IMAP port"' in full.text
    blank = await client.get("/admin/knowledge/search", params={"question": "  "}, headers=HX)
    assert "Type a question" in blank.text


async def test_reindex_rebuilds_and_search_still_answers(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    _, admin = await admin_of(client, db)
    await client.post(
        "/admin/knowledge/upload",
        data={"csrf_token": admin.csrf},
        files=[("files", ("email-setup.md", GUIDE, "text/markdown"))],
    )
    await drain(runtime)
    r = await client.post("/admin/knowledge/reindex", data={"csrf_token": admin.csrf})
    assert r.status_code == 303
    page = await client.get("/admin/knowledge")
    chunks = re.search(r"Rebuilding the search index from (\d+) chunks", page.text)
    assert chunks and int(chunks.group(1)) >= 1
    found = await client.get("/admin/knowledge/search", params={"question": "IMAP port"}, headers=HX)
    assert "993" in found.text


def site() -> FastAPI:
    """A tiny help center on 127.0.0.1: one page per topic and a sitemap listing them."""
    pages = {
        "/billing": "<html><head><title>Billing help</title></head><body><h1>Billing</h1>"
        "<p>Invoices are sent on the first day of each month by e-mail.</p></body></html>",
        "/dns": "<html><head><title>DNS help</title></head><body><h1>DNS</h1>"
        "<p>Point your domain at ns1.example.net and ns2.example.net.</p></body></html>",
    }
    app = FastAPI()

    @app.get("/sitemap.xml")
    async def sitemap(request: Request) -> Response:
        base = str(request.base_url).rstrip("/")
        urls = "".join(f"<url><loc>{base}{p}</loc></url>" for p in pages)
        return Response(
            f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>',
            media_type="application/xml",
        )

    @app.get("/{name}")
    async def page(name: str) -> Response:
        if f"/{name}" not in pages:
            return PlainTextResponse("missing", status_code=404)
        return Response(pages[f"/{name}"], media_type="text/html")

    return app


async def test_url_and_sitemap_import(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> None:
    org, admin = await admin_of(client, db)
    bad = await client.post(
        "/admin/knowledge/urls",
        data={"url": "not a web address", "max_pages": "5", "tags": "help", "csrf_token": admin.csrf},
    )
    assert bad.status_code == 422 and "Enter a full web address" in bad.text
    assert 'value="not a web address"' in bad.text and 'value="help"' in bad.text
    too_many = await client.post(
        "/admin/knowledge/urls",
        data={
            "url": "https://example.com/sitemap.xml",
            "sitemap": "true",
            "max_pages": "9999",
            "csrf_token": admin.csrf,
        },
    )
    assert too_many.status_code == 422 and "Max pages should be less than or equal to 500." in too_many.text
    assert "checked" in too_many.text.split('id="url-sitemap"')[1].split(">")[0]

    with serve(site()) as base:
        single = await client.post(
            "/admin/knowledge/urls",
            data={"url": f"{base}/billing", "tags": "billing", "csrf_token": admin.csrf},
        )
        assert single.status_code == 303 and single.headers["location"] == "/admin/knowledge"
        await drain(runtime)
        [doc] = await documents_of(runtime, org)
        assert (doc.source, doc.url, doc.status, doc.title) == ("url", f"{base}/billing", "ready", "Billing")

        crawl = await client.post(
            "/admin/knowledge/urls",
            data={
                "url": f"{base}/sitemap.xml",
                "sitemap": "true",
                "max_pages": "10",
                "tags": "help",
                "csrf_token": admin.csrf,
            },
        )
        assert crawl.status_code == 303
        watching = crawl.headers["location"]
        assert watching.startswith("/admin/knowledge?watch=")
        # Until the sitemap's pages exist as documents, the list keeps asking (for a minute at most).
        page = await client.get(watching)
        assert "Reading the sitemap" in page.text and "every 1s" in page.text
        await drain(runtime)
        await drain(runtime)  # the crawl job queues one ingest job per page
        docs = {d.url: d for d in await documents_of(runtime, org)}
        assert set(docs) == {f"{base}/billing", f"{base}/dns"}
        assert all(d.status == "ready" and d.tags == ["help"] for d in docs.values())
    found = await client.get("/admin/knowledge/search", params={"question": "nameservers"}, headers=HX)
    assert "ns1.example.net" in found.text


def test_view_helpers() -> None:
    now = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert time_ago(now - timedelta(seconds=30), now) == "just now"
    naive = (now - timedelta(minutes=5)).replace(tzinfo=None)  # as SQLite returns it
    assert time_ago(naive, now) == "5 min ago"
    assert time_ago(now - timedelta(hours=26), now) == "yesterday"
    assert time_ago(now - timedelta(days=40), now) == "12 Oct 2026"
    sizes = [human_size(n) for n in (512, 20_000, 25 * 1_048_576, 1_600_000)]
    assert sizes == ["512 B", "20 KB", "25 MB", "1.5 MB"]
    assert short_url("https://www.example.com/help/") == "example.com/help"
    assert short_url("https://help.example.com/" + "a/" * 40 + "last-page") == "help.example.com/…/last-page"
    marked = highlight("Use port <587> for SMTP; smtps is port 465.", "Which port do I use for SMTP?")
    assert str(marked) == (
        "Use <mark>port</mark> &lt;587&gt; for <mark>SMTP</mark>; smtps is <mark>port</mark> 465."
    )
    assert snippet("word " * 100, limit=30) == "word word word word word word…"
    f = DocumentFilters.parse({"source": "faq", "status": "nope", "tag": " DNS ", "q": "  "})
    assert f == DocumentFilters(source="faq", tag="dns") and f.query_string() == "source=faq&tag=dns"
    assert not DocumentFilters.parse({}).active
