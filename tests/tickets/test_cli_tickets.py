"""The exact CLI: whmcs connect/test/sync and tickets list/approve against the loopback WHMCS."""

from __future__ import annotations

import json

from tests.conftest import run_cli as run
from tests.fakes.whmcs_server import (
    DEFAULT_IDENTIFIER,
    DEFAULT_SECRET,
    FakeWhmcs,
    FakeWhmcsServer,
    LoggedRequest,
)


def posted_replies(fake: FakeWhmcs) -> list[LoggedRequest]:
    """AddTicketReply calls for real tickets (the connection test probes with ticket id 0)."""
    return [c for c in fake.calls("AddTicketReply") if c.params.get("ticketid") != "0"]


def test_connect_sync_list_approve(cli_env: None, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer) -> None:
    assert run("org", "create", "Blue Hosting", "--slug", "blue")[0] == 0
    email = "grace@example.com"
    assert (
        run("user", "create", "--org", "blue", "--email", email, "--password", "a-strong-password-1")[0] == 0
    )
    code, out, err = run(
        "whmcs", "connect", "--org", "blue", "--url", whmcs_server.base_url,
        "--identifier", DEFAULT_IDENTIFIER, "--secret", DEFAULT_SECRET, "--admin-username", "botadmin",
    )  # fmt: skip
    assert code == 0, err
    assert "saved" in out and "ok: Connected" in out and DEFAULT_SECRET not in out
    code, out, _ = run("whmcs", "test", "--org", "blue")
    assert code == 0 and out.startswith("ok:")
    fake.add_tickets(3)
    answered = fake.add_ticket("Old", "Thanks!")
    fake.add_reply(answered.id, "You're welcome", admin="Support Staff")
    code, out, err = run("whmcs", "sync", "--org", "blue")
    assert code == 0, err
    assert "listed 3 tickets in 1 pages: 3 new" in out and "drafted 3 replies" in out
    code, out, _ = run("whmcs", "sync", "--org", "blue")
    assert "0 new, 0 updated, 3 unchanged" in out and "drafted 0 replies" in out
    code, out, _ = run("tickets", "list", "--org", "blue", "--json")
    tickets = json.loads(out)["tickets"]
    assert code == 0 and len(tickets) == 3 and {t["draft_status"] for t in tickets} == {"draft"}
    code, out, _ = run("tickets", "list", "--org", "blue", "--status", "Answered")
    assert out.strip() == "no tickets"
    target = tickets[0]
    code, out, err = run(
        "tickets", "approve", "--org", "blue", target["id"], "--as", email, "--message", "Fixed, see you."
    )
    assert code == 0 and out.strip() == "sent", err
    (post,) = posted_replies(fake)
    assert post.params["message"] == "Fixed, see you." and post.params["adminusername"] == "botadmin"
    code, _, err = run("tickets", "approve", "--org", "blue", target["id"])
    assert code == 1 and "error:" in err
    assert len(posted_replies(fake)) == 1


def test_connect_reports_a_refused_ip(cli_env: None, fake: FakeWhmcs, whmcs_server: FakeWhmcsServer) -> None:
    assert run("org", "create", "Red", "--slug", "red")[0] == 0
    fake.allowed_ips = {"198.51.100.7"}
    code, out, _ = run(
        "whmcs", "connect", "--org", "red", "--url", whmcs_server.base_url,
        "--identifier", DEFAULT_IDENTIFIER, "--secret", DEFAULT_SECRET,
    )  # fmt: skip
    assert code == 1 and "test failed" in out and "127.0.0.1" in out
    code, _, err = run("whmcs", "sync", "--org", "nope")
    assert code == 1 and "nope" in err
