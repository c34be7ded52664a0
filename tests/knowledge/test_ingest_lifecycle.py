"""A document's life through the API: re-upload replaces, last one wins, delete removes all, reindex."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.knowledge.models import Chunk, Document
from answerdesk.knowledge.repository import DocumentRepository, IndexStateRepository
from answerdesk.knowledge.service import storage_key
from answerdesk.runtime import Runtime
from tests.knowledge.ingest_support import (
    API,
    Kb,
    Site,
    doc_ids,
    html_page,
    make_kb,
    running_site,
    texts,
    wait_for,
    wait_threading_event,
)

OLD = b"# Backups\n\nBackups run every night at 03:00 and are kept for seven days.\n"
NEW = b"# Backups\n\nBackups now run every hour and are kept for ninety days.\n"


@pytest.fixture
async def kb(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> Kb:
    return await make_kb(client, db, runtime)


async def chunk_ids(db: AsyncSession, **where: object) -> set[int]:
    await db.commit()  # a fresh snapshot on SQLite
    stmt = sa.select(Chunk.id)
    for name, value in where.items():
        stmt = stmt.where(getattr(Chunk, name) == value)
    return set(await db.scalars(stmt))


async def chunk_text(db: AsyncSession, ids: set[int]) -> str:
    return "\n".join(await db.scalars(sa.select(Chunk.text).where(Chunk.id.in_(ids))))


async def index_ids(runtime: Runtime, db: AsyncSession, organization_id: uuid.UUID) -> set[int]:
    """The chunk ids this process's vector index holds for the organization, as a search would use it."""
    await db.commit()
    index = await runtime.retriever.index_for(db, organization_id)
    return {int(i) for i in index.dense.ids()}


async def test_reupload_replaces_the_chunks_of_the_same_document(kb: Kb, db: AsyncSession) -> None:
    doc_id = await kb.upload_ok("backups.md", OLD, "text/markdown")
    await kb.ready(doc_id)
    assert "seven days" in texts(await kb.search("how long are backups kept", k=3))

    assert await kb.upload_ok("backups.md", NEW, "text/markdown", tags="backup") == doc_id
    doc = await kb.ready(doc_id)
    assert doc["tags"] == ["backup"] and doc["size_bytes"] == len(NEW)
    new_chunks = await chunk_ids(db, document_id=uuid.UUID(doc_id))
    assert len(new_chunks) == doc["chunk_count"] == 1
    assert "ninety days" in await chunk_text(db, new_chunks)
    results = await kb.search("how long are backups kept", k=5)
    assert doc_ids(results)[0] == doc_id and "ninety days" in results[0]["text"]
    assert "seven days" not in texts(results)
    assert [d["id"] for d in await kb.docs()] == [doc_id]
    assert await index_ids(kb.runtime, db, kb.organization_id) == new_chunks


async def test_quick_reuploads_end_with_the_last_version(kb: Kb) -> None:
    versions = [f"# Backups\n\nBackups are kept {n} days, says version {n}.\n".encode() for n in (11, 22, 33)]
    ids = {await kb.upload_ok("backups.md", data, "text/markdown") for data in versions}
    assert len(ids) == 1
    doc = await kb.ready(ids.pop())
    assert doc["chunk_count"] == 1
    results = await kb.search("how many days are backups kept", k=5)
    assert "version 33" in texts(results) and "version 11" not in texts(results)
    assert "version 22" not in texts(results)


