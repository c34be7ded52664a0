"""Error mapping, retry policy for reads, and secrets kept out of messages, reprs and logs."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs
from tests.fakes.whmcs_server import (
    DEFAULT_ADMIN_PASSWORD,
    DEFAULT_ADMIN_USERNAME,
    DEFAULT_IDENTIFIER,
    DEFAULT_SECRET,
    FakeWhmcs,
)

from answerdesk.integrations.whmcs import (
    WhmcsApiError,
    WhmcsAuthError,
    WhmcsBadResponse,
    WhmcsClient,
    WhmcsCommandNotFound,
    WhmcsError,
    WhmcsInvalidCredentials,
    WhmcsIpNotAllowed,
    WhmcsPermissionDenied,
    WhmcsTimeout,
    WhmcsUnavailable,
)

ClientFactory = Callable[..., WhmcsClient]


def assert_no_secrets(exc: WhmcsError, *secrets: str) -> None:
    texts = [str(exc), repr(exc), *map(str, exc.args), getattr(exc, "explanation", "")]
    for secret in secrets:
        assert all(secret not in text for text in texts), f"secret leaked into {type(exc).__name__}"


async def test_ip_not_allowed_carries_the_ip(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.allowed_ips = {"198.51.100.7"}
    fake.caller_ip = "203.0.113.9"

    with pytest.raises(WhmcsIpNotAllowed) as caught:
        await whmcs.get_tickets()

    error = caught.value
    assert isinstance(error, WhmcsAuthError) and error.reason == "ip_not_allowed"
    assert error.ip == "203.0.113.9" and error.whmcs_message == "Invalid IP 203.0.113.9"
    assert "203.0.113.9" in str(error) and "203.0.113.9" in error.explanation
    assert "API IP Access Restriction" in error.explanation
    assert [r.status_code for r in fake.calls("GetTickets")] == [403]  # auth failures are not retried
    assert_no_secrets(error, DEFAULT_SECRET)


async def test_access_key_bypasses_the_ip_allow_list(fake: FakeWhmcs, make_client: ClientFactory) -> None:
    fake.allowed_ips = {"198.51.100.7"}
    fake.access_key = "k3y!@#$%.()*[]-_"

    assert (await make_client(accesskey="k3y!@#$%.()*[]-_").get_tickets()).total == 0
    with pytest.raises(WhmcsIpNotAllowed):
        await make_client(accesskey="wrong-key").get_tickets()
    assert all("accesskey" not in r.params for r in fake.requests)


async def test_wrong_secret(fake: FakeWhmcs, make_client: ClientFactory) -> None:
    with pytest.raises(WhmcsInvalidCredentials) as caught:
        await make_client(secret="not-the-secret-123").get_tickets()

    error = caught.value
    assert error.reason == "bad_credentials" and error.whmcs_message == "Authentication Failed"
    assert "secret" in error.explanation.lower()
    assert_no_secrets(error, "not-the-secret-123", DEFAULT_SECRET)


async def test_unknown_identifier(fake: FakeWhmcs, make_client: ClientFactory) -> None:
    with pytest.raises(WhmcsInvalidCredentials) as caught:
        await make_client(identifier="nobody").get_tickets()

    assert caught.value.whmcs_message == "Invalid or missing credentials"
    assert "identifier" in caught.value.explanation


async def test_role_without_the_action_names_it(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.set_allowed_actions(DEFAULT_IDENTIFIER, ["GetTickets"])
    ticket = fake.add_ticket()

    with pytest.raises(WhmcsPermissionDenied) as caught:
        await whmcs.get_ticket(ticket.id)
    assert caught.value.denied_action == "GetTicket" and caught.value.reason == "permission_denied"
    assert caught.value.whmcs_message == 'Invalid Permissions: API action "GetTicket" is not allowed'
    assert "GetTicket" in caught.value.explanation

    # WHMCS echoes the name as sent; we still report the canonical name.
    with pytest.raises(WhmcsPermissionDenied) as lowercase:
        await whmcs.call("getticket", {"ticketid": ticket.id})
    assert '"getticket"' in lowercase.value.whmcs_message and lowercase.value.denied_action == "GetTicket"
    assert (await whmcs.get_tickets()).total == 1


async def test_legacy_admin_login_sends_md5(fake: FakeWhmcs, make_client: ClientFactory) -> None:
    legacy = make_client(
        identifier=None,
        secret=None,
        legacy_username=DEFAULT_ADMIN_USERNAME,
        legacy_password=DEFAULT_ADMIN_PASSWORD,
    )
    assert (await legacy.get_admin_details()).name == "Api Admin"

    wrong = make_client(
        identifier=None, secret=None, legacy_username=DEFAULT_ADMIN_USERNAME, legacy_password="guess-1234"
    )
    with pytest.raises(WhmcsInvalidCredentials) as caught:
        await wrong.get_admin_details()
    assert "admin username or password" in caught.value.explanation
    digest = hashlib.md5(b"guess-1234", usedforsecurity=False).hexdigest()
    assert_no_secrets(caught.value, "guess-1234", digest)
    assert "guess" not in repr(wrong)


async def test_command_not_found(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    with pytest.raises(WhmcsCommandNotFound) as caught:
        await whmcs.call("GetSomethingNew")
    assert "GetSomethingNew" in str(caught.value) and caught.value.action == "GetSomethingNew"


async def test_result_error_carries_the_message(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    with pytest.raises(WhmcsApiError) as caught:
        await whmcs.call("GetClientsDetails", {})
    assert caught.value.whmcs_message == "Either clientid Or email Is Required"
    assert str(caught.value) == "WHMCS GetClientsDetails failed: Either clientid Or email Is Required"


async def test_html_500_is_unavailable_after_bounded_retries(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.faults.next("GetTickets", "html_500", times=10)

    with pytest.raises(WhmcsUnavailable) as caught:
        await whmcs.get_tickets()

    assert caught.value.status_code == 500 and not caught.value.outcome_unknown
    assert "HTML" in str(caught.value)
    assert len(fake.calls("GetTickets")) == 3  # 1 + max_read_retries
    assert_no_secrets(caught.value, DEFAULT_SECRET)


async def test_read_is_retried_after_a_500_then_succeeds(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.add_ticket("still there")
    fake.faults.next("GetTickets", "html_500")

    page = await whmcs.get_tickets()

    assert [t.subject for t in page.tickets] == ["still there"]
    assert [r.fault for r in fake.calls("GetTickets")] == ["html_500", None]


async def test_read_is_retried_after_429(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.faults.next("GetSupportStatuses", "http_status", status=429)

    assert len(await whmcs.get_support_statuses()) == 6
    assert len(fake.calls("GetSupportStatuses")) == 2


async def test_slow_read_times_out_and_is_retried(fake: FakeWhmcs, make_client: ClientFactory) -> None:
    fake.faults.next("GetAdminDetails", "slow", seconds=30)

    admin = await make_client(timeout=1.0).get_admin_details()

    assert admin.id == 1
    # The answer came from a second attempt; the first is still parked by the fault.
    assert fake.faults.pending("GetAdminDetails") == 0
    assert [r.fault for r in fake.calls("GetAdminDetails")] == [None]


async def test_read_timeout_when_every_attempt_is_slow(fake: FakeWhmcs, make_client: ClientFactory) -> None:
    fake.faults.next("GetAdminDetails", "slow", seconds=30, times=3)

    with pytest.raises(WhmcsTimeout) as caught:
        await make_client(timeout=0.2, max_read_retries=1).get_admin_details()

    assert not caught.value.outcome_unknown
    assert fake.faults.pending("GetAdminDetails") == 1  # exactly two attempts were made
    assert_no_secrets(caught.value, DEFAULT_SECRET)


async def test_malformed_json_is_a_bad_response(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.faults.next("GetTickets", "malformed_json")

    with pytest.raises(WhmcsBadResponse) as caught:
        await whmcs.get_tickets()

    assert "malformed JSON" in str(caught.value) and not caught.value.outcome_unknown
    assert_no_secrets(caught.value, DEFAULT_SECRET)


async def test_wrong_url_says_so(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.path_prefix = "/billing"  # WHMCS lives under /billing; the client points at the root

    with pytest.raises(WhmcsUnavailable) as caught:
        await whmcs.get_tickets()

    assert caught.value.status_code == 404 and "check the WHMCS URL" in str(caught.value)
    assert fake.requests == []  # never reached the API


async def test_html_403_from_a_firewall(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.faults.next("GetTickets", "http_status", status=403)

    with pytest.raises(WhmcsAuthError) as caught:
        await whmcs.get_tickets()

    assert caught.value.reason == "forbidden" and "firewall" in caught.value.explanation
    assert len(fake.calls("GetTickets")) == 1


async def test_refused_connection_is_unavailable(make_client: ClientFactory) -> None:
    with pytest.raises(WhmcsUnavailable) as caught:
        await make_client(base_url="http://127.0.0.1:9").get_tickets()
    assert "could not be reached" in str(caught.value) and caught.value.status_code is None


async def test_secrets_stay_out_of_reprs_and_logs(fake: FakeWhmcs, make_client: ClientFactory) -> None:
    whmcs = make_client(accesskey="access-key-77")
    fake.faults.next("GetTickets", "html_500")

    with capture_logs() as logs:
        await whmcs.get_tickets()
        fake.allowed_ips = set()
        with pytest.raises(WhmcsIpNotAllowed) as caught:
            await whmcs.get_tickets()

    logged = repr(logs)
    assert "whmcs.retry" in logged  # the retry was logged ...
    for secret in (DEFAULT_SECRET, "access-key-77", DEFAULT_IDENTIFIER):
        assert secret not in logged  # ... without credentials
        assert secret not in repr(whmcs)
    assert_no_secrets(caught.value, DEFAULT_SECRET, "access-key-77")
    assert all(not {"secret", "identifier", "accesskey"} & set(r.params) for r in fake.requests)


def test_constructor_rejects_ambiguous_auth_without_echoing_it() -> None:
    with pytest.raises(ValueError) as both:
        WhmcsClient(
            "https://example.test",
            "id",
            "top-secret-value",
            legacy_username="admin",
            legacy_password="admin-pass-1",
        )
    with pytest.raises(ValueError):
        WhmcsClient("https://example.test", "id")
    assert "top-secret-value" not in str(both.value) and "admin-pass-1" not in str(both.value)


async def test_php_warning_before_json_is_tolerated(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.add_ticket("visible")
    fake.faults.next("GetTickets", "php_notice")

    page = await whmcs.get_tickets()

    assert [t.subject for t in page.tickets] == ["visible"]
    assert len(fake.calls("GetTickets")) == 1
