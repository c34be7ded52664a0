"""Chats page: the organization's conversations, filtered and paged, and one conversation's transcript."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from answerdesk.admin.deps import Admin
from answerdesk.admin.filters import FilterForm
from answerdesk.admin.routes.ai import FEEDBACK_REASONS, MODE_LABELS, SENDER_LABELS, principal_of
from answerdesk.admin.routes.knowledge import as_utc, time_ago
from answerdesk.admin.templating import render
from answerdesk.analytics.period import Period, zone_of
from answerdesk.auth.deps import DbSession, RuntimeDep
from answerdesk.chat.models import Channel, Conversation, ConversationStatus
from answerdesk.chat.repository import ConversationFilter
from answerdesk.chat.service import ChatService
from answerdesk.kit.errors import NotFound
from answerdesk.tenants.service import OrganizationService

router = APIRouter(prefix="/admin/chats", include_in_schema=False)

PAGE = "/admin/chats"
PER_PAGE = 50
SENTIMENTS = ("negative", "neutral", "positive", "frustrated")
RATINGS = range(1, 6)
STATUS_LABELS: dict[str, str] = {
    ConversationStatus.bot: "Bot",
    ConversationStatus.human: "With staff",
    ConversationStatus.closed: "Closed",
}
CHANNEL_LABELS: dict[str, str] = {
    Channel.widget: "Widget",
    Channel.api: "API",
    Channel.playground: "Playground",
    Channel.ticket: "Ticket",
}
MAX_SEARCH_CHARS = 200
# Filters the dashboard links to (not in the form): "all but the playground", outcomes, answer modes.
CUSTOMER_CHANNELS = "customers"
OUTCOME_LABELS: dict[str, str] = {
    "ended": "ended",
    "open": "still open",
    "resolved": "resolved automatically",
    "handoff": "handed off",
    "staff": "answered by staff",
    "rated": "rated",
}


@dataclass(frozen=True)
class ChatFilters:
    """The filter form's values; a value that does not parse is dropped with a notice, never a 500."""

    status: str = ""
    channel: str = ""
    sentiment: str = ""
    rating: str = ""
    since: str = ""
    until: str = ""
    q: str = ""
    start: str = ""  # started on or after this local day (the organization's time zone)
    end: str = ""  # started on or before this local day
    outcome: str = ""
    mode: str = ""
    page: int = 1
    notices: tuple[str, ...] = field(default=())

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ChatFilters:
        form = FilterForm(params)

        def day(name: str, label: str) -> str:
            value = form.text(name, 40)
            if not value:
                return ""
            try:
                date.fromisoformat(value)
            except ValueError:
                form.notices.append(f"Ignored the {label} date “{value}”: use the form YYYY-MM-DD.")
                return ""
            return value

        rating = form.text("rating", 40)
        if rating and rating not in {str(r) for r in RATINGS}:
            form.notices.append(f"Ignored the rating filter “{rating}”: choose 1 to 5 stars.")
            rating = ""
        since, until = day("since", "from"), day("until", "to")
        if since and until and until < since:
            form.notices.append("Ignored the date range: the “to” date is before the “from” date.")
            since = until = ""
        start, end = day("start", "started from"), day("end", "started to")
        return cls(
            status=form.choice("status", STATUS_LABELS, "status"),
            channel=form.choice("channel", {**CHANNEL_LABELS, CUSTOMER_CHANNELS: ""}, "channel"),
            sentiment=form.choice("sentiment", SENTIMENTS, "sentiment"),
            rating=rating,
            since=since,
            until=until,
            q=form.text("q", MAX_SEARCH_CHARS),
            start=start,
            end=end,
            outcome=form.choice("outcome", OUTCOME_LABELS, "outcome"),
            mode=form.choice("mode", MODE_LABELS, "answer mode"),
            page=form.page(),
            notices=tuple(form.notices),
        )

    @property
    def active(self) -> bool:
        values = (self.status, self.channel, self.sentiment, self.rating, self.since, self.until, self.q)
        return any(values) or any((self.start, self.end, self.outcome, self.mode))

    @property
    def description(self) -> str:
        """The dashboard's filters in words (they have no field in the form)."""
        parts = []
        if self.start or self.end:
            parts.append(f"started {self.start or '…'} to {self.end or '…'} (local time)")
        if self.channel == CUSTOMER_CHANNELS:
            parts.append("every channel but the playground")
        if self.outcome:
            parts.append(OUTCOME_LABELS[self.outcome])
        if self.mode:
            parts.append(f"with a {MODE_LABELS[self.mode]} answer")
        return ", ".join(parts)

    def where(self, zone: ZoneInfo) -> ConversationFilter:
        started = Period(
            date.fromisoformat(self.start or self.end or "2000-01-01"),
            date.fromisoformat(self.end or self.start or "2000-01-01"),
            zone,
        )
        return ConversationFilter(
            status=self.status or None,
            channel=self.channel if self.channel and self.channel != CUSTOMER_CHANNELS else None,
            customers_only=self.channel == CUSTOMER_CHANNELS,
            started_since=started.midnight(started.start) if self.start else None,
            started_until=started.bounds()[1] if self.end else None,
            outcome=self.outcome or None,
            mode=self.mode or None,
            sentiment=self.sentiment or None,
            rating=int(self.rating) if self.rating else None,
            since=_start_of(self.since) if self.since else None,
            # "to" is inclusive: everything before the start of the next day.
            until=_start_of(self.until) + timedelta(days=1) if self.until else None,
            search=self.q or None,
        )

    def query_string(self, **extra: object) -> str:
        values: dict[str, object] = {
            "status": self.status,
            "channel": self.channel,
            "sentiment": self.sentiment,
            "rating": self.rating,
            "since": self.since,
            "until": self.until,
            "q": self.q,
            "start": self.start,
            "end": self.end,
            "outcome": self.outcome,
            "mode": self.mode,
            **extra,
        }
        return urlencode({k: v for k, v in values.items() if v})