async def test_a_stale_ingest_job_never_overwrites_a_newer_version(kb: Kb) -> None:
    """The first job fetches v1 and is held; v2 is imported and ingested; v1's job then finishes last."""
    with running_site(Site()) as site:
        site.pages["/plans"] = (html_page("Plans", "The Basic plan has 10 GB of storage."), "text/html")
        site.held_paths.add("/plans")
        first = await kb.import_url(site.url("/plans"))
        doc_id = first.json()["id"]
        await wait_threading_event(site.held_requested, "the first ingest job fetches v1")
        site.pages["/plans"] = (html_page("Plans", "The Basic plan has 50 GB of storage."), "text/html")
        again = await kb.import_url(site.url("/plans"))
        assert again.json()["id"] == doc_id

        async def v2_ready() -> bool:
            return bool((await kb.doc(doc_id))["status"] == "ready")

        await wait_for(v2_ready, "the second job ingests v2 while the first is held")
        site.release.set()
        await kb.drain()
    doc = await kb.doc(doc_id)
    assert doc["status"] == "ready", doc
    results = await kb.search("how much storage does the Basic plan have", k=5)
    assert "50 GB" in texts(results) and "10 GB" not in texts(results)


async def test_delete_removes_original_chunks_and_vectors(kb: Kb, db: AsyncSession) -> None:
    keep_id = await kb.upload_ok(
        "webmail.md", b"# Webmail\n\nWebmail lives at webmail.example.com.\n", "text/markdown"
    )
    doc_id = await kb.upload_ok("backups.md", OLD, "text/markdown")
    await kb.drain()
    key = storage_key(kb.organization_id, uuid.UUID(doc_id), "backups.md")
    assert await kb.runtime.storage.exists(key)
    doomed = await chunk_ids(db, document_id=uuid.UUID(doc_id))
    kept = await chunk_ids(db, document_id=uuid.UUID(keep_id))
    assert doc_ids(await kb.search("backups kept seven days", k=1)) == [doc_id]
    assert await index_ids(kb.runtime, db, kb.organization_id) == doomed | kept

    assert (await kb.delete(doc_id)).status_code == 204
    assert not await kb.runtime.storage.exists(key)
    assert await chunk_ids(db, document_id=uuid.UUID(doc_id)) == set()
    assert doc_id not in doc_ids(await kb.search("backups kept seven days", k=10))
    assert await index_ids(kb.runtime, db, kb.organization_id) == kept
    assert (await kb.client.get(f"{API}/documents/{doc_id}", headers=kb.headers)).status_code == 404
    assert (await kb.delete(doc_id)).status_code == 404
    assert doc_ids(await kb.search("webmail address", k=1)) == [keep_id]


async def test_delete_before_the_ingest_job_runs_leaves_nothing_behind(kb: Kb, db: AsyncSession) -> None:
    doc_id = await kb.upload_ok("backups.md", OLD, "text/markdown")
    assert (await kb.delete(doc_id)).status_code == 204
    await kb.drain()
    assert await chunk_ids(db, organization_id=kb.organization_id) == set()
    assert await kb.search("backups kept seven days") == []
    assert await kb.docs() == []


async def lock_waits(db: AsyncSession) -> int:
    """Sessions of this database waiting for a row lock (PostgreSQL; SQLite has no row locks)."""
    if db.get_bind().dialect.name != "postgresql":
        return 1
    await db.commit()
    return int(
        await db.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        )
        or 0
    )


async def test_delete_while_a_job_finishes_the_same_document_does_not_deadlock(
    kb: Kb, db: AsyncSession, runtime: Runtime
) -> None:
    """The ingest job's last transaction locks the document, then its chunks, then the index state.

    A delete arriving meanwhile must wait for the document without holding anything the job needs next.
    """
    doc_id = await kb.upload_ok("backups.md", OLD, "text/markdown")
    await kb.ready(doc_id)
    org_id, doc_uuid = kb.organization_id, uuid.UUID(doc_id)
    async with runtime.sessionmaker() as job:
        assert await DocumentRepository(job).get(org_id, doc_uuid, for_update=True) is not None
        deleting = asyncio.create_task(kb.delete(doc_id))

        async def delete_waits() -> bool:
            return await lock_waits(db) > 0

        await wait_for(delete_waits, "the delete waits for the job's lock on the document")
        await job.execute(sa.delete(Chunk).where(Chunk.document_id == doc_uuid))
        await IndexStateRepository(job).bump(org_id)
        await job.commit()
    response = await asyncio.wait_for(deleting, 30)
    assert response.status_code == 204, response.text
    assert await chunk_ids(db, document_id=doc_uuid) == set()
    assert await kb.search("backups kept seven days") == []


