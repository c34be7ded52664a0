"""JSON API of the knowledge base: documents, FAQ entries, URL imports, search and reindex."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile, status

from answerdesk.auth.deps import CurrentPrincipal, DbSession, RuntimeDep, require_scope
from answerdesk.auth.models import Scope
from answerdesk.auth.service import Principal
from answerdesk.kit.bounds import MAX_TOKEN_CHARS
from answerdesk.kit.errors import Forbidden, ValidationFailed
from answerdesk.knowledge.phrasings import PhrasingService
from answerdesk.knowledge.queueing import queue_crawl, queue_ingest
from answerdesk.knowledge.schemas import (
    DocumentAccepted,
    DocumentRead,
    FaqCreate,
    FaqUpdate,
    PhrasingRead,
    SearchRequest,
    SearchResponse,
    SearchResult,
    UrlImport,
    parse_tags,
)
from answerdesk.knowledge.service import KnowledgeService

router = APIRouter(prefix="/knowledge", tags=["knowledge"])
KnowledgeAdmin = Annotated[Principal, Depends(require_scope(Scope.knowledge))]


@router.post("/documents", response_model=DocumentAccepted, status_code=status.HTTP_202_ACCEPTED)
async def upload_document(
    principal: KnowledgeAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    file: Annotated[UploadFile, File()],
    title: Annotated[str | None, Form(max_length=300)] = None,
    tags: Annotated[str | None, Form(max_length=1000)] = None,
) -> DocumentAccepted:
    try:
        tag_list = parse_tags(tags)
    except ValueError as exc:
        raise ValidationFailed(f"tags: {exc}", details=[{"loc": ["body", "tags"], "msg": str(exc)}]) from None
    data = await file.read()
    doc = await KnowledgeService.of(db, runtime).upload(
        principal.organization_id,
        filename=file.filename or "upload",
        data=data,
        content_type=file.content_type,
        title=title,
        tags=tag_list,
    )
    queue_ingest(db, runtime, doc)
    return DocumentAccepted(id=doc.id, status=doc.status)


@router.post("/faqs", response_model=DocumentAccepted, status_code=status.HTTP_202_ACCEPTED)
async def create_faq(
    body: FaqCreate, principal: KnowledgeAdmin, db: DbSession, runtime: RuntimeDep
) -> DocumentAccepted:
    doc = await PhrasingService(db, runtime).save_faq(principal.organization_id, body)
    queue_ingest(db, runtime, doc)
    return DocumentAccepted(id=doc.id, status=doc.status)


@router.put("/faqs/{document_id}", response_model=DocumentAccepted, status_code=status.HTTP_202_ACCEPTED)
async def update_faq(
    document_id: uuid.UUID, body: FaqUpdate, principal: KnowledgeAdmin, db: DbSession, runtime: RuntimeDep
) -> DocumentAccepted:
    doc = await PhrasingService(db, runtime).save_faq(principal.organization_id, body, document_id)
    queue_ingest(db, runtime, doc)
    return DocumentAccepted(id=doc.id, status=doc.status)


@router.get("/documents/{document_id}/phrasings", response_model=list[PhrasingRead])
async def list_phrasings(
    document_id: uuid.UUID, principal: KnowledgeAdmin, db: DbSession, runtime: RuntimeDep
) -> list[PhrasingRead]:
    """Other ways customers ask the FAQ questions of a document (an FAQ entry or an FAQ file)."""
    rows = await PhrasingService(db, runtime).for_document(principal.organization_id, document_id)
    return [PhrasingRead.model_validate(r) for r in rows]


@router.delete("/documents/{document_id}/phrasings/{phrasing_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_phrasing(
    document_id: uuid.UUID,
    phrasing_id: uuid.UUID,
    principal: KnowledgeAdmin,
    db: DbSession,
    runtime: RuntimeDep,
) -> None:
    """Forgets one phrasing; the document is re-ingested without it."""
    await PhrasingService(db, runtime).remove(principal.organization_id, document_id, phrasing_id)


@router.post("/urls", status_code=status.HTTP_202_ACCEPTED)
async def import_url(
    body: UrlImport, principal: KnowledgeAdmin, db: DbSession, runtime: RuntimeDep
) -> dict[str, object]:
    """A single page becomes a document now; a sitemap is read in the background, page by page."""
    url = str(body.url)
    if body.sitemap:
        queue_crawl(db, runtime, principal.organization_id, url, max_pages=body.max_pages, tags=body.tags)
        return {"status": "queued", "sitemap": url}
    doc = await KnowledgeService.of(db, runtime).add_url(principal.organization_id, url, tags=body.tags)
    queue_ingest(db, runtime, doc)
    return {"id": str(doc.id), "status": doc.status}


@router.get("/documents", response_model=list[DocumentRead])
async def list_documents(
    principal: KnowledgeAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    source: Annotated[str | None, Query(pattern="^(file|url|faq)$")] = None,
    status_filter: Annotated[
        str | None, Query(alias="status", pattern="^(queued|processing|ready|failed)$")
    ] = None,
    tag: Annotated[str | None, Query(max_length=MAX_TOKEN_CHARS)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
) -> list[DocumentRead]:
    docs = await KnowledgeService.of(db, runtime).list(
        principal.organization_id, source=source, status=status_filter, tag=tag, query=q
    )
    return [DocumentRead.model_validate(d) for d in docs]


@router.get("/documents/{document_id}", response_model=DocumentRead)
async def get_document(
    document_id: uuid.UUID, principal: KnowledgeAdmin, db: DbSession, runtime: RuntimeDep
) -> DocumentRead:
    return DocumentRead.model_validate(
        await KnowledgeService.of(db, runtime).get(principal.organization_id, document_id)
    )


@router.delete("/documents/{document_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_document(
    document_id: uuid.UUID, principal: KnowledgeAdmin, db: DbSession, runtime: RuntimeDep
) -> None:
    await KnowledgeService.of(db, runtime).delete(principal.organization_id, document_id)


@router.post("/reindex", status_code=status.HTTP_202_ACCEPTED)
async def reindex(principal: KnowledgeAdmin, db: DbSession, runtime: RuntimeDep) -> dict[str, object]:
    chunks = await KnowledgeService.of(db, runtime).request_reindex(principal.organization_id)
    runtime.retriever.forget(principal.organization_id)
    return {"status": "reindexing", "chunks": chunks}


@router.post("/search", response_model=SearchResponse)
async def search(
    body: SearchRequest, principal: CurrentPrincipal, db: DbSession, runtime: RuntimeDep
) -> SearchResponse:
    # Staff (who answer tickets) may search; public widget keys may not read the knowledge base raw.
    if principal.kind != "user" and not (principal.can(Scope.knowledge) or principal.can(Scope.tickets)):
        raise Forbidden("This credential may not search the knowledge base.", code="insufficient_scope")
    found = await runtime.retriever.search(
        db, principal.organization_id, body.query, k=body.k, tags=body.tags
    )
    return SearchResponse(
        results=[
            SearchResult(
                chunk_id=r.hit.chunk_id,
                document_id=r.hit.document_id,
                title=r.hit.title,
                source=r.hit.source,
                section=r.hit.section,
                text=r.hit.text,
                score=round(r.score, 6),
            )
            for r in found
        ]
    )
