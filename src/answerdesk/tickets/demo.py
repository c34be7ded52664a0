"""Example tickets for the demo organization, drafted by the real drafting service, so the queue has work."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from answerdesk.kit.db import session_scope, utcnow
from answerdesk.runtime import Runtime
from answerdesk.tickets.drafting import draft_reply
from answerdesk.tickets.models import Author, NativeStatus, Ticket, TicketMessage, TicketSource

# Demo tickets carry "demo-<key>" as their external id: the unique (organization, source, external id)
# makes seeding idempotent, and a real native ticket never has one.
DEMO_PREFIX = "demo-"


@dataclass(frozen=True)
class DemoTicket:
    key: str
    subject: str
    customer: str
    email: str
    hours_ago: float
    # (author, text) oldest first; the last one is the customer's, so a draft is due.
    thread: tuple[tuple[str, str], ...]
    department: str = "Support"


DEMO_TICKETS: tuple[DemoTicket, ...] = (
    DemoTicket(
        "email-stopped",
        "E-mail stopped working since this morning",
        "Priya Shah",
        "priya@shah-design.example",
        3,
        (
            (
                Author.customer,
                "Hi, since this morning Outlook keeps asking for my password and no new e-mails arrive "
                "in my mailbox info@shah-design.example. Sending gives an error too. Which IMAP and SMTP "
                "settings should I use?",
            ),
        ),
    ),
    DemoTicket(
        "ssl-renewal",
        "SSL certificate expired — browser says not secure",
        "Tom Becker",
        "tom@becker-bikes.example",
        5,
        (
            (
                Author.customer,
                "Our shop shows a 'Not secure' warning since yesterday. I thought the SSL certificate "
                "renews automatically? How do I renew it or force the renewal?",
            ),
        ),
    ),
    DemoTicket(
        "nameservers",
        "Which nameservers do I use for my new domain?",
        "Lena Fischer",
        "lena.fischer@example.org",
        20,
        (
            (
                Author.customer,
                "I registered lenafischer-photo.example elsewhere and want to host it with you. Which "
                "nameservers do I enter, and how long until the site shows up?",
            ),
        ),
        department="Domains",
    ),
    DemoTicket(
        "refund",
        "Refund request for my hosting plan",
        "Marco Rossi",
        "marco.rossi@example.net",
        26,
        (
            (
                Author.customer,
                "Hello, I signed up for the Business plan 10 days ago but our agency will host the site "
                "instead. Can I cancel and get a refund of the invoice I paid?",
            ),
        ),
        department="Billing",
    ),
    DemoTicket(
        "outage",
        "WEBSITE DOWN AGAIN!!! Losing orders",
        "Gareth Owen",
        "gareth@owen-outdoor.example",
        0.5,
        (
            (
                Author.customer,
                "Our website is down AGAIN, second time this week. Customers cannot order and we are "
                "losing money every minute. This is completely unacceptable, fix it immediately!!!",
            ),
        ),
    ),
    DemoTicket(
        "cpanel-password",
        "Can't log in to cPanel",
        "Sofia Lindqvist",
        "sofia@lindqvist.example",
        8,
        (
            (Author.customer, "How do I log in to cPanel? The password I set does not work any more."),
            (
                Author.staff,
                "Hi Sofia, you can reset the cPanel password from the client area under your service. "
                "Let us know if that does not help.",
            ),
            (
                Author.customer,
                "I did reset it, but now it says my IP address is blocked after too many failed logins. "
                "What can I do?",
            ),
        ),
    ),
    DemoTicket(
        "backup-restore",
        "Restore yesterday's backup of my WordPress site",
        "Hannah Okafor",
        "hannah@okafor-consulting.example",
        12,
        (
            (
                Author.customer,
                "I broke my WordPress site with a plugin update. Do you keep daily backups, and how "
                "can I restore yesterday's copy myself?",
            ),
        ),
    ),
    DemoTicket(
        "domain-transfer",
        "Transfer my .co.uk domain to Northwind",
        "James Whitfield",
        "james@whitfield-law.example",
        48,
        (
            (
                Author.customer,
                "We would like to move whitfield-law.co.uk to you. Is there an auth code for .co.uk "
                "domains, and does the transfer cost anything?",
            ),
        ),
        department="Domains",
    ),
)


async def seed_demo_tickets(runtime: Runtime, organization_id: uuid.UUID) -> int:
    """Adds the demo tickets the organization lacks and drafts a reply for each; returns how many."""
    now = utcnow()
    added: list[uuid.UUID] = []
    async with session_scope(runtime.sessionmaker) as db:
        existing = set(
            await db.scalars(
                sa.select(Ticket.external_id).where(
                    Ticket.organization_id == organization_id,
                    Ticket.source == TicketSource.native,
                    Ticket.external_id.like(f"{DEMO_PREFIX}%"),
                )
            )
        )
        for n, demo in enumerate(DEMO_TICKETS, start=1):
            if f"{DEMO_PREFIX}{demo.key}" in existing:
                continue
            opened = now - timedelta(hours=demo.hours_ago)
            ticket = Ticket(
                organization_id=organization_id,
                source=TicketSource.native,
                external_id=f"{DEMO_PREFIX}{demo.key}",
                tid=f"D{1000 + n}",
                subject=demo.subject,
                status=NativeStatus.open,
                department=demo.department,
                client_name=demo.customer,
                client_email=demo.email,
                awaiting_reply=True,
                opened_at=opened,
                created_at=opened,
            )
            db.add(ticket)
            await db.flush()
            step = timedelta(hours=demo.hours_ago) / (len(demo.thread) + 1)
            for i, (author, text) in enumerate(demo.thread):
                at = opened + step * i
                db.add(
                    TicketMessage(
                        organization_id=organization_id,
                        ticket_id=ticket.id,
                        author=author,
                        author_name=demo.customer if author == Author.customer else "Northwind Support",
                        content=text,
                        created_at=at,
                    )
                )
                ticket.last_message_at = at
                if author == Author.customer:
                    ticket.last_customer_message_at = at
            if len(demo.thread) > 1:
                ticket.status = NativeStatus.in_progress
            added.append(ticket.id)
    for ticket_id in added:
        await draft_reply(runtime, organization_id, ticket_id)
    return len(added)
