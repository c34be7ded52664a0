"""strip_personal_data: what a customer's reply loses before it becomes an FAQ, and what it keeps."""

from __future__ import annotations

import pytest

from answerdesk.tickets.faq import condense_question
from answerdesk.tickets.privacy import domains_in, domains_of, strip_personal_data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi John,\n\nYour mailbox is full.", "Your mailbox is full."),
        ("Hello there!\nRestart the service.", "Restart the service."),
        ("Dear Mr Smith,\nPlease renew.", "Please renew."),
        ("Good morning team,\nmy site is down.", "My site is down."),
        ("Hi John, your mailbox is full.", "Your mailbox is full."),
        ("Hey, quick one: how do I add a user?", "Quick one: how do I add a user?"),
    ],
)
def test_greetings_go(text: str, expected: str) -> None:
    assert strip_personal_data(text, ["John Smith"]) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Raise the quota in cPanel.\n\nKind regards,\nSarah\nAcme Hosting Support",
        "Raise the quota in cPanel.\n\nBest regards\nSarah Jones | Acme Hosting\n+44 20 7946 0958",
        "Raise the quota in cPanel.\n\nThanks,\nTom",
        "Raise the quota in cPanel.\n\nCheers, Tom",
        "Raise the quota in cPanel.\n-- \nSarah\nSupport team",
        "Raise the quota in cPanel.\nSent from my iPhone",
    ],
)
def test_closings_and_signatures_go(text: str) -> None:
    assert strip_personal_data(text) == "Raise the quota in cPanel."


def test_a_thank_you_sentence_in_the_body_stays() -> None:
    text = "Thank you for your patience while we looked into this.\nThe quota is now 10 GB."
    assert strip_personal_data(text) == text


def test_a_long_tail_after_thanks_is_not_a_signature() -> None:
    body = "\n".join(f"Step {i}: do the thing number {i} in the control panel." for i in range(8))
    text = f"Thanks\n{body}"
    assert strip_personal_data(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Write to john.smith+billing@acme-shop.co.uk today", "Write to [email] today"),
        ("Call +44 20 7946 0958 or (555) 123-4567.", "Call [phone] or [phone]."),
        ("Call 0049 30 1234567 please", "Call [phone] please"),
        ("My number is 555-123-4567", "My number is [phone]"),
        ("Server 192.168.1.20 blocked 10.0.0.0/8", "Server [IP address] blocked [IP address]"),
        ("From 2001:db8::1 and fe80::1ff:fe23:4567:890a", "From [IP address] and [IP address]"),
        ("Card 4111 1111 1111 1111 was declined", "Card [card number] was declined"),
        ("Card 4111-1111-1111-1111 and 378282246310005", "Card [card number] and [card number]"),
        ("About ticket #482913 and ref ABC-123456", "About ticket [ticket number] and ref [ticket number]"),
        ("See case number: 77812", "See case number: [ticket number]"),
        ("Your request #NQY-293812 is closed", "Your request [ticket number] is closed"),
    ],
)
def test_contact_details_numbers_and_addresses_are_replaced(text: str, expected: str) -> None:
    assert strip_personal_data(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Use port 587 with STARTTLS, or 465 for SSL.",
        "Since 2024-01-15 at 14:02:33 the queue grew.",
        "PHP 8.2.10 is installed; version 10.2.3 of the plugin works.",
        "Order 12345678 cost 1,234.56 EUR on 15.01.2024.",
        "Set the TTL to 3600 and the MX priority to 10.",
        "Edit public_html/index.php and .htaccess, then visit ns1.ourhost.net.",
        "The time was 10:30:15 and nothing failed.",
        "Use #include <stdio.h> in C and the colour #ff0000.",
    ],
)
def test_ordinary_technical_text_is_kept(text: str) -> None:
    assert strip_personal_data(text) == text


def test_client_domains_and_their_subdomains_go_other_domains_stay() -> None:
    text = "Point www.acme-shop.com and mail.acme-shop.com at ns1.ourhost.net; see https://shop.acme-shop.com/cart"
    assert strip_personal_data(text, known_domains=["acme-shop.com"]) == (
        "Point [domain] and [domain] at ns1.ourhost.net; see https://[domain]/cart"
    )


def test_names_go_wherever_they_are() -> None:
    text = "My name is John Smith. John, please check. Mrs smith agreed."
    assert strip_personal_data(text, ["John Smith"]) == "My name is [name]. Please check. Mrs [name] agreed."


def test_known_ticket_numbers_go() -> None:
    assert (
        strip_personal_data("Re N004211: fixed", known_ticket_numbers=["N004211"])
        == "Re [ticket number]: fixed"
    )


def test_everything_at_once() -> None:
    text = (
        "Hi John,\n\nI reset the password for john@acme-shop.com and unblocked 203.0.113.9 "
        "(ticket #58213). Call me on +1 415 555 0100 if www.acme-shop.com still fails.\n\n"
        "Kind regards,\nSarah\nAcme Hosting"
    )
    assert strip_personal_data(text, ["John Smith"], known_domains=["acme-shop.com"]) == (
        "I reset the password for [email] and unblocked [IP address] (ticket [ticket number]). "
        "Call me on [phone] if [domain] still fails."
    )


def test_domains_of_skips_webmail() -> None:
    assert domains_of("bob@gmail.com") == []
    assert domains_of("bob@Acme-Shop.com", ["www.acme.io", ""]) == ["acme.io", "acme-shop.com"]


def test_domains_in_finds_domains_and_email_hosts_not_file_names() -> None:
    text = "my site www.acme-shop.com shows index.php errors; mail me at bob@bobs.io"
    assert domains_in(text) == ["acme-shop.com", "bobs.io"]


def test_condense_question() -> None:
    assert (
        condense_question("Mail down", "My email  stopped\nworking.")
        == "Mail down: My email stopped working."
    )
    # A subject the message already says adds nothing.
    assert condense_question("Email", "My email stopped working.") == "My email stopped working."
    assert condense_question("SSL", "") == "SSL"
    long = "First sentence here. " + "word " * 200
    assert condense_question("Subject", long, limit=80) == "Subject: First sentence here."
    words = "word " * 200
    cut = condense_question("S", words, limit=50)
    assert cut.endswith("…") and len(cut) <= 51
