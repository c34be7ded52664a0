"""JSON API: the ticket review queue (/tickets) and the WHMCS connection (/whmcs); scope "tickets"."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from answerdesk.auth.deps import DbSession, RuntimeDep, require_scope
from answerdesk.auth.models import Scope
from answerdesk.auth.service import Principal
from answerdesk.kit.errors import Forbidden
from answerdesk.tickets.connections import (
    ConnectionService,
    check_read,
    connection_read,
    record_test,
    run_test,
)
from answerdesk.tickets.drafting import draft_reply
from answerdesk.tickets.repository import TicketFilter
from answerdesk.tickets.schemas import (
    ApproveRequest,
    ConnectionTestRead,
    ConnectResult,
    DraftRead,
    DraftRequest,
    FaqSaved,
    RejectRequest,
    ReplyRequest,
    TicketCreate,
    TicketDetail,
    TicketMessageRead,
    TicketPage,
    TicketRead,
    TicketStats,
    TicketUpdate,
    WhmcsConnectionRead,
    WhmcsConnectionUpdate,
)
from answerdesk.tickets.sending import reject
from answerdesk.tickets.service import (
    TicketService,
    approve_and_send,
    approver_for,
    queue_sync,
    ticket_read,
)

router = APIRouter(prefix="/tickets", tags=["tickets"])
whmcs_router = APIRouter(prefix="/whmcs", tags=["whmcs"])
TicketsUser = Annotated[Principal, Depends(require_scope(Scope.tickets))]


@router.get("", response_model=TicketPage)
async def list_tickets(
    principal: TicketsUser,
    db: DbSession,
    runtime: RuntimeDep,
    status_: Annotated[str | None, Query(alias="status", max_length=64)] = None,
    department: Annotated[str | None, Query(max_length=200)] = None,
    category: Annotated[str | None, Query(max_length=100)] = None,
    priority: Annotated[str | None, Query(max_length=16)] = None,
    assignee: uuid.UUID | None = None,
    source: Annotated[str | None, Query(pattern="^(whmcs|native)$")] = None,
    search: Annotated[str | None, Query(max_length=200)] = None,
    awaiting: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> TicketPage:
    """The review queue, most urgent first: priority, frustration, then the longest wait."""
    where = TicketFilter(status_, department, category, priority, assignee, source, search, awaiting)
    return await TicketService(db, runtime).queue(
        principal.organization_id, where, limit=limit, offset=offset
    )


@router.post("", response_model=TicketRead, status_code=status.HTTP_201_CREATED)
async def create_ticket(
    body: TicketCreate, principal: TicketsUser, db: DbSession, runtime: RuntimeDep
) -> TicketRead:
    """A native ticket (no WHMCS); a draft reply is prepared in the background."""
    ticket = await TicketService(db, runtime).create_native(principal.organization_id, body)
    return ticket_read(ticket, None)


@router.get("/stats", response_model=TicketStats)
async def ticket_stats(principal: TicketsUser, db: DbSession, runtime: RuntimeDep) -> TicketStats:
    """Counts per status, median first-response time, and how AI drafts fared in review."""
    return await TicketService(db, runtime).stats_read(principal.organization_id)


@router.get("/{ticket_id}", response_model=TicketDetail)
async def get_ticket(
    ticket_id: uuid.UUID, principal: TicketsUser, db: DbSession, runtime: RuntimeDep
) -> TicketDetail:
    return await TicketService(db, runtime).detail(principal.organization_id, ticket_id)


@router.patch("/{ticket_id}", response_model=TicketRead)
async def update_ticket(
    ticket_id: uuid.UUID, body: TicketUpdate, principal: TicketsUser, db: DbSession, runtime: RuntimeDep
) -> TicketRead:
    ticket = await TicketService(db, runtime).update(principal.organization_id, ticket_id, body)
    return ticket_read(ticket, None)


@router.post("/{ticket_id}/draft", response_model=DraftRead, status_code=status.HTTP_201_CREATED)
async def generate_draft(
    ticket_id: uuid.UUID,
    principal: TicketsUser,
    db: DbSession,
    runtime: RuntimeDep,
    body: DraftRequest | None = None,
) -> DraftRead:
    """Drafts (or redrafts, with an optional instruction such as "shorter") now, and returns it."""
    await db.commit()  # no transaction stays open while the model writes
    draft = await draft_reply(
        runtime,
        principal.organization_id,
        ticket_id,
        instruction=body.instruction if body else None,
        force=True,
    )
    assert draft is not None  # forced drafts always exist
    return DraftRead.model_validate(draft)


@router.post("/{ticket_id}/approve", response_model=DraftRead)
async def approve_draft(
    ticket_id: uuid.UUID, body: ApproveRequest, principal: TicketsUser, db: DbSession, runtime: RuntimeDep
) -> DraftRead:
    """Approve (optionally edited) and send; the answer says "sent" or "failed" with the reason."""
    draft = await approve_and_send(
        db,
        runtime,
        principal.organization_id,
        ticket_id,
        await approver_for(db, principal),
        draft_id=body.draft_id,
        text=body.text,
        status=body.status,
    )
    return DraftRead.model_validate(draft)


@router.post("/{ticket_id}/reject", response_model=DraftRead)
async def reject_draft(
    ticket_id: uuid.UUID, body: RejectRequest, principal: TicketsUser, db: DbSession
) -> DraftRead:
    draft = await reject(db, principal.organization_id, ticket_id, body.draft_id, body.reason)
    return DraftRead.model_validate(draft)


@router.post("/{ticket_id}/reply", response_model=DraftRead | TicketMessageRead)
async def reply(
    ticket_id: uuid.UUID, body: ReplyRequest, principal: TicketsUser, db: DbSession, runtime: RuntimeDep
) -> DraftRead | TicketMessageRead:
    """A reply written by staff (sent exactly once, like an approved draft), or an internal note."""
    approver = await approver_for(db, principal)
    if body.note:
        note = await TicketService(db, runtime).add_note(
            principal.organization_id, ticket_id, body.text, approver
        )
        return TicketMessageRead.model_validate(note)
    draft = await approve_and_send(
        db,
        runtime,
        principal.organization_id,
        ticket_id,
        approver,
        text=body.text,
        status=body.status,
        manual=True,
    )
    return DraftRead.model_validate(draft)


@router.post(
    "/{ticket_id}/replies/{draft_id}/faq", response_model=FaqSaved, status_code=status.HTTP_201_CREATED
)
async def save_reply_as_faq(
    ticket_id: uuid.UUID, draft_id: uuid.UUID, principal: TicketsUser, db: DbSession, runtime: RuntimeDep
) -> FaqSaved:
    """Turns a sent reply into an FAQ (customer's personal data stripped); again: the same FAQ.

    Writes to the knowledge base, so the key (or user) needs the "knowledge" scope as well.
    """
    if not principal.can(Scope.knowledge):
        raise Forbidden("Saving an FAQ needs the knowledge scope.", code="insufficient_scope")
    document_id = await TicketService(db, runtime).save_reply_as_faq(
        principal.organization_id, ticket_id, draft_id
    )
    return FaqSaved(document_id=document_id)


def _admin_only(principal: Principal) -> None:
    if not principal.can(Scope.admin):
        raise Forbidden("Only administrators may change the WHMCS connection.", code="insufficient_scope")


@whmcs_router.get("/connection", response_model=WhmcsConnectionRead)
async def get_connection(principal: TicketsUser, db: DbSession, runtime: RuntimeDep) -> WhmcsConnectionRead:
    return connection_read(await ConnectionService(db, runtime).get(principal.organization_id))


@whmcs_router.put("/connection", response_model=ConnectResult)
async def put_connection(
    body: WhmcsConnectionUpdate, principal: TicketsUser, db: DbSession, runtime: RuntimeDep
) -> ConnectResult:
    """Save (secrets are sealed and never shown again), then test; a failed test still saves."""
    _admin_only(principal)
    service = ConnectionService(db, runtime)
    connection = await service.save(principal.organization_id, body)
    spec = service.spec(connection)
    await db.commit()  # saved whatever the test says; no transaction open while WHMCS answers
    check = await run_test(runtime, spec)
    await record_test(db, connection, check)
    return ConnectResult(connection=connection_read(connection), test=check_read(check))


@whmcs_router.post("/test", response_model=ConnectionTestRead)
async def test_connection(principal: TicketsUser, db: DbSession, runtime: RuntimeDep) -> ConnectionTestRead:
    service = ConnectionService(db, runtime)
    connection = await service.get(principal.organization_id)
    spec = service.spec(connection)
    await db.commit()
    check = await run_test(runtime, spec)
    await record_test(db, connection, check)
    return check_read(check)


@whmcs_router.post("/sync", status_code=status.HTTP_202_ACCEPTED)
async def start_sync(principal: TicketsUser, db: DbSession, runtime: RuntimeDep) -> dict[str, str]:
    """Queues a sync now; GET /whmcs/connection shows its result (last_sync_at, counts, error)."""
    await ConnectionService(db, runtime).get(principal.organization_id)
    queue_sync(db, runtime, principal.organization_id)
    return {"status": "queued"}
