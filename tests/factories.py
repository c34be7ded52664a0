"""Plain factory functions that arrange data through the real services."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind, Membership, Role
from answerdesk.auth.service import ApiKeyService, MemberService
from answerdesk.tenants.models import Organization
from answerdesk.tenants.service import OrganizationService

PASSWORD = "correct-horse-battery-staple"


async def make_org(db: AsyncSession, name: str | None = None) -> Organization:
    name = name or f"Org {uuid.uuid4().hex[:6]}"
    org = await OrganizationService(db).create(name)
    await db.commit()
    return org


async def make_member(
    db: AsyncSession,
    org: Organization,
    role: Role = Role.admin,
    email: str | None = None,
    password: str = PASSWORD,
) -> Membership:
    email = email or f"{role}-{uuid.uuid4().hex[:6]}@example.com"
    m, _ = await MemberService(db).create(org.id, email, role, password=password)
    await db.commit()
    return m


async def make_key(
    db: AsyncSession,
    org: Organization,
    kind: ApiKeyKind = ApiKeyKind.secret,
    origins: list[str] | None = None,
    scopes: list[str] | None = None,
) -> str:
    _, token = await ApiKeyService(db).create(org.id, kind=kind, allowed_origins=origins or [], scopes=scopes)
    await db.commit()
    return token


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


@dataclass
class LoggedIn:
    client: httpx.AsyncClient
    csrf: str

    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}


def page_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> httpx.Response:
    form = await client.get("/login")
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": page_csrf(form.text)}
    )


async def logged_in(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> LoggedIn:
    response = await login(client, email, password)
    assert response.status_code == 303, response.text
    page = await client.get("/admin/account")
    return LoggedIn(client, page_csrf(page.text))
