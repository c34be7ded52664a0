"""Analytics API shapes."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel

Interval = Literal["day", "week"]


class SentimentCounts(BaseModel):
    negative: int
    neutral: int
    positive: int


class TicketFigures(BaseModel):
    opened: int
    answered: int  # opened in the range and replied to by staff
    first_response_median_seconds: float | None
    drafts_sent_unchanged: int
    drafts_edited: int
    drafts_rejected: int


class SummaryRead(BaseModel):
    start: date
    end: date
    timezone: str
    channel: str | None
    conversations: int
    customer_messages: int
    ai_answers: int
    answers_by_mode: dict[str, int]
    handoffs: int
    handoff_rate: float | None
    staff_replied: int
    ended: int
    resolved_automatically: int
    automatic_resolution_rate: float | None
    ratings: int
    csat_avg: float | None
    ratings_by_stars: dict[str, int]
    sentiment: SentimentCounts
    first_response_median_seconds: float | None
    answers_rated: int  # thumbs up or down given in the range
    answers_helpful: int
    ai_accuracy: float | None  # helpful / rated
    tickets: TicketFigures


class TimePoint(BaseModel):
    start: date
    value: float | None


class TimeseriesRead(BaseModel):
    metric: str
    interval: Interval
    start: date
    end: date
    timezone: str
    channel: str | None
    points: list[TimePoint]
