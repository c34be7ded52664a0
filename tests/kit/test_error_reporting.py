"""Sentry reporting against a loopback ingest server: errors arrive, personal data does not."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sentry_sdk
from fastapi import Request

from answerdesk.kit.error_reporting import scrub_breadcrumb
from answerdesk.main import create_app
from tests.conftest import make_settings
from tests.fakes.sentry_server import FakeSentry, serve_fake_sentry

EMAIL = "jane.doe@example.com"
SECRETS = ("ad_sk_secret-key-value", "session-cookie-value", "conversation-token-value", "csrf-value")
CONTENT = "my card number is 4111 1111 1111 1111"


@pytest.fixture
def sentry() -> Iterator[FakeSentry]:
    with serve_fake_sentry() as fake:
        try:
            yield fake
        finally:
            # Reporting is process-wide: the rest of the run must not send anything.
            sentry_sdk.get_client().close()
            sentry_sdk.get_global_scope().set_client(None)


async def test_an_unhandled_error_arrives_without_personal_data(
    database_url: str, tmp_path: Path, sentry: FakeSentry
) -> None:
    application = create_app(make_settings(database_url, tmp_path / "data", sentry_dsn=sentry.dsn()))

    # A handler that fails the way a bug would, with the customer's data in hand.
    @application.post("/api/v1/failing")
    async def failing(request: Request) -> None:
        body = await request.json()
        raise RuntimeError(f"could not route the message from {body['email']}")

    # As a server would: the 500 is sent, the error goes on to Sentry rather than into the test.
    transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as c,
    ):
        response = await c.post(
            "/api/v1/failing?token=conversation-token-value&page=2",
            headers={
                "Authorization": "Bearer ad_sk_secret-key-value",
                "Cookie": "answerdesk_session=session-cookie-value",
                "X-Conversation-Token": "conversation-token-value",
                "X-CSRF-Token": "csrf-value",
            },
            json={"content": CONTENT, "email": EMAIL},
        )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    rid = response.headers["x-request-id"]
    assert response.json()["error"]["message"] == f"Internal error (request id {rid})."
    sentry_sdk.flush(timeout=5)

    event = sentry.wait_for_events(1)[0]
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert exception["value"] == "could not route the message from [email]"
    assert event["request"]["method"] == "POST"
    assert event["request"]["url"].endswith("/api/v1/failing")
    assert "page=2" in event["request"]["query_string"]
    assert "user" not in event
    raw = sentry.raw_bodies().decode()
    for secret in (EMAIL, CONTENT, *SECRETS):
        assert secret not in raw, secret


def test_breadcrumbs_of_outgoing_calls_keep_only_method_url_and_status() -> None:
    crumb = {
        "type": "http",
        "message": f"POST to {EMAIL}",
        "data": {
            "url": "https://whmcs.example.com/includes/api.php?accesskey=abc",
            "method": "POST",
            "status_code": 200,
            "http.query": "accesskey=abc",
        },
    }
    scrubbed = scrub_breadcrumb(crumb, {})
    assert scrubbed["data"] == {
        "url": "https://whmcs.example.com/includes/api.php",
        "method": "POST",
        "status_code": 200,
    }
    assert scrubbed["message"] == "POST to [email]"
