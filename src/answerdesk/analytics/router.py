"""JSON and CSV API: /analytics/summary, /analytics/timeseries and CSV downloads; admins, staff and secret
keys with the admin or tickets scope (per organization, never a public key)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from answerdesk.analytics.schemas import Interval, SummaryRead, TimeseriesRead
from answerdesk.analytics.service import AnalyticsService, summary_csv
from answerdesk.auth.deps import CurrentPrincipal, DbSession
from answerdesk.auth.models import Scope
from answerdesk.auth.service import Principal
from answerdesk.kit.errors import Forbidden
from answerdesk.tenants.models import Organization

router = APIRouter(prefix="/analytics", tags=["analytics"])


async def reader(principal: CurrentPrincipal) -> Principal:
    if principal.kind == "public" or not (principal.can(Scope.admin) or principal.can(Scope.tickets)):
        raise Forbidden("This credential may not read analytics.", code="insufficient_scope")
    return principal


Reader = Annotated[Principal, Depends(reader)]
From = Annotated[str | None, Query(alias="from", max_length=40, description="YYYY-MM-DD, org time zone")]
To = Annotated[str | None, Query(alias="to", max_length=40, description="YYYY-MM-DD, included")]
ChannelQ = Annotated[str | None, Query(max_length=40)]


async def _org(db: DbSession, principal: Principal) -> Organization:
    return await AnalyticsService(db).organization(principal.organization_id)


@router.get("/summary", response_model=SummaryRead)
async def summary(
    principal: Reader, db: DbSession, start: From = None, end: To = None, channel: ChannelQ = None
) -> SummaryRead:
    org = await _org(db, principal)
    service = AnalyticsService(db)
    return await service.summary(org, service.period(org, start, end), channel)


@router.get("/summary.csv", response_class=Response)
async def summary_download(
    principal: Reader, db: DbSession, start: From = None, end: To = None, channel: ChannelQ = None
) -> Response:
    org = await _org(db, principal)
    service = AnalyticsService(db)
    period = service.period(org, start, end)
    body = summary_csv(await service.summary(org, period, channel))
    return _csv(body, f"summary-{period.start}-{period.end}.csv")


@router.get("/conversations.csv", response_class=Response)
async def conversations_download(
    principal: Reader, db: DbSession, start: From = None, end: To = None, channel: ChannelQ = None
) -> Response:
    org = await _org(db, principal)
    service = AnalyticsService(db)
    period = service.period(org, start, end)
    body = await service.conversations_csv(org, period, channel)
    return _csv(body, f"conversations-{period.start}-{period.end}.csv")


@router.get("/timeseries", response_model=TimeseriesRead)
async def timeseries(
    principal: Reader,
    db: DbSession,
    metric: Annotated[str, Query(max_length=40)] = "conversations",
    interval: Interval = "day",
    start: From = None,
    end: To = None,
    channel: ChannelQ = None,
) -> TimeseriesRead:
    org = await _org(db, principal)
    service = AnalyticsService(db)
    return await service.timeseries(org, service.period(org, start, end), metric, interval, channel)


def _csv(body: str, filename: str) -> Response:
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
