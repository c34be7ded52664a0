"""Knowledge API end to end: upload, ingest in the background, search, re-upload, delete."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.jobs import InProcessQueue
from answerdesk.runtime import Runtime
from tests.factories import bearer, make_key, make_org

GUIDE = b"""# Email setup

## Incoming mail (IMAP)

Use mail.example.com on port 993 with SSL/TLS. Your username is your full e-mail address.

## Outgoing mail (SMTP)

Use port 465 with SSL/TLS, or 587 with STARTTLS. Authentication is required.
"""


async def drain(runtime: Runtime) -> None:
    assert isinstance(runtime.jobs, InProcessQueue)
    await runtime.jobs.drain(timeout=120)


async def test_upload_ingest_search_delete(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    h = bearer(await make_key(db, org))
    r = await client.post(
        "/api/v1/knowledge/documents",
        headers=h,
        files={"file": ("email-setup.md", GUIDE, "text/markdown")},
        data={"tags": "email, mail"},
    )
    assert r.status_code == 202, r.text
    doc_id = r.json()["id"]
    assert r.json()["status"] == "queued"
    await drain(runtime)
    doc = (await client.get(f"/api/v1/knowledge/documents/{doc_id}", headers=h)).json()
    assert doc["status"] == "ready" and doc["chunk_count"] >= 1 and doc["tags"] == ["email", "mail"], doc
    found = await client.post(
        "/api/v1/knowledge/search", headers=h, json={"query": "which port for SMTP?", "k": 3}
    )
    assert found.status_code == 200
    results = found.json()["results"]
    assert results and results[0]["document_id"] == doc_id
    assert "587" in results[0]["text"] and results[0]["title"] == "Email setup"
    assert (await client.delete(f"/api/v1/knowledge/documents/{doc_id}", headers=h)).status_code == 204
    again = await client.post("/api/v1/knowledge/search", headers=h, json={"query": "SMTP port"})
    assert again.json()["results"] == []
