"""Knowledge gaps API: the groups of questions the bot fell short on, and an FAQ entry for one of them."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from answerdesk.auth.deps import DbSession, RuntimeDep, require_scope
from answerdesk.auth.models import Scope
from answerdesk.auth.service import Principal
from answerdesk.gaps.schemas import FaqDraftRead, GapFaqCreate, GapsRead
from answerdesk.gaps.service import DEFAULT_DAYS, MAX_DAYS, GapService
from answerdesk.knowledge.schemas import DocumentAccepted

router = APIRouter(prefix="/analytics/gaps", tags=["knowledge gaps"])
# Gaps are about the knowledge base: the same credentials that may edit it.
KnowledgeAdmin = Annotated[Principal, Depends(require_scope(Scope.knowledge))]
Days = Annotated[int, Query(ge=1, le=MAX_DAYS, description="The window: questions of the last N days")]


@router.get("", response_model=GapsRead)
async def list_gaps(
    principal: KnowledgeAdmin,
    db: DbSession,
    runtime: RuntimeDep,
    days: Days = DEFAULT_DAYS,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> GapsRead:
    """Groups of customer questions the bot refused, handed off or that customers marked unhelpful, grouped
    by meaning; open groups first, most customers first."""
    report = await GapService(runtime).report(db, principal.organization_id, days=days)
    return report.read(limit)


@router.get("/{key}/draft", response_model=FaqDraftRead)
async def draft_faq(
    key: uuid.UUID, principal: KnowledgeAdmin, db: DbSession, runtime: RuntimeDep, days: Days = DEFAULT_DAYS
) -> FaqDraftRead:
    """An FAQ proposal for the group holding question `key`: from a staff reply in those conversations,
    else written by the model (source "llm": a draft to check), else the question alone."""
    service = GapService(runtime)
    group = await service.group(db, principal.organization_id, key, days=days)
    return await service.draft(db, principal.organization_id, group)


@router.post("/faq", response_model=DocumentAccepted, status_code=status.HTTP_202_ACCEPTED)
async def create_gap_faq(
    body: GapFaqCreate, principal: KnowledgeAdmin, db: DbSession, runtime: RuntimeDep
) -> DocumentAccepted:
    """Creates the FAQ entry (ingested in the background) and marks the listed questions answered by it."""
    doc = await GapService(runtime).create_faq(db, principal.organization_id, body, principal.user_id)
    return DocumentAccepted(id=doc.id, status=doc.status)
