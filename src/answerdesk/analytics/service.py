"""Analytics figures: one grouped query per report, turned into the summary, series and heat map."""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.analytics import definitions as d
from answerdesk.analytics.period import Period, today_in, week_start, zone_of
from answerdesk.analytics.repository import BUCKET_FIELDS, AnalyticsRepository, Scope, add_counts
from answerdesk.analytics.schemas import (
    Interval,
    SentimentCounts,
    SummaryRead,
    TicketFigures,
    TimePoint,
    TimeseriesRead,
)
from answerdesk.chat.feedback import FeedbackService, accuracy
from answerdesk.chat.models import Channel
from answerdesk.kit.errors import ValidationFailed
from answerdesk.tenants.models import Organization
from answerdesk.tenants.service import OrganizationService
from answerdesk.tickets.service import first_response_waits, review_counts

# Sums per bucket; every other figure is derived from them (see figures()).
COUNT_METRICS: tuple[str, ...] = BUCKET_FIELDS
RATE_METRICS: tuple[str, ...] = (
    "ai_answers",
    "resolved_automatically",
    "handoff_rate",
    "automatic_resolution_rate",
    "csat_avg",
)
METRICS: tuple[str, ...] = tuple(m for m in COUNT_METRICS if m != "rating_sum") + RATE_METRICS
EXPORT_ROWS = 100_000


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def figures(c: dict[str, int]) -> dict[str, float | int | None]:
    """Every timeseries metric of a set of summed bucket counts."""
    out: dict[str, float | int | None] = {k: v for k, v in c.items() if k != "rating_sum"}
    out["ai_answers"] = sum(c[f"answers_{m}"] for m in d.ANSWER_MODES)
    out["resolved_automatically"] = c["resolved"]  # the summary's name for it
    out["handoff_rate"] = _rate(c["handoffs"], c["conversations"])
    out["automatic_resolution_rate"] = _rate(c["resolved"], c["ended"])
    out["csat_avg"] = round(c["rating_sum"] / c["ratings"], 2) if c["ratings"] else None
    return out


def empty_counts() -> dict[str, int]:
    return dict.fromkeys(BUCKET_FIELDS, 0)


@dataclass
class Report:
    """What the dashboard shows: the summary, daily counts and the weekday-by-hour heat map."""

    period: Period
    channel: str | None
    summary: SummaryRead
    daily: dict[date, dict[str, int]]
    heat: list[list[int]] = field(default_factory=lambda: [[0] * 24 for _ in range(7)])


def check_channel(channel: str | None) -> str | None:
    if not channel:
        return None
    if channel not in set(Channel):
        choices = ", ".join(Channel)
        raise ValidationFailed(
            f"Unknown channel “{channel[:40]}”: use one of {choices}.",
            details=[{"loc": ["query", "channel"]}],
        )
    return channel


