"""Chat API request and response shapes."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from answerdesk.chat.models import FeedbackReason
from answerdesk.kit.bounds import MAX_REQUEST_TEXT, SQL_INT_MAX
from answerdesk.languages.names import language_code


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(default=None, max_length=40)

    @field_validator("name", "phone")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str | None) -> str | None:
        if value is not None:
            digits = sum(c.isdigit() for c in value)
            if digits < 5 or any(not (c.isdigit() or c in "+-() ./") for c in value):
                raise ValueError("enter a phone number with digits, spaces, +, -, ( or )")
        return value


class ConversationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: CustomerIn | None = None
    language: str | None = Field(
        default=None,
        max_length=35,
        description="The visitor's language (BCP 47, e.g. 'de-DE'), until their messages show it",
    )

    @field_validator("language")
    @classmethod
    def _language(cls, value: str | None) -> str | None:
        return language_code(value) if value else None


class ConversationCreated(BaseModel):
    id: uuid.UUID
    token: str = Field(description="Lets this visitor read and continue only this conversation")


class MessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # The configured max_message_chars is checked by the service; this only bounds the request.
    content: str = Field(max_length=MAX_REQUEST_TEXT)


class CitationRead(BaseModel):
    n: int
    title: str
    source: str
    chunk_id: int
    document_id: uuid.UUID | None = None
    section: str = ""


class FeedbackCreate(BaseModel):
    """A thumbs up or down on one bot answer; sending it again replaces the earlier one."""

    model_config = ConfigDict(extra="forbid")

    message_id: uuid.UUID
    helpful: bool
    reason: FeedbackReason | None = Field(default=None, description="Only with helpful=false")
    comment: str | None = Field(default=None, max_length=2000)

    @field_validator("comment")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None

    @model_validator(mode="after")
    def _reason_only_when_unhelpful(self) -> FeedbackCreate:
        if self.helpful and self.reason is not None:
            raise ValueError("a reason is given only with helpful=false")
        return self


class FeedbackRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    message_id: uuid.UUID
    helpful: bool
    reason: str | None
    comment: str | None
    updated_at: datetime


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    sender: str
    content: str
    citations: list[CitationRead]
    suggestions: list[str]
    mode: str | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    latency_ms: int | None
    sentiment_score: float | None
    sentiment_label: str | None
    frustrated: bool
    language: str | None = Field(default=None, description="Customer messages: detected ISO 639-1 code")
    created_at: datetime
    feedback: FeedbackRead | None = Field(
        default=None, description="Bot answers: the customer's thumbs up/down"
    )


class ReplyRead(BaseModel):
    """The answer to one customer message; ``message`` is null while staff handle the conversation."""

    message: MessageRead | None
    customer_message: MessageRead
    citations: list[CitationRead]
    suggestions: list[str]
    handoff: bool


class ConversationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: str
    status: str
    customer_name: str | None
    customer_email: str | None
    customer_phone: str | None
    rating: int | None
    rating_comment: str | None
    handoff: bool
    language: str | None = Field(
        default=None, description="The customer's language (ISO 639-1): detected, else the widget's"
    )
    created_at: datetime
    updated_at: datetime
    messages: list[MessageRead]


# -- live chat ---------------------------------------------------------------------------------------------


class RatingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)

    @field_validator("comment")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None


class RatingRead(BaseModel):
    rating: int
    comment: str | None


class SeenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seq: int = Field(ge=0, le=SQL_INT_MAX)


class TypingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    typing: bool = True


class HandoffRead(BaseModel):
    status: str
    waiting: bool
    staff_online: bool = Field(description="False: nobody can answer now; offer to leave a message")
    can_leave_message: bool = Field(
        default=False, description="True: offer the leave-a-message form (POST .../leave-message)"
    )
    message: MessageRead | None = Field(description="The system message posted; null when nothing changed")


class LeaveMessageCreate(BaseModel):
    """What the customer leaves when nobody is online; it becomes a ticket with the chat's transcript."""

    model_config = ConfigDict(extra="forbid")

    # The configured max_message_chars is checked by the service; this only bounds the request.
    message: str = Field(max_length=MAX_REQUEST_TEXT)
    name: str | None = Field(default=None, max_length=200)
    email: EmailStr | None = Field(default=None, description="Required unless the conversation has one")

    @field_validator("name")
    @classmethod
    def _strip(cls, value: str | None) -> str | None:
        value = (value or "").strip()
        return value or None


class LeftMessageRead(BaseModel):
    ticket_id: uuid.UUID
    number: str = Field(description="The ticket's number as staff and the customer see it")
    message: MessageRead = Field(description="The confirmation posted in the chat")


class AssignCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: uuid.UUID


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(max_length=MAX_REQUEST_TEXT)


class LiveConversationRead(BaseModel):
    """A conversation as the staff's live list shows it (the org channel's ``conversation`` field)."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: str
    status: str
    customer_name: str | None
    customer_email: str | None
    assigned_user_id: uuid.UUID | None
    waiting_since: datetime | None
    handoff_at: datetime | None
    closed_at: datetime | None
    frustrated: bool
    last_sentiment: str | None
    message_count: int
    last_message_at: datetime
    customer_seen_seq: int
    staff_seen_seq: int
    rating: int | None
    language: str | None = None
