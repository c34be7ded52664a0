"""A bounded schemathesis run over every operation of the OpenAPI schema: no input may cause a 5xx.

The schemathesis CLI (examples, coverage and fuzzing phases; fixed seed; a few examples per operation; about
1.5 minutes on SQLite) against a real uvicorn server on 127.0.0.1. Callers: a secret API key with every
scope; the staff-only live-chat operations get a logged-in session with its CSRF token. Path ids are real
ones (a conversation, an FAQ, a ticket), so the handlers behind the 404 are reached with fuzzed input too.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from answerdesk.auth.models import Scope
from answerdesk.kit.db import create_engine, create_sessionmaker
from answerdesk.main import create_app
from tests.conftest import make_settings
from tests.factories import PASSWORD, make_key, make_member, make_org, page_csrf
from tests.live import serve

EXAMPLES_PER_OPERATION = 12
SEED = "20261207"
UNLIMITED = "100000/minute"
# Operations only a logged-in staff member may call (an API key gets 403).
STAFF_ONLY = ("/takeover", "/handback", "/assign", "/notes", "/replies")


@dataclass
class Caller:
    key_headers: dict[str, str]
    session_cookies: dict[str, str]
    session_headers: dict[str, str]
    ids: dict[str, str]


async def _arrange(database_url: str) -> tuple[str, str]:
    engine = create_engine(database_url)
    maker = create_sessionmaker(engine)
    async with maker() as db:
        org = await make_org(db)
        member = await make_member(db, org)
        key = await make_key(db, org, scopes=[s.value for s in Scope])
        email = member.user.email
    await engine.dispose()
    return key, email


def _login(base_url: str, email: str) -> tuple[dict[str, str], str]:
    with httpx.Client(base_url=base_url) as c:
        form = c.get("/login")
        r = c.post(
            "/login",
            data={
                "email": email,
                "password": PASSWORD,
                "csrf_token": page_csrf(form.text),
            },
        )
        assert r.status_code == 303, r.text
        page = c.get("/admin/account")
        return dict(c.cookies), page_csrf(page.text)


def _real_ids(base_url: str, headers: dict[str, str]) -> dict[str, str]:
    """Creates one of each thing a path can name, through the API."""
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as c:
        conversation = c.post("/api/v1/conversations", json={}).json()
        faq = c.post(
            "/api/v1/knowledge/faqs",
            json={"question": "How do I reset my password?", "answer": "Use the link on the login page."},
        ).json()
        ticket = c.post(
            "/api/v1/tickets",
            json={"subject": "Site down", "message": "My site is down.", "customer_email": "c@example.com"},
        )
        ids = {"conversation_id": conversation["id"], "document_id": faq["id"]}
        if ticket.status_code == 201:
            ids["ticket_id"] = ticket.json()["id"]
        return ids


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[tuple[str, Caller]]:
    settings_ = make_settings(
        database_url,
        tmp_path / "data",
        chat_start_limit_per_ip=UNLIMITED,
        chat_message_limit_per_ip=UNLIMITED,
        chat_signal_limit_per_ip=UNLIMITED,
        chat_limit_per_key=UNLIMITED,
        login_max_failures=100_000,
        crawl_allow_private=False,  # URL imports must not reach anything from the test
        crawl_timeout_seconds=1.0,
    )
    key, email = asyncio.run(_arrange(database_url))
    with serve(create_app(settings_)) as base_url:
        cookies, csrf = _login(base_url, email)
        headers = {"Authorization": f"Bearer {key}"}
        yield base_url, Caller(headers, cookies, {"X-CSRF-Token": csrf}, _real_ids(base_url, headers))


def _schemathesis(
    base_url: str,
    workdir: Path,
    name: str,
    headers: dict[str, str],
    filters: list[str],
    ids: dict[str, str] | None = None,
) -> tuple[int, str]:
    config = workdir / f"{name}.toml"
    lines = ["[parameters]"] + [f'"path.{k}" = "{v}"' for k, v in (ids or {}).items()]
    config.write_text("\n".join(lines) + "\n")
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(config),
        "run",
        f"{base_url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        SEED,
        "--no-shrink",
        "--workers",
        "1",
        "--request-timeout",
        "30",
        "--suppress-health-check",
        "all",
        "--warnings",
        "off",
        *[arg for key, value in headers.items() for arg in ("-H", f"{key}: {value}")],
        *filters,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=workdir)
    return done.returncode, done.stdout + done.stderr


def test_no_operation_answers_with_a_server_error(served: tuple[str, Caller], tmp_path: Path) -> None:
    base_url, caller = served
    staff = "|".join(STAFF_ONLY)
    cookie = "; ".join(f"{k}={v}" for k, v in caller.session_cookies.items())
    runs = {
        "api_key": (caller.key_headers, ["--exclude-path-regex", f"({staff}|/events)$"], caller.ids),
        "staff": (
            {**caller.session_headers, "Cookie": cookie},
            ["--include-path-regex", f"({staff})$"],
            caller.ids,
        ),
        # A real conversation's event stream never ends: fuzzed with made-up ids only.
        "streams": (caller.key_headers, ["--include-path-regex", "/events$"], None),
    }
    reports = []
    for name, (headers, filters, ids) in runs.items():
        code, output = _schemathesis(base_url, tmp_path, name, headers, filters, ids)
        if code != 0:
            reports.append(f"--- {name} (exit {code})\n{output[-6000:]}")
    assert not reports, "\n".join(reports)
