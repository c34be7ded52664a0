"""API shapes of tickets, drafts and the WHMCS connection; no read shape carries a secret."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

from answerdesk.kit.bounds import MAX_LIST_ITEMS, MAX_REQUEST_TEXT, LongText, ShortText, SqlInt
from answerdesk.kit.timezones import canonical_timezone
from answerdesk.tickets.models import NativeStatus, Priority

MAX_TEXT = 20_000
SyncStatus = Literal["Awaiting Reply", "All Active Tickets"]


class WhmcsConnectionUpdate(BaseModel):
    """PUT: the whole connection. Secrets left out (None) keep their stored values."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=500)
    identifier: str | None = Field(default=None, max_length=200)
    secret: str | None = Field(default=None, max_length=500, repr=False)
    accesskey: str | None = Field(default=None, max_length=500, repr=False)
    legacy_username: str | None = Field(default=None, max_length=200)
    legacy_password: str | None = Field(default=None, max_length=500, repr=False)
    default_admin_username: str | None = Field(default=None, max_length=200)
    admin_usernames: dict[ShortText, ShortText] | None = Field(default=None, max_length=MAX_LIST_ITEMS)
    watched_department_ids: list[SqlInt] | None = Field(default=None, max_length=MAX_LIST_ITEMS)
    ticket_status: SyncStatus | None = None
    poll_interval_minutes: int | None = Field(default=None, ge=1, le=1440)
    # The WHMCS server's zone (IANA name, e.g. "Europe/Berlin"): WHMCS dates carry no zone.
    timezone: str | None = Field(default=None, max_length=64)
    timeout_seconds: float | None = Field(default=None, gt=0, le=120)
    enabled: bool | None = None
    auto_update_ticket: bool | None = None
    save_approved_as_faq: bool | None = None
    auto_send: dict[ShortText, float] | None = Field(default=None, max_length=MAX_LIST_ITEMS)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        return None if value is None else canonical_timezone(value)

    @field_validator("auto_send")
    @classmethod
    def _thresholds(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None and any(not 0.0 <= v <= 1.0 for v in value.values()):
            raise ValueError("auto-send thresholds are confidences between 0 and 1")
        return value


class ConnectionTestRead(BaseModel):
    ok: bool
    failure: str | None = None
    message: str
    ip: str | None = None
    action: str | None = None
    missing_actions: list[str] = []


class WhmcsConnectionRead(BaseModel):
    url: str
    auth_mode: Literal["api_credentials", "legacy"]
    credential_hint: str
    has_accesskey: bool
    default_admin_username: str
    admin_usernames: dict[str, str]
    watched_department_ids: list[int]
    ticket_status: str
    poll_interval_minutes: int
    timezone: str
    timeout_seconds: float
    enabled: bool
    auto_update_ticket: bool
    save_approved_as_faq: bool
    auto_send: dict[str, float]
    departments: dict[str, str]
    last_sync_at: datetime | None
    last_sync_error: str | None
    last_sync_counts: dict[str, Any]
    sync_in_progress: bool
    last_test_at: datetime | None
    last_test_ok: bool | None
    last_test_message: str | None


class ConnectResult(BaseModel):
    connection: WhmcsConnectionRead
    test: ConnectionTestRead


class SyncReportRead(BaseModel):
    pages: int = 0
    listed: int = 0
    fetched: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    messages_added: int = 0
    clients_fetched: int = 0
    refreshed: int = 0
    requests: int = 0
    resumed_from: int | None = None
    drafts_queued: int = 0
    seconds: float = 0.0


class TicketMessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    author: str
    author_name: str
    external_id: str | None
    content: str
    created_at: datetime
    # Notes on WHMCS tickets: "pending", "sent" (in WHMCS) or "failed" (push_error says why).
    # None: kept here only (native tickets, notes that came from WHMCS, notes older than pushing).
    push_status: str | None = None
    push_error: str | None = None


class DraftRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    ticket_id: uuid.UUID
    status: str
    text: str
    final_text: str | None
    citations: list[dict[str, Any]]
    confidence: float
    mode: str
    model: str | None
    instruction: str | None
    approved_by: str | None
    approved_at: datetime | None
    admin_username: str | None
    set_status: str | None
    send_attempts: int
    sent_at: datetime | None
    posted_reply_id: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime


class TicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    source: str
    external_id: str | None
    tid: str
    subject: str
    status: str
    priority: str
    category: str | None
    department: str
    client_name: str
    client_email: str
    assigned_user_id: uuid.UUID | None
    awaiting_reply: bool
    last_customer_message_at: datetime | None
    last_message_at: datetime | None
    sentiment_label: str | None
    sentiment_score: float | None
    frustrated: bool
    language: str | None = Field(default=None, description="The customer's language (ISO 639-1), detected")
    urgency_score: float
    created_at: datetime
    updated_at: datetime
    draft_status: str | None = None
    # Set while a draft staff asked for is being written in the background.
    drafting_since: datetime | None = None
    drafting_instruction: str | None = None


class TicketDetail(TicketRead):
    client_context: dict[str, Any]
    classification: dict[str, Any]
    messages: list[TicketMessageRead]
    drafts: list[DraftRead]


class TicketPage(BaseModel):
    items: list[TicketRead]
    total: int


class TicketCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=300)
    message: str = Field(min_length=1, max_length=MAX_TEXT)
    customer_name: str = Field(default="", max_length=200)
    customer_email: EmailStr
    priority: Priority | None = None
    category: str | None = Field(default=None, max_length=100)
    department: str = Field(default="", max_length=200)


class DraftRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruction: str | None = Field(default=None, max_length=500)


class ApproveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    draft_id: uuid.UUID | None = None
    text: str | None = Field(default=None, max_length=MAX_TEXT)
    status: str | None = Field(default=None, max_length=64)


class RejectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    draft_id: uuid.UUID | None = None
    reason: str | None = Field(default=None, max_length=500)


class ReplyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    note: bool = False
    status: str | None = Field(default=None, max_length=64)


class DraftEdit(BaseModel):
    """Staff's edited text, kept on the draft without sending it."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)


class CustomerMessageCreate(BaseModel):
    """A customer's reply to a native ticket, relayed by an integration (e-mail, a form) or by staff."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=MAX_TEXT)
    author_name: str | None = Field(default=None, max_length=200)


class TicketUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: NativeStatus | None = None
    priority: Priority | None = None
    category: str | None = Field(default=None, max_length=100)
    # null un-assigns; leaving the field out keeps the assignee.
    assigned_user_id: uuid.UUID | None = None


class ReviewCounts(BaseModel):
    """AI drafts after review: sent as drafted (ignoring whitespace), sent after edits, rejected."""

    unchanged: int = 0
    edited: int = 0
    rejected: int = 0


class TicketStats(BaseModel):
    by_status: dict[str, int]
    total: int
    # First staff reply minus the ticket's opening (or its first customer message, if earlier).
    median_first_response_seconds: float | None
    first_responses_measured: int
    drafts: ReviewCounts


class FaqSaved(BaseModel):
    document_id: uuid.UUID


class FaqSuggestionRead(BaseModel):
    """Approved replies answering the same kind of question: the typical one would become the FAQ."""

    id: uuid.UUID = Field(description="The group's typical approved reply; POST it to make the FAQ")
    question: str
    answer: str
    size: int = Field(description="How many approved replies answer this kind of question")
    questions: list[str] = Field(description="Some of the group's other questions")


class TicketCategoryRead(BaseModel):
    name: str
    description: str
    keywords: list[str]
    examples: list[str]


class TicketCategoriesRead(BaseModel):
    categories: list[TicketCategoryRead]
    # False: the organization has none of its own and these are Answerdesk's defaults.
    custom: bool
    # Under this cosine similarity to the nearest category, keywords decide instead.
    min_similarity: float


class TicketCategoryUpdate(BaseModel):
    """One category; limits (names, counts, lengths) are checked with readable messages by the service."""

    model_config = ConfigDict(extra="forbid")

    # Generous request bounds only: the service's own limits come with messages that point at the field.
    name: str = Field(max_length=1000)
    description: str = Field(default="", max_length=MAX_REQUEST_TEXT)
    keywords: list[LongText] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)
    examples: list[LongText] = Field(default_factory=list, max_length=MAX_LIST_ITEMS)


class TicketCategoriesUpdate(BaseModel):
    """PUT: the whole list (renames and removals included); an empty list goes back to the defaults."""

    model_config = ConfigDict(extra="forbid")

    categories: list[TicketCategoryUpdate] = Field(max_length=MAX_LIST_ITEMS)