def _start_of(day: str) -> datetime:
    # Days are UTC days, as the page says; timestamps are stored in UTC.
    return datetime.combine(date.fromisoformat(day), time.min, tzinfo=UTC)


@dataclass(frozen=True)
class ConversationRow:
    id: uuid.UUID
    customer: str
    customer_detail: str
    channel: str
    status: str
    status_label: str
    message_count: int
    last_message_at: datetime
    last_activity: str
    sentiment: str | None
    frustrated: bool
    handoff: bool
    rating: int | None


def customer_label(c: Conversation) -> tuple[str, str]:
    """The name to show and, when there is both a name and an e-mail, the e-mail beneath it."""
    if c.customer_name:
        return c.customer_name, c.customer_email or ""
    if c.customer_email:
        return c.customer_email, ""
    return "Anonymous visitor", ""


def conversation_row(c: Conversation, now: datetime) -> ConversationRow:
    name, detail = customer_label(c)
    return ConversationRow(
        id=c.id,
        customer=name,
        customer_detail=detail,
        channel=CHANNEL_LABELS.get(c.channel, c.channel),
        status=c.status,
        status_label=STATUS_LABELS.get(c.status, c.status),
        message_count=c.message_count,
        last_message_at=as_utc(c.last_message_at),
        last_activity=time_ago(c.last_message_at, now),
        sentiment=c.last_sentiment,
        frustrated=c.frustrated,
        handoff=c.handoff_at is not None,
        rating=c.rating,
    )


@router.get("")
async def chats_page(request: Request, ctx: Admin, db: DbSession, runtime: RuntimeDep) -> Response:
    filters = ChatFilters.parse(request.query_params)
    org = await OrganizationService(db).get(ctx.organization.id)
    where = filters.where(zone_of((org.settings or {}).get("timezone")))
    conversations, total = await ChatService(runtime).list(
        db, ctx.organization.id, where, limit=PER_PAGE, offset=(filters.page - 1) * PER_PAGE
    )
    now = datetime.now(UTC)
    pages = max(1, math.ceil(total / PER_PAGE))
    return render(
        request,
        "chats/index.html",
        rows=[conversation_row(c, now) for c in conversations],
        total=total,
        filters=filters,
        page=filters.page,
        pages=pages,
        first_shown=(filters.page - 1) * PER_PAGE + 1,
        prev_url=f"{PAGE}?{filters.query_string(page=filters.page - 1)}" if filters.page > 1 else None,
        next_url=f"{PAGE}?{filters.query_string(page=filters.page + 1)}" if filters.page < pages else None,
        statuses=STATUS_LABELS,
        channels=CHANNEL_LABELS,
        sentiments=SENTIMENTS,
        ratings=RATINGS,
    )


@router.get("/{conversation_id}")
async def transcript(
    request: Request, conversation_id: str, ctx: Admin, db: DbSession, runtime: RuntimeDep
) -> Response:
    try:
        cid = uuid.UUID(conversation_id)
    except ValueError:
        raise NotFound("Conversation not found.") from None
    service = ChatService(runtime)
    # Staff read any conversation of their organization; another organization's is a 404.
    conversation = await service.get(db, principal_of(ctx), cid, None)
    read = await service.read(db, conversation)
    name, detail = customer_label(conversation)
    return render(
        request,
        "chats/transcript.html",
        conversation=read,
        row=conversation_row(conversation, datetime.now(UTC)),
        customer=name,
        customer_detail=detail,
        sender_labels=SENDER_LABELS,
        mode_labels=MODE_LABELS,
        feedback_reasons=FEEDBACK_REASONS,
    )
