"""Connecting WHMCS: secrets sealed at rest, never read back or logged; the three 403 cases in plain words."""

from __future__ import annotations

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from structlog.testing import capture_logs

from answerdesk.runtime import Runtime
from answerdesk.tickets.models import WhmcsConnection
from tests.factories import bearer, make_key, make_org
from tests.fakes.whmcs_server import DEFAULT_IDENTIFIER, DEFAULT_SECRET, FakeWhmcs, FakeWhmcsServer
from tests.tickets.support import WHMCS_API, api_json, make_tenant

ACCESS_KEY = "acc-key-7731!@"


def body(server: FakeWhmcsServer, **extra: object) -> dict[str, object]:
    return {
        "url": server.base_url,
        "identifier": DEFAULT_IDENTIFIER,
        "secret": DEFAULT_SECRET,
        "timeout_seconds": 2.0,
        **extra,
    }


async def test_connect_seals_secrets_and_never_returns_them(
    client: httpx.AsyncClient,
    db: AsyncSession,
    runtime: Runtime,
    fake: FakeWhmcs,
    whmcs_server: FakeWhmcsServer,
) -> None:
    org = await make_tenant(db)
    with capture_logs() as logs:
        result = await api_json(
            await client.put(
                f"{WHMCS_API}/connection",
                headers=org.headers,
                json=body(whmcs_server, accesskey=ACCESS_KEY, default_admin_username="botadmin"),
            )
        )
        read = await api_json(await client.get(f"{WHMCS_API}/connection", headers=org.headers))
    assert result["test"]["ok"] is True, result["test"]
    assert result["connection"]["has_accesskey"] is True
    assert read["credential_hint"].startswith("identifier …")
    for text in (str(result), str(read), str(logs)):
        assert DEFAULT_SECRET not in text and ACCESS_KEY not in text and DEFAULT_IDENTIFIER not in text
    async with runtime.sessionmaker() as session:
        row = (await session.scalars(sa.select(WhmcsConnection))).one()
    stored = " ".join(str(v) for v in (row.identifier_sealed, row.secret_sealed, row.accesskey_sealed))
    assert DEFAULT_SECRET not in stored and ACCESS_KEY not in stored and DEFAULT_IDENTIFIER not in stored
    assert all(
        v and v.startswith("v1:") for v in (row.identifier_sealed, row.secret_sealed, row.accesskey_sealed)
    )
    # The stored secrets work: a test later authenticates with them.
    test = await api_json(await client.post(f"{WHMCS_API}/test", headers=org.headers))
    assert test["ok"] is True


async def test_ip_not_allowed_names_the_ip(
    client: httpx.AsyncClient, db: AsyncSession, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    org = await make_tenant(db)
    fake.allowed_ips = {"198.51.100.7"}
    fake.caller_ip = "203.0.113.9"
    result = await api_json(
        await client.put(f"{WHMCS_API}/connection", headers=org.headers, json=body(whmcs_server))
    )
    test = result["test"]
    assert (test["ok"], test["failure"], test["ip"]) == (False, "ip_not_allowed", "203.0.113.9")
    assert "203.0.113.9" in test["message"] and "API IP Access Restriction" in test["message"]
    # The access key bypasses the allow-list: saving it (secrets kept) makes the test pass.
    fake.access_key = ACCESS_KEY
    result = await api_json(
        await client.put(
            f"{WHMCS_API}/connection",
            headers=org.headers,
            json={"url": whmcs_server.base_url, "accesskey": ACCESS_KEY},
        )
    )
    assert result["test"]["ok"] is True


async def test_wrong_credentials_in_plain_words(
    client: httpx.AsyncClient, db: AsyncSession, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    org = await make_tenant(db)
    wrong_secret = await api_json(
        await client.put(
            f"{WHMCS_API}/connection", headers=org.headers, json=body(whmcs_server, secret="nope-nope")
        )
    )
    assert wrong_secret["test"]["failure"] == "bad_credentials"
    assert "secret" in wrong_secret["test"]["message"].lower()
    unknown_id = await api_json(
        await client.put(
            f"{WHMCS_API}/connection",
            headers=org.headers,
            json=body(whmcs_server, identifier="unknown-identifier"),
        )
    )
    assert unknown_id["test"]["failure"] == "bad_credentials"
    assert "identifier" in unknown_id["test"]["message"].lower()
    assert unknown_id["connection"]["last_test_ok"] is False


async def test_role_lacking_actions_names_them(
    client: httpx.AsyncClient, db: AsyncSession, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer
) -> None:
    org = await make_tenant(db)
    fake.set_allowed_actions(
        DEFAULT_IDENTIFIER, ["GetAdminDetails", "GetTickets", "GetTicket", "GetSupportDepartments"]
    )
    result = await api_json(
        await client.put(f"{WHMCS_API}/connection", headers=org.headers, json=body(whmcs_server))
    )
    test = result["test"]
    assert test["failure"] == "permission_denied"
    assert "AddTicketReply" in test["missing_actions"] and "GetClientsDetails" in test["missing_actions"]
    assert "AddTicketReply" in test["message"]


async def test_bad_url_and_missing_secret_are_validation_errors(
    client: httpx.AsyncClient, db: AsyncSession, whmcs_server: FakeWhmcsServer
) -> None:
    org = await make_tenant(db)
    response = await client.put(
        f"{WHMCS_API}/connection", headers=org.headers, json=body(whmcs_server, url="ftp://x")
    )
    assert response.status_code == 422 and response.json()["error"]["code"] == "validation_error"
    response = await client.put(
        f"{WHMCS_API}/connection", headers=org.headers, json={"url": whmcs_server.base_url}
    )
    assert response.status_code == 422
    assert "secret" in response.json()["error"]["message"]


async def test_staff_keys_without_admin_scope_cannot_change_the_connection(
    client: httpx.AsyncClient, db: AsyncSession, whmcs_server: FakeWhmcsServer
) -> None:
    org = await make_org(db)
    tickets_only = bearer(await make_key(db, org, scopes=["tickets"]))
    response = await client.put(f"{WHMCS_API}/connection", headers=tickets_only, json=body(whmcs_server))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"
    missing = await client.get(f"{WHMCS_API}/connection", headers=tickets_only)
    assert missing.status_code == 404
