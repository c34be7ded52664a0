"""Dashboard: the organization's analytics over a date range and channel, each figure linked to its list."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from answerdesk.admin.deps import Admin
from answerdesk.admin.routes.ai import MODE_LABELS
from answerdesk.admin.routes.chats import CHANNEL_LABELS, CUSTOMER_CHANNELS
from answerdesk.admin.templating import render
from answerdesk.analytics import definitions
from answerdesk.analytics.period import Period
from answerdesk.analytics.service import AnalyticsService, Report, series
from answerdesk.auth.deps import DbSession
from answerdesk.kit.errors import ValidationFailed
from answerdesk.tenants.models import Organization

router = APIRouter(include_in_schema=False)

RANGES: dict[str, str] = {"7": "Last 7 days", "30": "Last 30 days", "90": "Last 90 days", "custom": "Custom"}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class DashboardFilters:
    """The range form; a value that does not parse falls back to 30 days with a notice, never a 500."""

    period: Period
    range: str
    channel: str
    notices: tuple[str, ...] = field(default=())

    @classmethod
    def parse(
        cls, params: Mapping[str, str], org: Organization, service: AnalyticsService
    ) -> DashboardFilters:
        notices: list[str] = []
        channel = (params.get("channel") or "").strip()
        if channel and channel not in CHANNEL_LABELS:
            notices.append(f"Ignored the channel “{channel[:40]}”: it is not one of the choices.")
            channel = ""
        chosen = (params.get("range") or "30").strip()
        if chosen not in RANGES:
            notices.append(f"Ignored the range “{chosen[:40]}”: showing the last 30 days.")
            chosen = "30"
        default = service.period(org, None, None)
        preset = (
            None if chosen == "custom" else Period.last_days(int(chosen), default.zone, today=default.end)
        )
        given = (params.get("from") or "", params.get("to") or "")
        if preset and any(given) and given != (preset.start.isoformat(), preset.end.isoformat()):
            chosen = "custom"  # dates typed into the form without choosing "Custom"
        if chosen == "custom":
            try:
                period = service.period(org, params.get("from") or None, params.get("to") or None)
            except ValidationFailed as exc:
                notices.append(f"Ignored the custom range: {exc.message}")
                chosen, period = "30", default
        else:
            period = preset or default
        return cls(period, chosen, channel, tuple(notices))

    def query(self, **extra: str) -> str:
        values = {"range": self.range, "channel": self.channel, **extra}
        if self.range == "custom":
            values |= {"from": self.period.start.isoformat(), "to": self.period.end.isoformat()}
        return urlencode({k: v for k, v in values.items() if v})

    def api_query(self) -> str:
        values = {
            "from": self.period.start.isoformat(),
            "to": self.period.end.isoformat(),
            "channel": self.channel,
        }
        return urlencode({k: v for k, v in values.items() if v})


def chats_link(f: DashboardFilters, start: date | None = None, end: date | None = None, **extra: str) -> str:
    """The Chats list behind a figure: the same conversations, by start day, channel and outcome."""
    values = {
        "start": (start or f.period.start).isoformat(),
        "end": (end or start or f.period.end).isoformat(),
        "channel": f.channel or CUSTOMER_CHANNELS,
        **extra,
    }
    return "/admin/chats?" + urlencode(values)


def tickets_link(f: DashboardFilters, **extra: str) -> str:
    values = {"view": "all", "start": f.period.start.isoformat(), "end": f.period.end.isoformat(), **extra}
    return "/admin/tickets?" + urlencode(values)


def chart_data(report: Report, f: DashboardFilters) -> dict[str, Any]:
    """What static/dashboard.js draws: labels, values and the list each bar or slice opens."""
    days = series(report, "day")
    s = report.summary
    modes = [m for m in definitions.ANSWER_MODES if s.answers_by_mode.get(m)] or list(
        definitions.ANSWER_MODES
    )
    return {
        "days": {
            "labels": [d.isoformat() for d, _ in days],
            "conversations": [v["conversations"] for _, v in days],
            "links": [chats_link(f, d) for d, _ in days],
            "sentiment": {sent: [v[f"sentiment_{sent}"] for _, v in days] for sent in definitions.SENTIMENTS},
        },
        "modes": {
            "labels": [MODE_LABELS[m] for m in modes],
            "values": [s.answers_by_mode[m] for m in modes],
            "links": [chats_link(f, mode=m) for m in modes],
        },
        "csat": {
            "labels": [f"{n} ★" for n in range(1, 6)],
            "values": [s.ratings_by_stars[str(n)] for n in range(1, 6)],
            "links": [chats_link(f, rating=str(n)) for n in range(1, 6)],
        },
        "drafts": {
            "labels": ["Sent unchanged", "Edited", "Rejected"],
            "values": [s.tickets.drafts_sent_unchanged, s.tickets.drafts_edited, s.tickets.drafts_rejected],
            # The list cannot tell an edited reply from an unchanged one: both open the sent drafts.
            "links": [tickets_link(f, draft=o) for o in ("sent", "sent", "rejected")],
        },
    }


def heat_rows(report: Report) -> list[tuple[str, list[tuple[int, float]]]]:
    """Weekday rows of (conversations, shade 0..1) per hour."""
    top = max((n for row in report.heat for n in row), default=0) or 1
    return [(WEEKDAYS[i], [(n, n / top) for n in row]) for i, row in enumerate(report.heat)]


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s" if s % 60 else f"{s // 60} min"
    if s < 86400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s / 86400:.1f} days"


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f} %"


@router.get("/admin")
async def dashboard(request: Request, ctx: Admin, db: DbSession) -> Response:
    service = AnalyticsService(db)
    org = await service.organization(ctx.organization.id)
    filters = DashboardFilters.parse(request.query_params, org, service)
    report = await service.report(org, filters.period, filters.channel or None)
    s = report.summary
    empty = s.conversations == 0 and s.tickets.opened == 0
    return render(
        request,
        "dashboard/index.html",
        report=report,
        s=s,
        empty=empty,
        filters=filters,
        ranges=RANGES,
        channels=CHANNEL_LABELS,
        mode_labels=MODE_LABELS,
        definitions=definitions.DEFINITIONS,
        charts=chart_data(report, filters),
        heat=heat_rows(report),
        duration=duration,
        percent=percent,
        chats=lambda **kw: chats_link(filters, **kw),
        tickets=lambda **kw: tickets_link(filters, **kw),
    )
