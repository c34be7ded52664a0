"""Ticket categories admin page over HTTP: edit round trip, validation beside the fields, staff read-only."""

from __future__ import annotations

import html
import re
import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role
from answerdesk.auth.service import AuditService
from answerdesk.runtime import Runtime
from answerdesk.tenants.models import Organization
from answerdesk.tickets.categories import DEFAULT_CATEGORIES, Category, CategoryService
from tests.factories import LoggedIn, logged_in, make_member, make_org

PAGE = "/admin/tickets/categories"


async def member_of(
    client: httpx.AsyncClient, db: AsyncSession, role: Role = Role.admin, org: Organization | None = None
) -> tuple[Organization, LoggedIn]:
    org = org or await make_org(db, "Categories Co")
    m = await make_member(db, org, role)
    return org, await logged_in(client, m.user.email)


def form_of(categories: list[Category], csrf: str, **extra: str) -> dict[str, str]:
    """What the page posts for these categories (keywords and examples one per line, as browsers send)."""
    data = {"csrf_token": csrf}
    for i, c in enumerate(categories):
        data |= {
            f"name_{i}": c.name,
            f"description_{i}": c.description,
            f"keywords_{i}": "\r\n".join(c.keywords),
            f"examples_{i}": "\r\n".join(c.examples),
        }
    data |= {f"{f}_{len(categories)}": "" for f in ("name", "description", "keywords", "examples")}
    return data | extra