async def test_reindex_rebuilds_lost_or_damaged_index_files(kb: Kb, db: AsyncSession) -> None:
    doc_id = await kb.upload_ok("backups.md", OLD, "text/markdown")
    await kb.ready(doc_id)
    assert doc_ids(await kb.search("backups kept seven days", k=1)) == [doc_id]
    folder = kb.runtime.settings.data_dir / "indexes" / str(kb.organization_id)
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert files, "the index was not saved"
    for path in files:
        path.write_bytes(b"\x00garbage")
    response = await kb.client.post(f"{API}/reindex", headers=kb.headers)
    assert response.status_code == 202 and response.json() == {"status": "reindexing", "chunks": 1}
    assert doc_ids(await kb.search("backups kept seven days", k=1)) == [doc_id]
    assert {p.read_bytes() for p in folder.rglob("*") if p.is_file()} != {b"\x00garbage"}

    for path in folder.rglob("*"):
        if path.is_file():
            path.unlink()
    assert (await kb.client.post(f"{API}/reindex", headers=kb.headers)).status_code == 202
    assert doc_ids(await kb.search("backups kept seven days", k=1)) == [doc_id]


async def test_organizations_never_see_each_others_documents(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    a = await make_kb(client, db, runtime, "Org A")
    b = await make_kb(client, db, runtime, "Org B")
    a_doc = await a.upload_ok("backups.md", OLD, "text/markdown")
    b_doc = await b.upload_ok("backups.md", NEW, "text/markdown")
    faq = await b.client.post(
        f"{API}/faqs",
        headers=b.headers,
        json={"question": "Is there a secret B discount?", "answer": "Yes, code BEE."},
    )
    b_faq = faq.json()["id"]
    await a.drain()
    assert a_doc != b_doc

    for doc_id in (b_doc, b_faq):
        assert (await a.client.get(f"{API}/documents/{doc_id}", headers=a.headers)).status_code == 404
        missing = await a.delete(doc_id)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        edit = await a.client.put(
            f"{API}/faqs/{doc_id}",
            headers=a.headers,
            json={"question": "Hijacked question?", "answer": "Hijacked."},
        )
        assert edit.status_code == 404
    assert [d["id"] for d in await a.docs()] == [a_doc]
    assert {d["status"] for d in await b.docs()} == {"ready"}
    assert (await b.doc(b_faq))["answer"] == "Yes, code BEE."

    a_results = await a.search("backups kept days discount code", k=50)
    assert set(doc_ids(a_results)) == {a_doc}
    assert "ninety" not in texts(a_results) and "BEE" not in texts(a_results)
    b_results = await b.search("backups kept days", k=50)
    assert set(doc_ids(b_results)) == {b_doc, b_faq}
    # Reindexing A leaves B alone.
    assert (await a.client.post(f"{API}/reindex", headers=a.headers)).json()["chunks"] == 1
    assert set(doc_ids(await b.search("secret discount", k=50))) == {b_doc, b_faq}


async def test_documents_rows_are_scoped(kb: Kb, db: AsyncSession) -> None:
    """Same file name in two organizations: two documents, each re-upload replaces only its own."""
    other = await make_kb(kb.client, db, kb.runtime)
    mine = await kb.upload_ok("backups.md", OLD, "text/markdown")
    theirs = await other.upload_ok("backups.md", OLD, "text/markdown")
    await kb.drain()
    assert mine != theirs
    assert await kb.upload_ok("backups.md", NEW, "text/markdown") == mine
    await kb.drain()
    await db.commit()
    rows = (await db.execute(sa.select(Document.id, Document.organization_id, Document.size_bytes))).all()
    assert sorted((str(i), s) for i, _, s in rows) == sorted([(mine, len(NEW)), (theirs, len(OLD))])
    assert "seven days" in texts(await other.search("how long are backups kept", k=1))
