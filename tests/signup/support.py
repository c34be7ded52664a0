"""Helpers for sign-up tests: an app with a given sign-up mode, the form's CSRF, the link in a mail."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from tests.conftest import make_settings, started_app
from tests.fakes.smtp_server import SmtpServer


def signup_settings_values(smtp: SmtpServer | None = None, **overrides: object) -> dict[str, object]:
    values: dict[str, object] = {"signup": "open"}
    if smtp is not None:
        values.update(
            smtp_host=smtp.host, smtp_port=smtp.port, smtp_starttls=False, smtp_from="hello@answerdesk.test"
        )
    values.update(overrides)
    return values


@asynccontextmanager
async def signup_app(
    database_url: str, tmp_path: Path, smtp: SmtpServer | None = None, **overrides: object
) -> AsyncIterator[FastAPI]:
    settings = make_settings(database_url, tmp_path / "data", **signup_settings_values(smtp, **overrides))
    async with started_app(settings) as app:
        yield app


def form_csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no csrf_token on the sign-up form"
    return match.group(1)


async def sign_up(
    client: httpx.AsyncClient,
    *,
    email: str = "founder@newco.example",
    organization: str = "NewCo Support",
    password: str = "a-long-enough-passphrase",
    confirm: str | None = None,
    invite: str = "",
) -> httpx.Response:
    page = await client.get("/signup", params={"invite": invite} if invite else None)
    assert page.status_code == 200, page.text
    return await client.post(
        "/signup",
        data={
            "organization_name": organization,
            "name": "Fran Founder",
            "email": email,
            "password": password,
            "confirm_password": password if confirm is None else confirm,
            "invite_code": invite,
            "csrf_token": form_csrf(page.text),
        },
    )


def link_in(body: str) -> str:
    match = re.search(r"https?://\S+/signup/verify\?token=\S+", body)
    assert match, body
    return match.group(0)