class AnalyticsService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.repo = AnalyticsRepository(db)

    async def organization(self, organization_id: uuid.UUID) -> Organization:
        return await OrganizationService(self.db).get(organization_id)

    def period(
        self, org: Organization, start: str | date | None, end: str | date | None, now: datetime | None = None
    ) -> Period:
        zone = zone_of((org.settings or {}).get("timezone"))
        return Period.parse(start, end, zone, today=today_in(zone, now))

    def _scope(self, org: Organization, period: Period, channel: str | None, now: datetime) -> Scope:
        since, until = period.bounds()
        return Scope(org.id, since, until, check_channel(channel), now)

    async def report(
        self,
        org: Organization,
        period: Period,
        channel: str | None = None,
        *,
        now: datetime | None = None,
        by_time: bool = True,
    ) -> Report:
        """The summary and, ``by_time``, the daily counts and heat map (the summary alone needs one row)."""
        now = now or datetime.now(UTC)
        scope = self._scope(org, period, channel, now)
        totals = empty_counts()
        daily: dict[date, dict[str, int]] = defaultdict(empty_counts)
        heat = [[0] * 24 for _ in range(7)]
        found, live = await self.repo.sums(scope, grouped=by_time)
        for bucket, counts in found:
            add_counts(totals, counts)
            if by_time:
                local = period.bucket_local(bucket)
                add_counts(daily[local.date()], counts)
                heat[local.weekday()][local.hour] += counts["conversations"]
        f = figures(totals)
        openings = await self.repo.ticket_openings(scope)
        waits = first_response_waits(
            {t: (opened, created) for t, opened, created, _, _ in openings},
            {t: first for t, _, _, first, _ in openings if first is not None},
            {t: first for t, _, _, _, first in openings if first is not None},
        )
        drafts = review_counts(await self.repo.reviewed_drafts(scope))
        feedback = await FeedbackService(self.db).counts(org.id, since=scope.since, until=scope.until)
        summary = SummaryRead(
            start=period.start,
            end=period.end,
            timezone=str(period.zone),
            channel=scope.channel,
            conversations=totals["conversations"],
            customer_messages=totals["customer_messages"],
            ai_answers=int(f["ai_answers"] or 0),
            answers_by_mode={m: totals[f"answers_{m}"] for m in d.ANSWER_MODES},
            handoffs=totals["handoffs"],
            handoff_rate=f["handoff_rate"],
            staff_replied=totals["staff_replied"],
            ended=totals["ended"],
            resolved_automatically=totals["resolved"],
            automatic_resolution_rate=f["automatic_resolution_rate"],
            ratings=totals["ratings"],
            csat_avg=f["csat_avg"],
            ratings_by_stars={str(r): totals[f"rating_{r}"] for r in range(1, 6)},
            sentiment=SentimentCounts(**{s: totals[f"sentiment_{s}"] for s in d.SENTIMENTS}),
            first_response_median_seconds=live,
            answers_rated=feedback.rated,
            answers_helpful=feedback.helpful,
            ai_accuracy=_rounded(accuracy(feedback)),
            tickets=TicketFigures(
                opened=len(openings),
                answered=len(waits),
                first_response_median_seconds=round(statistics.median(waits), 1) if waits else None,
                drafts_sent_unchanged=drafts.unchanged,
                drafts_edited=drafts.edited,
                drafts_rejected=drafts.rejected,
            ),
        )
        return Report(period, scope.channel, summary, dict(daily), heat)

    async def summary(
        self, org: Organization, period: Period, channel: str | None = None, *, now: datetime | None = None
    ) -> SummaryRead:
        return (await self.report(org, period, channel, now=now, by_time=False)).summary

    async def timeseries(
        self,
        org: Organization,
        period: Period,
        metric: str,
        interval: Interval = "day",
        channel: str | None = None,
        *,
        now: datetime | None = None,
    ) -> TimeseriesRead:
        if metric not in METRICS:
            raise ValidationFailed(
                f"Unknown metric “{metric[:40]}”.",
                details=[{"loc": ["query", "metric"], "choices": list(METRICS)}],
            )
        report = await self.report(org, period, channel, now=now)
        return TimeseriesRead(
            metric=metric,
            interval=interval,
            start=period.start,
            end=period.end,
            timezone=str(period.zone),
            channel=report.channel,
            points=[TimePoint(start=s, value=v[metric]) for s, v in series(report, interval)],
        )

    async def conversations_csv(
        self, org: Organization, period: Period, channel: str | None = None, *, now: datetime | None = None
    ) -> str:
        now = now or datetime.now(UTC)
        scope = self._scope(org, period, channel, now)
        rows = await self.repo.conversations_for_export(scope, EXPORT_ROWS)
        out = io.StringIO()
        w = csv.writer(out)
        w.writerow(
            [
                "id", "started_at", "channel", "status", "customer_messages", "ai_answers",
                *(f"answers_{m}" for m in d.ANSWER_MODES), "handoff", "staff_messages", "ended",
                "resolved_automatically", "rating", "last_sentiment", "language",
            ]
        )  # fmt: skip
        for row in rows:
            c = row[0]
            modes = [int(v or 0) for v in row[3 : 3 + len(d.ANSWER_MODES)]]
            w.writerow(
                [
                    c.id, period.local(c.created_at).isoformat(timespec="seconds"), c.channel, c.status,
                    int(row[1] or 0), sum(modes), *modes, int(c.handoff_at is not None), int(row[2] or 0),
                    int(bool(row[-2])), int(bool(row[-1])), c.rating or "", c.last_sentiment or "",
                    c.language or "",
                ]
            )  # fmt: skip
        return out.getvalue()


def series(report: Report, interval: Interval) -> list[tuple[date, dict[str, float | int | None]]]:
    """Every day (or ISO week, labelled by its Monday) of the period, empty ones included."""
    grouped: dict[date, dict[str, int]] = {}
    for day in report.period.all_days():
        key = day if interval == "day" else week_start(day)
        into = grouped.setdefault(key, empty_counts())
        add_counts(into, report.daily.get(day, {}))
    return [(k, figures(v)) for k, v in grouped.items()]


def summary_csv(s: SummaryRead) -> str:
    """The summary as two-column CSV (figure, value), nested figures flattened with dots."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["figure", "value"])
    for key, value in _flatten(s.model_dump(mode="json")):
        w.writerow([key, "" if value is None else value])
    return out.getvalue()


def _flatten(data: dict[str, object], prefix: str = "") -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = []
    for k, v in data.items():
        if isinstance(v, dict):
            items.extend(_flatten(v, f"{prefix}{k}."))
        else:
            items.append((f"{prefix}{k}", v))
    return items


def chat_list_query(report: Report, **extra: str) -> str:
    """The Chats list's filters for the conversations behind a figure (see admin/routes/chats.py)."""
    values = {
        "start": report.period.start.isoformat(),
        "end": report.period.end.isoformat(),
        "channel": report.channel or "customers",
        **extra,
    }
    return urlencode(values)


def last_days_period(org: Organization, days: int, now: datetime | None = None) -> Period:
    zone = zone_of((org.settings or {}).get("timezone"))
    return Period.last_days(days, zone, today=today_in(zone, now))
