"""The review queue API: urgency order, filters and search, tenant isolation, error shape."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import utcnow
from answerdesk.runtime import Runtime
from answerdesk.tickets.models import Ticket
from tests.tickets.support import API, Org, api_json, make_tenant


async def add(runtime: Runtime, org: Org, subject: str, *, hours: float, **fields: object) -> uuid.UUID:
    values: dict[str, object] = {
        "source": "native",
        "status": "open",
        "priority": "medium",
        "awaiting_reply": True,
        "client_email": "c@example.com",
        "last_customer_message_at": utcnow() - timedelta(hours=hours),
    }
    values.update(fields)
    async with runtime.sessionmaker() as db:
        ticket = Ticket(organization_id=org.id, subject=subject, **values)
        db.add(ticket)
        await db.commit()
        return ticket.id


async def test_queue_is_ordered_by_priority_frustration_then_wait(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    await add(runtime, org, "low, waiting long", hours=50, priority="low")
    await add(runtime, org, "medium calm recent", hours=1)
    await add(runtime, org, "medium calm older", hours=5)
    await add(runtime, org, "medium frustrated", hours=0.5, frustrated=True, sentiment_label="negative")
    await add(runtime, org, "medium frustrated, waiting longer", hours=3, frustrated=True)
    # Urgency (negative sentiment) orders equal priorities before the wait does.
    await add(runtime, org, "medium calm, higher urgency score", hours=0.2, urgency_score=0.5)
    await add(runtime, org, "urgent outage", hours=0.1, priority="urgent")
    await add(runtime, org, "answered high", hours=80, priority="high", awaiting_reply=False)
    page = await api_json(await client.get(API, headers=org.headers))
    assert [t["subject"] for t in page["items"]] == [
        "urgent outage",
        "medium frustrated, waiting longer",
        "medium frustrated",
        "medium calm, higher urgency score",
        "medium calm older",
        "medium calm recent",
        "low, waiting long",
        "answered high",
    ]
    assert page["total"] == 8


async def test_filters_and_search(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> None:
    org = await make_tenant(db)
    await add(
        runtime, org, "SSL expired", hours=1, category="ssl", department="Tech", source="whmcs", tid="777001"
    )
    await add(
        runtime, org, "Invoice copy", hours=2, category="billing", client_name="Ada Byron", status="closed"
    )

    async def subjects(**params: str) -> list[str]:
        page = await api_json(await client.get(API, headers=org.headers, params=params))
        return [t["subject"] for t in page["items"]]

    assert await subjects(category="ssl") == ["SSL expired"]
    assert await subjects(status="closed") == ["Invoice copy"]
    assert await subjects(department="Tech", source="whmcs") == ["SSL expired"]
    assert await subjects(search="byron") == ["Invoice copy"]
    assert await subjects(search="777001") == ["SSL expired"]
    # LIKE wildcards in a search are plain characters: "%" and "_" match only themselves.
    assert await subjects(search="%") == []
    assert await subjects(search="SSL_expired") == []
    assert await subjects(priority="urgent") == []
    bad = await client.get(API, headers=org.headers, params={"source": "email"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


async def test_other_tenants_tickets_are_404(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    mine, theirs = await make_tenant(db), await make_tenant(db)
    ticket_id = await add(runtime, theirs, "Their ticket", hours=1)
    assert (await api_json(await client.get(API, headers=mine.headers)))["items"] == []
    for method, path, body in (
        ("GET", f"{API}/{ticket_id}", None),
        ("PATCH", f"{API}/{ticket_id}", {"priority": "high"}),
        ("POST", f"{API}/{ticket_id}/draft", {}),
        ("POST", f"{API}/{ticket_id}/approve", {"text": "hi"}),
        ("POST", f"{API}/{ticket_id}/reject", {}),
        ("POST", f"{API}/{ticket_id}/reply", {"text": "hi"}),
        ("POST", f"{API}/{ticket_id}/reply", {"text": "hi", "note": True}),
    ):
        response = await client.request(method, path, headers=mine.headers, json=body)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "not_found"
    assert (await client.get(f"{API}/{ticket_id}", headers=theirs.headers)).status_code == 200


async def test_requires_a_credential(client: httpx.AsyncClient) -> None:
    response = await client.get(API)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
