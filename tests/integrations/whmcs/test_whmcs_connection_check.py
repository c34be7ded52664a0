"""The admin "Test connection" result: ok, or which failure in plain words (IP, credentials, role)."""

from __future__ import annotations

from collections.abc import Callable

from tests.fakes.whmcs_server import DEFAULT_IDENTIFIER, FakeWhmcs

from answerdesk.integrations.whmcs import WhmcsClient

ClientFactory = Callable[..., WhmcsClient]

REQUIRED = [
    "GetAdminDetails",
    "GetTickets",
    "GetTicket",
    "GetSupportDepartments",
    "GetSupportStatuses",
    "GetClientsDetails",
    "AddTicketReply",
    "AddTicketNote",
    "UpdateTicket",
    "OpenTicket",
]


async def test_all_good(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.add_department("Support")
    ticket = fake.add_ticket()

    check = await whmcs.test_connection()

    assert check.ok and check.failure is None
    assert check.checked_actions == REQUIRED and check.missing_actions == []
    assert check.admin is not None and check.admin.name == "Api Admin"
    assert "Api Admin" in check.message
    # Write probes use ids that do not exist: nothing was created or changed.
    assert list(fake.tickets) == [ticket.id]
    assert len(fake.ticket(ticket.id).replies) == 1 and fake.ticket(ticket.id).notes == []


async def test_without_write_probes(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    check = await whmcs.test_connection(probe_write_actions=False)

    assert check.ok and check.checked_actions == REQUIRED[:6]
    assert fake.calls("AddTicketReply") == [] and fake.calls("OpenTicket") == []


async def test_ip_not_allowed(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.allowed_ips = {"198.51.100.7"}
    fake.caller_ip = "203.0.113.9"

    check = await whmcs.test_connection()

    assert not check.ok and check.failure == "ip_not_allowed" and check.ip == "203.0.113.9"
    assert "203.0.113.9" in check.message and "API IP Access Restriction" in check.message
    assert len(fake.requests) == 1


async def test_bad_credentials(fake: FakeWhmcs, make_client: ClientFactory) -> None:
    check = await make_client(secret="wrong-secret-xyz").test_connection()

    assert not check.ok and check.failure == "bad_credentials"
    assert "secret" in check.message and "wrong-secret-xyz" not in check.model_dump_json()


async def test_role_lacking_actions_lists_all_of_them(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    allowed = set(REQUIRED) - {"AddTicketReply", "GetClientsDetails"}
    fake.set_allowed_actions(DEFAULT_IDENTIFIER, allowed)

    check = await whmcs.test_connection()

    assert not check.ok and check.failure == "permission_denied"
    assert check.missing_actions == ["GetClientsDetails", "AddTicketReply"]
    assert check.action == "GetClientsDetails"
    assert "GetClientsDetails, AddTicketReply" in check.message and "API Roles" in check.message
    assert check.admin is not None


async def test_role_lacking_admin_details_still_probes_the_rest(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.set_allowed_actions(DEFAULT_IDENTIFIER, set(REQUIRED) - {"GetAdminDetails"})

    check = await whmcs.test_connection()

    assert check.failure == "permission_denied" and check.missing_actions == ["GetAdminDetails"]
    assert check.checked_actions == REQUIRED[1:] and check.admin is None


async def test_unavailable(fake: FakeWhmcs, whmcs: WhmcsClient) -> None:
    fake.faults.next("GetAdminDetails", "html_500", times=5)

    check = await whmcs.test_connection()

    assert not check.ok and check.failure == "unavailable" and "HTTP 500" in check.message