def field_value(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no input {name}"
    return html.unescape(match.group(1))


def textarea(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    assert match, f"no textarea {name}"
    return html.unescape(match.group(1))


def hint(page: str, key: str) -> str:
    match = re.search(rf'<small id="{key}-hint" class="field-error" role="alert">(.*?)</small>', page, re.S)
    assert match, f"no error shown for {key}"
    return html.unescape(match.group(1))


async def stored(runtime: Runtime, organization_id: uuid.UUID) -> tuple[tuple[Category, ...], bool]:
    async with runtime.sessionmaker() as fresh:
        return await CategoryService(fresh).get(organization_id)


async def test_admin_renames_describes_removes_and_adds_categories(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, admin = await member_of(client, db)
    tickets_page = await client.get("/admin/tickets")
    assert 'href="/admin/tickets/categories"' in tickets_page.text
    page = await client.get(PAGE)
    assert page.status_code == 200 and "<h1>Ticket categories</h1>" in page.text
    assert "these are Answerdesk's defaults" in page.text
    assert field_value(page.text, "name_0") == "billing"
    assert field_value(page.text, "description_0") == DEFAULT_CATEGORIES[0].description
    assert textarea(page.text, "keywords_0") == "\n".join(DEFAULT_CATEGORIES[0].keywords)
    assert field_value(page.text, "name_6") == ""  # the empty "Add a category" row

    edited = list(DEFAULT_CATEGORIES)
    edited[0] = Category("Invoices", "Bills and money back.", ("invoice", "Refund"), ("Charged twice",))
    form = form_of(edited, admin.csrf, remove_3="on")  # ssl goes
    form |= {
        "name_6": "Careers",
        "description_6": "Job applications.",
        "examples_6": "Are you hiring?\r\n\r\nI would like to apply.",
    }
    saved = await client.post(PAGE, data=form)
    assert saved.status_code == 303 and saved.headers["location"] == PAGE
    page = await client.get(PAGE)
    assert "Ticket categories saved. The next ticket is classified with them." in page.text
    assert "Answerdesk's defaults" not in page.text and "Restore the defaults" in page.text
    categories, custom = await stored(runtime, org.id)
    assert custom
    assert [c.name for c in categories] == ["Invoices", "email", "domains", "hosting", "account", "Careers"]
    assert categories[0] == Category(
        "Invoices", "Bills and money back.", ("invoice", "refund"), ("Charged twice",)
    )
    assert categories[-1].examples == ("Are you hiring?", "I would like to apply.")
    assert textarea(page.text, "examples_5") == "Are you hiring?\nI would like to apply."
    async with runtime.sessionmaker() as fresh:
        (entry,) = [
            e for e in await AuditService(fresh).list(org.id) if e.action == "ticket_categories.update"
        ]
    assert entry.details == {
        "added": ["Invoices", "Careers"],
        "removed": ["billing", "ssl"],
        "changed": [],
    }
    # The queue's category filter offers what is configured now.
    queue = await client.get("/admin/tickets")
    options = re.search(r'<select id="t-category".*?</select>', queue.text, re.S)
    assert options is not None
    assert re.findall(r'<option value="([^"]+)"', options.group(0)) == [
        "account",
        "Careers",
        "domains",
        "email",
        "hosting",
        "Invoices",
    ]

    again = await client.post(PAGE, data=form_of(list(categories), admin.csrf))
    assert again.status_code == 303
    assert "Nothing changed." in (await client.get(PAGE)).text

    reset = await client.post(f"{PAGE}/reset", data={"csrf_token": admin.csrf})
    assert reset.status_code == 303
    assert "The default categories are back in use." in (await client.get(PAGE)).text
    assert await stored(runtime, org.id) == (DEFAULT_CATEGORIES, False)


async def test_mistakes_are_shown_beside_their_fields_and_the_input_is_kept(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, admin = await member_of(client, db)
    rows = [
        Category("Billing", "Money."),
        Category("BILLING", examples=("ok", "x" * 501)),
        Category("y" * 61),
    ]
    page = await client.post(PAGE, data=form_of(rows, admin.csrf))
    assert page.status_code == 422
    assert "Please correct the fields marked below; nothing was saved." in page.text
    assert hint(page.text, "name_1") == (
        "Another category is already called 'BILLING' (names are compared ignoring case)."
    )
    assert hint(page.text, "examples_1") == "Example 2 has 501 characters; use at most 500."
    assert hint(page.text, "name_2") == "Use at most 60 characters for the name (this one has 61)."
    assert 'id="tc-name-1" name="name_1" value="BILLING"' in page.text and 'aria-invalid="true"' in page.text
    assert textarea(page.text, "examples_1") == "ok\n" + "x" * 501
    assert field_value(page.text, "name_2") == "y" * 61
    assert await stored(runtime, org.id) == (DEFAULT_CATEGORIES, False)

    everything_removed = form_of(list(DEFAULT_CATEGORIES), admin.csrf) | {
        f"remove_{i}": "on" for i in range(len(DEFAULT_CATEGORIES))
    }
    page = await client.post(PAGE, data=everything_removed)
    assert page.status_code == 422 and "Keep at least one category" in page.text
    assert 'name="remove_0" checked' in page.text

    forged = await client.post(PAGE, data=form_of([Category("Sales")], "not-the-token"))
    assert forged.status_code == 403 and "The form expired" in forged.text
    assert await stored(runtime, org.id) == (DEFAULT_CATEGORIES, False)


async def test_staff_see_the_categories_but_cannot_change_them(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org, staff = await member_of(client, db, Role.staff)
    async with runtime.sessionmaker() as session:
        await CategoryService(session).replace(
            org.id, [Category("Billing", "Money.", ("invoice",), ("Charged twice", "Where is my bill?"))]
        )
        await session.commit()
    page = await client.get(PAGE)
    assert page.status_code == 200
    assert 'data-testid="categories-table"' in page.text and "<form" not in page.text.split("<main", 1)[-1]
    assert "Only organization admins can change the categories." in page.text
    assert "<strong>Billing</strong>" in page.text and "2 examples" in page.text
    refused: dict[str, Any] = {"data": form_of([Category("Sales")], staff.csrf)}
    denied = await client.post(PAGE, **refused)
    assert (
        denied.status_code == 403
        and "Only organization admins can change the ticket categories." in denied.text
    )
    assert (await client.post(f"{PAGE}/reset", data={"csrf_token": staff.csrf})).status_code == 403
    categories, custom = await stored(runtime, org.id)
    assert custom and [c.name for c in categories] == ["Billing"]
