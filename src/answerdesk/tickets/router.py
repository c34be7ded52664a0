"""JSON API: the ticket review queue (/tickets) and the WHMCS connection (/whmcs); scope "tickets"."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response, status

from answerdesk.auth.deps import DbSession, RuntimeDep, require_scope
from answerdesk.auth.models import Scope
from answerdesk.auth.service import Principal
from answerdesk.kit.bounds import SQL_INT_MAX
from answerdesk.kit.errors import Forbidden
from answerdesk.kit.web import client_ip
from answerdesk.tickets.categories import MIN_SIMILARITY, Category, CategoryService
from answerdesk.tickets.connections import (
    ConnectionService,
    check_read,
    connection_read,
    record_test,
    run_test,
)
from answerdesk.tickets.drafting import draft_reply
from answerdesk.tickets.notes import retry_note_push
from answerdesk.tickets.repository import TicketFilter
from answerdesk.tickets.schemas import (
    ApproveRequest,
    ConnectionTestRead,
    ConnectResult,
    CustomerMessageCreate,
    DraftEdit,
    DraftRead,
    DraftRequest,
    FaqSaved,
    FaqSuggestionRead,
    RejectRequest,
    ReplyRequest,
    TicketCategoriesRead,
    TicketCategoriesUpdate,
    TicketCategoryRead,
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
    offset: Annotated[int, Query(ge=0, le=SQL_INT_MAX)] = 0,
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


# --- Ticket categories: declared before "/{ticket_id}", which would take "categories" for an id ---------


@router.get("/categories", response_model=TicketCategoriesRead)
async def get_ticket_categories(principal: TicketsUser, db: DbSession) -> TicketCategoriesRead:
    """The categories tickets are sorted into: the organization's own, else Answerdesk's defaults."""
    return await _categories_read(db, principal)


@router.put("/categories", response_model=TicketCategoriesRead)
async def put_ticket_categories(
    body: TicketCategoriesUpdate, principal: TicketsUser, db: DbSession, request: Request
) -> TicketCategoriesRead:
    """Replaces the whole list (admin scope); the next ticket classified uses it. [] restores the defaults."""
    if not principal.can(Scope.admin):
        raise Forbidden("Only administrators may change the ticket categories.", code="insufficient_scope")
    raw = [Category(c.name, c.description, tuple(c.keywords), tuple(c.examples)) for c in body.categories]
    await CategoryService(db).replace(
        principal.organization_id, raw, actor_id=principal.user_id, ip=client_ip(request)
    )
    return await _categories_read(db, principal)


async def _categories_read(db: DbSession, principal: Principal) -> TicketCategoriesRead:
    categories, custom = await CategoryService(db).get(principal.organization_id)
    items = [
        TicketCategoryRead(
            name=c.name, description=c.description, keywords=list(c.keywords), examples=list(c.examples)
        )
        for c in categories
    ]
    return TicketCategoriesRead(categories=items, custom=custom, min_similarity=MIN_SIMILARITY)


@router.get("/faq-suggestions", response_model=list[FaqSuggestionRead])
async def faq_suggestions(
    principal: TicketsUser, db: DbSession, runtime: RuntimeDep
) -> list[FaqSuggestionRead]:
    """Groups of three or more approved replies that answer the same kind of question, largest first."""
    found = await TicketService(db, runtime).faq_suggestions(principal.organization_id)
    return [
        FaqSuggestionRead(
            id=s.centre_id, question=s.question, answer=s.answer, size=s.size, questions=s.questions
        )
        for s in found
    ]


@router.post("/faq-suggestions/{reply_id}", response_model=FaqSaved, status_code=status.HTTP_201_CREATED)
async def create_suggested_faq(
    reply_id: uuid.UUID, principal: TicketsUser, db: DbSession, runtime: RuntimeDep
) -> FaqSaved:
    """The suggestion's typical reply saved as an FAQ (through save-as-FAQ); needs the knowledge scope too."""
    if not principal.can(Scope.knowledge):
        raise Forbidden("Saving an FAQ needs the knowledge scope.", code="insufficient_scope")
    document_id = await TicketService(db, runtime).create_suggested_faq(principal.organization_id, reply_id)
    return FaqSaved(document_id=document_id)


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


@router.post("/{ticket_id}/draft", response_model=DraftRead | TicketRead, status_code=status.HTTP_201_CREATED)
async def generate_draft(
    ticket_id: uuid.UUID,
    principal: TicketsUser,
    db: DbSession,
    runtime: RuntimeDep,
    response: Response,
    body: DraftRequest | None = None,
    wait: bool = True,
) -> DraftRead | TicketRead:
    """Drafts (or redrafts, with an optional instruction such as "shorter") now, and returns it.

    With ``wait=false`` the draft is written in the background: 202 and the ticket, whose
    ``drafting_since`` stays set until the draft arrives (409 while another is being written).
    """
    instruction = body.instruction if body else None
    if not wait:
        ticket = await TicketService(db, runtime).request_draft(
            principal.organization_id, ticket_id, instruction
        )
        response.status_code = status.HTTP_202_ACCEPTED
        return ticket_read(ticket, None)
    await db.commit()  # no transaction stays open while the model writes
    draft = await draft_reply(
        runtime,
        principal.organization_id,
        ticket_id,
        instruction=instruction,
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


@router.patch("/{ticket_id}/drafts/{draft_id}", response_model=DraftRead)
async def edit_draft(
    ticket_id: uuid.UUID,
    draft_id: uuid.UUID,
    body: DraftEdit,
    principal: TicketsUser,
    db: DbSession,
    runtime: RuntimeDep,
) -> DraftRead:
    """Saves staff's edit without sending; ``text`` stays the original draft, ``final_text`` the edit."""
    draft = await TicketService(db, runtime).save_edit(
        principal.organization_id, ticket_id, draft_id, body.text
    )
    return DraftRead.model_validate(draft)


@router.post(
    "/{ticket_id}/customer-messages", response_model=TicketMessageRead, status_code=status.HTTP_201_CREATED
)
async def add_customer_message(
    ticket_id: uuid.UUID,
    body: CustomerMessageCreate,
    principal: TicketsUser,
    db: DbSession,
    runtime: RuntimeDep,
) -> TicketMessageRead:
    """The customer's reply to a native ticket (e.g. relayed from e-mail): reopens it, queues a draft."""
    message = await TicketService(db, runtime).add_customer_message(
        principal.organization_id, ticket_id, body.text, body.author_name
    )
    return TicketMessageRead.model_validate(message)


@router.post("/{ticket_id}/notes/{note_id}/retry", response_model=TicketMessageRead)
async def retry_note(
    ticket_id: uuid.UUID, note_id: uuid.UUID, principal: TicketsUser, db: DbSession, runtime: RuntimeDep
) -> TicketMessageRead:
    """Sends a note WHMCS refused again (after looking whether an earlier attempt got there)."""
    note = await retry_note_push(db, runtime, principal.organization_id, ticket_id, note_id)
    return TicketMessageRead.model_validate(note)


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
