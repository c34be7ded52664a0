"""Knowledge gaps API shapes."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from answerdesk.knowledge.schemas import FaqCreate


class GapReason(enum.StrEnum):
    refused = "refused"  # no answer in the knowledge base, or an answer without any source
    handed_off = "handed_off"  # the customer asked for a person after the bot's answer
    unhelpful = "unhelpful"  # the customer marked the answer unhelpful


class GapStatus(enum.StrEnum):
    open = "open"
    answered = "answered"


class GapQuestionRead(BaseModel):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    text: str
    asked_at: datetime
    reasons: list[GapReason]


class GapGroupRead(BaseModel):
    key: uuid.UUID = Field(description="The representative question's message id: names the group")
    question: str = Field(description="The question that stands for the group (closest to all the others)")
    status: GapStatus
    customers: int = Field(description="Conversations that asked it: the ranking")
    questions: int
    reasons: dict[GapReason, int]
    first_asked_at: datetime
    last_asked_at: datetime
    examples: list[GapQuestionRead] = Field(description="The most recent questions, different wordings first")
    faq_document_id: uuid.UUID | None = Field(description="The FAQ entry written for it, once answered")
    asked_since_answer: int = Field(description="Questions like it that still failed after the FAQ was made")


class GapsRead(BaseModel):
    days: int
    since: datetime
    questions: int = Field(description="Gap questions found in the window")
    truncated: bool = Field(description="More than the grouping limit: only the most recent were grouped")
    cluster_ms: float
    groups: list[GapGroupRead]


class FaqDraftRead(BaseModel):
    question: str
    answer: str
    source: str = Field(
        description='"staff" (a staff reply, personal data removed), "llm" (a draft to check), "none"'
    )


class GapFaqCreate(FaqCreate):
    """An FAQ entry for a gap group: the knowledge base's own FAQ fields, plus the questions it answers."""

    model_config = ConfigDict(extra="forbid")

    message_ids: list[uuid.UUID] = Field(default_factory=list, max_length=5000)
