"""GET/PUT /api/v1/tickets/categories, and tickets classified with what was configured (real model)."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.service import AuditService
from answerdesk.kit.db import session_scope
from answerdesk.kit.jobs import InProcessQueue
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from answerdesk.tickets.categories import CLASSIFIERS, DEFAULT_CATEGORIES, MIN_SIMILARITY
from answerdesk.tickets.service import TicketService
from tests.factories import bearer, make_key
from tests.tickets.support import API, api_json, make_tenant

CATEGORIES = f"{API}/categories"
HOSTING_SET = [
    {
        "name": "Billing",
        "description": "Invoices, payments and refunds.",
        "keywords": ["Invoice", "refund"],
        "examples": ["I was charged twice", "Where can I download my bill?"],
    },
    {
        "name": "Careers",
        "description": "Job applications and working for us.",
        "keywords": [],
        "examples": [],
    },
]


async def drain(runtime: Runtime) -> None:
    assert isinstance(runtime.jobs, InProcessQueue)
    await runtime.jobs.drain(timeout=120)


async def test_defaults_until_the_organization_has_its_own(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_tenant(db)
    got = await api_json(await client.get(CATEGORIES, headers=org.headers))
    assert got["custom"] is False and got["min_similarity"] == MIN_SIMILARITY
    assert [c["name"] for c in got["categories"]] == [c.name for c in DEFAULT_CATEGORIES]
    assert all(c["description"] and c["keywords"] and c["examples"] == [] for c in got["categories"])


async def test_put_replaces_the_list_is_audited_and_keeps_other_ticket_settings(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    async with session_scope(runtime.sessionmaker) as session:
        record = await OrganizationService(session).get(org.id)
        record.settings = {**(record.settings or {}), "tickets": {"save_approved_as_faq": True}}
    saved = await api_json(
        await client.put(CATEGORIES, headers=org.headers, json={"categories": HOSTING_SET})
    )
    assert saved["custom"] is True
    assert saved["categories"][0] == {**HOSTING_SET[0], "keywords": ["invoice", "refund"]}
    assert await api_json(await client.get(CATEGORIES, headers=org.headers)) == saved
    async with runtime.sessionmaker() as fresh:
        settings = (await OrganizationService(fresh).get(org.id)).settings
        entries = await AuditService(fresh).list(org.id)
    assert settings["tickets"]["save_approved_as_faq"] is True
    assert list(settings["tickets"]["categories"]) == ["Billing", "Careers"]
    (entry,) = [e for e in entries if e.action == "ticket_categories.update"]
    assert entry.details["added"] == ["Billing", "Careers"]
    assert entry.details["removed"] == [c.name for c in DEFAULT_CATEGORIES]  # names are kept as typed

    back = await api_json(await client.put(CATEGORIES, headers=org.headers, json={"categories": []}))
    assert back["custom"] is False and back["categories"][0]["name"] == "billing"
    async with runtime.sessionmaker() as fresh:
        settings = (await OrganizationService(fresh).get(org.id)).settings
    assert "categories" not in settings["tickets"] and settings["tickets"]["save_approved_as_faq"] is True


async def test_the_first_shape_in_settings_is_served_in_the_new_one(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    async with session_scope(runtime.sessionmaker) as session:
        record = await OrganizationService(session).get(org.id)
        record.settings = {
            **(record.settings or {}),
            "tickets": {"categories": {"sales": ["Quote", "price"]}},
        }
    got = await api_json(await client.get(CATEGORIES, headers=org.headers))
    assert got["custom"] is True
    assert got["categories"] == [
        {"name": "sales", "description": "", "keywords": ["quote", "price"], "examples": []}
    ]


async def test_put_needs_the_admin_scope_and_valid_input(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    async with runtime.sessionmaker() as session:
        record = await OrganizationService(session).get(org.id)
        tickets_only = bearer(await make_key(session, record, scopes=["tickets"]))
    assert (await client.get(CATEGORIES, headers=tickets_only)).status_code == 200
    refused = await client.put(CATEGORIES, headers=tickets_only, json={"categories": HOSTING_SET})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "insufficient_scope"

    bad = await client.put(
        CATEGORIES,
        headers=org.headers,
        json={"categories": [{"name": "Billing"}, {"name": "billing", "examples": ["x" * 501]}]},
    )
    assert bad.status_code == 422
    error = bad.json()["error"]
    assert error["code"] == "validation_error"
    assert error["message"] == (
        "categories.1.name: Another category is already called 'billing' (names are compared ignoring case)."
    )
    assert [d["loc"] for d in error["details"]] == [["categories", 1, "name"], ["categories", 1, "examples"]]
    shape = await client.put(CATEGORIES, headers=org.headers, json={"categories": [{"title": "x"}]})
    assert shape.status_code == 422 and shape.json()["error"]["code"] == "validation_error"
    got = await api_json(await client.get(CATEGORIES, headers=org.headers))
    assert got["custom"] is False  # nothing was stored


async def test_categories_path_does_not_clash_with_a_ticket_id(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    org = await make_tenant(db)
    missing = await client.get(f"{API}/00000000-0000-0000-0000-000000000000", headers=org.headers)
    assert missing.status_code == 404
    assert (await client.get(CATEGORIES, headers=org.headers)).status_code == 200


async def test_a_draft_classifies_billing_by_meaning_without_a_keyword(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    created = await api_json(
        await client.post(
            API,
            headers=org.headers,
            json={
                "subject": "Two debits this month",
                "message": "My bank statement shows you took the monthly amount twice. Please send one back.",
                "customer_email": "bo@example.com",
            },
        ),
        201,
    )
    await drain(runtime)
    detail = await api_json(await client.get(f"{API}/{created['id']}", headers=org.headers))
    assert detail["category"] == "billing"
    assert detail["classification"]["reasons"][0].startswith(
        "category billing: closest to its description (0."
    )
    assert detail["drafts"]  # the draft was written with the same embedding


async def test_edited_categories_classify_the_next_ticket(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    other = await make_tenant(db)  # keeps the defaults: organizations do not share configurations
    ticket = {
        "subject": "Open positions",
        "message": "Do you have vacancies for a junior developer? I attach my CV.",
        "customer_email": "cv@example.com",
    }

    async def category_of(headers: dict[str, str]) -> tuple[str, str]:
        created = await api_json(await client.post(API, headers=headers, json=ticket), 201)
        await drain(runtime)
        detail = await api_json(await client.get(f"{API}/{created['id']}", headers=headers))
        return detail["category"], detail["classification"]["reasons"][0]

    assert (await category_of(org.headers))[0] == "general"
    await api_json(await client.put(CATEGORIES, headers=org.headers, json={"categories": HOSTING_SET}))
    fits = CLASSIFIERS.fits
    category, reason = await category_of(org.headers)
    assert category == "Careers" and reason.startswith("category Careers: closest to its description")
    assert CLASSIFIERS.fits == fits + 1
    assert (await category_of(other.headers))[0] == "general"


async def test_a_message_left_in_the_chat_is_classified_by_meaning(
    db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_tenant(db)
    async with session_scope(runtime.sessionmaker) as session:
        ticket = await TicketService(session, runtime).create_from_conversation(
            org.id,
            customer_name="Ann",
            customer_email="ann@example.com",
            message="I was billed twice for my plan this month, please send one of the amounts back.",
            transcript=[],
        )
    assert ticket.category == "billing"
    assert ticket.classification["reasons"][0].startswith("category billing: closest to its description")
