"""Every analytics figure over conversations and tickets with known outcomes (SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.analytics.service import AnalyticsService
from answerdesk.analytics.tasks import roll_up_stale
from answerdesk.auth.models import ApiKeyKind, Role
from answerdesk.chat.models import Channel, Conversation, ConversationStatus, Message, Sender
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from answerdesk.tickets.models import DraftStatus
from tests.analytics.support import add_conversation, add_feedback, add_ticket
from tests.factories import bearer, logged_in, make_key, make_member, make_org

BERLIN = ZoneInfo("Europe/Berlin")
SUMMARY = "/api/v1/analytics/summary"


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN).astimezone(UTC)


async def seed(db: AsyncSession) -> tuple[Organization, date, date]:
    """Seven conversations counted in the last seven days (Berlin time), and some that are not."""
    org = await make_org(db, "Figures Co")
    org.settings = {**org.settings, "timezone": "Europe/Berlin"}
    other = await make_org(db, "Other Co")
    now = datetime.now(UTC)
    today = now.astimezone(BERLIN).date()
    start = today - timedelta(days=6)
    c, b, s = Sender.customer, Sender.bot, Sender.staff
    # A: answered by the model, rated 5, idle for days: resolved automatically.
    a = await add_conversation(
        db, org.id, at(today - timedelta(days=3), 10), [(c, 0, "neutral"), (b, 5, "llm")], rating=5
    )
    # B: no answer, handoff, staff 60 s after the handoff: not resolved.
    await add_conversation(
        db, org.id, at(today - timedelta(days=3), 11),
        [(c, 0, "negative"), (b, 5, "no_answer"), (s, 65, None)], handoff_after=5,
    )  # fmt: skip
    # C: FAQ answer, closed, rated 4: resolved.
    await add_conversation(
        db, org.id, at(today - timedelta(days=2), 9),
        [(c, 0, "positive"), (b, 2, "faq")], status=ConversationStatus.closed, rating=4,
    )  # fmt: skip
    # D: staff joined without a handoff, 120 s after the customer's first message; rated 2.
    await add_conversation(
        db, org.id, at(today - timedelta(days=2), 15), [(c, 0, "neutral"), (s, 120, None)], rating=2
    )
    # E: still going (last message an hour ago): not ended.
    await add_conversation(db, org.id, now - timedelta(hours=1), [(c, 0, "neutral"), (b, 1, "extractive")])
    # F: API channel, the customer asked for a person, then asked again once the plan's answers were used up.
    await add_conversation(
        db, org.id, now - timedelta(days=1, hours=2),
        [(c, 0, "neutral"), (b, 1, "handoff"), (c, 2, "neutral"), (b, 3, "quota")],
        channel=Channel.api, handoff_after=1,
    )  # fmt: skip
    # J: 00:30 on the first day, Berlin time (the evening before in UTC): counted.
    j = await add_conversation(db, org.id, at(start, 0, 30), [(c, 0, "neutral"), (b, 10, "llm")])
    # Thumbs: A's answer helpful, J's not.
    await add_feedback(db, a, True)
    await add_feedback(db, j, False)
    # Not counted: the playground, half an hour before the first day, another organization.
    await add_conversation(
        db, org.id, now - timedelta(days=1), [(c, 0, "neutral"), (b, 1, "llm")], channel="playground"
    )
    await add_conversation(
        db, org.id, at(start - timedelta(days=1), 23, 30), [(c, 0, "neutral"), (b, 1, "llm")]
    )
    await add_conversation(db, other.id, now - timedelta(days=1), [(c, 0, "neutral"), (b, 1, "llm")])
    # Tickets: one answered in an hour with three sent drafts (two unchanged), one rejected draft.
    await add_ticket(
        db, org.id, at(today - timedelta(days=2), 8), staff_reply_after=3600,
        drafts=((DraftStatus.sent, None), (DraftStatus.sent, " Draft  text "), (DraftStatus.sent, "Edited")),
    )  # fmt: skip
    await add_ticket(
        db, org.id, now - timedelta(days=1),
        drafts=((DraftStatus.rejected, None), (DraftStatus.superseded, None)),
    )  # fmt: skip
    await add_ticket(
        db, org.id, now - timedelta(days=20), staff_reply_after=10, drafts=((DraftStatus.sent, None),)
    )
    await db.commit()
    return org, start, today


EXPECTED = {
    "conversations": 7,
    "customer_messages": 8,
    "ai_answers": 7,
    "answers_by_mode": {
        "llm": 2,
        "faq": 1,
        "extractive": 1,
        "fallback": 0,
        "no_answer": 1,
        "handoff": 1,
        "quota": 1,
    },
    "handoffs": 2,
    "handoff_rate": 0.2857,
    "staff_replied": 2,
    "ended": 6,
    "resolved_automatically": 3,
    "automatic_resolution_rate": 0.5,
    "ratings": 3,
    "csat_avg": 3.67,
    "ratings_by_stars": {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1},
    "sentiment": {"negative": 1, "neutral": 6, "positive": 1},
    "first_response_median_seconds": 90.0,
    "answers_rated": 2,
    "answers_helpful": 1,
    "ai_accuracy": 0.5,
    "tickets": {
        "opened": 2,
        "answered": 1,
        "first_response_median_seconds": 3600.0,
        "drafts_sent_unchanged": 2,
        "drafts_edited": 1,
        "drafts_rejected": 1,
    },
}


def check(summary: dict[str, object]) -> None:
    assert {k: summary[k] for k in EXPECTED} == EXPECTED


async def test_every_figure_of_the_summary_over_the_api(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org, start, today = await seed(db)
    staff = await make_member(db, org, Role.staff)  # staff read the figures too
    await logged_in(client, staff.user.email)
    r = await client.get(SUMMARY, params={"from": start.isoformat(), "to": today.isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    check(body)
    assert body["timezone"] == "Europe/Berlin" and body["start"] == start.isoformat()

    api_only = (await client.get(SUMMARY, params={"from": start.isoformat(), "channel": "api"})).json()
    assert (api_only["conversations"], api_only["handoffs"], api_only["handoff_rate"]) == (1, 1, 1.0)
    assert api_only["answers_by_mode"]["handoff"] == 1 and api_only["automatic_resolution_rate"] == 0.0
    playground = (
        await client.get(SUMMARY, params={"from": start.isoformat(), "channel": "playground"})
    ).json()
    assert playground["conversations"] == 1

    # The first day alone: only the conversation at 00:30 Berlin time.
    first = (await client.get(SUMMARY, params={"from": start.isoformat(), "to": start.isoformat()})).json()
    assert first["conversations"] == 1 and first["answers_by_mode"]["llm"] == 1


async def test_rolled_up_figures_are_the_same_and_later_changes_are_counted_live(
    db: AsyncSession, runtime: Runtime
) -> None:
    org, start, today = await seed(db)
    service = AnalyticsService(db)
    period = service.period(org, start, today)
    before = (await service.summary(org, period)).model_dump(mode="json")  # nothing rolled up yet
    check(before)
    # The dashboard sums quarter hours; the summary reads one row of totals: the same figures.
    assert (await service.report(org, period)).summary.model_dump(mode="json") == before
    assert await roll_up_stale(runtime, margin=timedelta(0)) == 10
    assert await roll_up_stale(runtime, margin=timedelta(0)) == 0  # nothing changed since
    await db.commit()  # a fresh snapshot for this session
    assert (await service.summary(org, period)).model_dump(mode="json") == before

    # The roll-up is what is read: a message removed behind its back (no update of the conversation) is
    # still counted.
    j = next(c for c in await _conversations(db, org) if c.created_at == at(start, 0, 30))
    await db.execute(sa.delete(Message).where(Message.conversation_id == j.id, Message.sender == "customer"))
    await db.commit()
    assert (await service.summary(org, period)).customer_messages == 8

    # A staff message after the roll-up changes the conversation: it is counted live until the next run.
    a = next(c for c in await _conversations(db, org) if c.rating == 5)
    a.message_count += 1
    db.add(
        Message(
            organization_id=org.id, conversation_id=a.id, seq=a.message_count, sender="staff", content="x"
        )
    )
    await db.commit()
    after = (await service.summary(org, period)).model_dump(mode="json")
    assert after["staff_replied"] == 3 and after["resolved_automatically"] == 2
    assert await roll_up_stale(runtime, margin=timedelta(0)) == 1
    await db.commit()
    assert (await service.summary(org, period)).model_dump(mode="json") == after
    assert (await service.report(org, period)).summary.model_dump(mode="json") == after

    # A deleted conversation leaves the sums at the next run.
    c = next(c for c in await _conversations(db, org) if c.rating == 4)
    await db.execute(sa.delete(Conversation).where(Conversation.id == c.id))
    await db.commit()
    await roll_up_stale(runtime, margin=timedelta(0))
    await db.commit()
    gone = (await service.summary(org, period)).model_dump(mode="json")
    assert (gone["conversations"], gone["ratings"], gone["resolved_automatically"]) == (6, 2, 1)
    assert (await service.report(org, period)).summary.model_dump(mode="json") == gone


async def _conversations(db: AsyncSession, org: Organization) -> list[Conversation]:
    return list(await db.scalars(sa.select(Conversation).where(Conversation.organization_id == org.id)))


async def test_timeseries_by_day_and_week_in_the_org_time_zone(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org, start, today = await seed(db)
    await logged_in(client, (await make_member(db, org, Role.admin)).user.email)
    params = {"metric": "conversations", "from": start.isoformat(), "to": today.isoformat()}
    days = (await client.get("/api/v1/analytics/timeseries", params=params)).json()
    assert [p["start"] for p in days["points"]] == [(start + timedelta(days=i)).isoformat() for i in range(7)]
    assert days["points"][0]["value"] == 1 and sum(p["value"] for p in days["points"]) == 7
    assert days["points"][3]["value"] == 2  # A and B, three days ago
    weeks = (await client.get("/api/v1/analytics/timeseries", params={**params, "interval": "week"})).json()
    assert sum(p["value"] for p in weeks["points"]) == 7
    assert all(date.fromisoformat(p["start"]).weekday() == 0 for p in weeks["points"][1:])
    rate = (
        await client.get(
            "/api/v1/analytics/timeseries", params={**params, "metric": "automatic_resolution_rate"}
        )
    ).json()
    assert rate["points"][0]["value"] == 1.0  # J resolved on the first day
    resolved = (
        await client.get(
            "/api/v1/analytics/timeseries", params={**params, "metric": "resolved_automatically"}
        )
    ).json()
    assert sum(p["value"] for p in resolved["points"]) == 3
    empty_day = [p for p in rate["points"] if p["start"] == (start + timedelta(days=1)).isoformat()]
    assert empty_day[0]["value"] is None


async def test_csv_downloads(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org, start, today = await seed(db)
    await logged_in(client, (await make_member(db, org, Role.admin)).user.email)
    params = {"from": start.isoformat(), "to": today.isoformat()}
    r = await client.get("/api/v1/analytics/summary.csv", params=params)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    figures = dict(csv.reader(io.StringIO(r.text)))
    assert figures["conversations"] == "7" and figures["tickets.drafts_edited"] == "1"
    assert figures["answers_by_mode.llm"] == "2" and figures["csat_avg"] == "3.67"
    r = await client.get("/api/v1/analytics/conversations.csv", params=params)
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert len(rows) == 7
    assert sum(int(row["resolved_automatically"]) for row in rows) == 3
    assert sorted(row["channel"] for row in rows).count("api") == 1


@pytest.mark.parametrize(
    ("params", "loc"),
    [
        ({"from": "2026-13-01"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"from": "2026-02-01", "to": "2026-01-01"}, "to"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "from"),
        ({"channel": "fax"}, "channel"),
    ],
)
async def test_bad_ranges_are_a_clear_4xx(
    client: httpx.AsyncClient, db: AsyncSession, params: dict[str, str], loc: str
) -> None:
    org = await make_org(db)
    await logged_in(client, (await make_member(db, org, Role.admin)).user.email)
    r = await client.get(SUMMARY, params=params)
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error" and loc in str(r.json()["error"]["details"])
    bad_metric = await client.get("/api/v1/analytics/timeseries", params={"metric": "nope"})
    assert bad_metric.status_code == 422 and "metric" in str(bad_metric.json()["error"]["details"])


async def test_who_may_read(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org, start, _ = await seed(db)
    assert (await client.get(SUMMARY)).status_code == 401
    public = await make_key(db, org, ApiKeyKind.public, origins=["https://shop.example.com"])
    r = await client.get(SUMMARY, headers=bearer(public, origin="https://shop.example.com"))
    assert r.status_code == 403
    secret = await make_key(db, org, scopes=["tickets"])
    r = await client.get(SUMMARY, params={"from": start.isoformat()}, headers=bearer(secret))
    assert r.status_code == 200 and r.json()["conversations"] == 7
    chat_only = await make_key(db, org, scopes=["chat"])
    assert (await client.get(SUMMARY, headers=bearer(chat_only))).status_code == 403


async def test_an_empty_organization_has_zeros_and_no_rates(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_org(db)
    await logged_in(client, (await make_member(db, org, Role.admin)).user.email)
    body = (await client.get(SUMMARY)).json()
    assert body["conversations"] == 0 and body["handoff_rate"] is None and body["csat_avg"] is None
    assert body["automatic_resolution_rate"] is None and body["first_response_median_seconds"] is None
