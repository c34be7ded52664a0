"""Exact product terms and error codes find their own chunk first among look-alike documents."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.runtime import Runtime
from tests.knowledge.ingest_support import make_kb

# The target: one guide whose three sections each mention one exact term, long enough to be a chunk each.
TROUBLESHOOTING = b"""# Troubleshooting guide

## The browser refuses the secure connection

When Chrome or Edge shows ERR_SSL_PROTOCOL_ERROR, the server offered no TLS version or cipher the browser
still accepts. This usually follows an upgrade of the web server that left only TLS 1.0 enabled, or a proxy
in front of the site that terminates HTTPS with an old configuration. Open the SSL/TLS settings of your
hosting account, enable TLS 1.2 and TLS 1.3, save, and restart the web server from the services page. Clear
the browser cache afterwards, because Chrome remembers a failed handshake for a few minutes. If the message
stays, test the site with an external SSL checker and send us the report so we can compare the protocol list
with what your visitors' browsers support.

## Moving a UK domain to us

A .co.uk domain is not moved with an authorisation code like most other domains. Instead the current
registrar changes the domain's IPS tag at Nominet to our tag NORTHWIND. Ask your old provider to make that
change, or do it yourself in their control panel if they offer it. Once the tag is ours the domain appears in
your account within a few hours, and there is no transfer fee and no extra year added to the registration.
Check that the contact e-mail address at Nominet is correct before you start, because renewal notices go
there, and keep the existing nameservers until the website has been moved as well.

## Logging in to the hosting panel

Log in to cPanel at https://your-domain:2083 with the username and password from your welcome e-mail. If
the domain does not point to us yet, use the server host name shown in the client area instead of your
domain. Resellers manage their customers in WHM at port 2087 with the same password. After five failed
attempts the firewall blocks your IP address for fifteen minutes; wait, or ask support to unblock it. The
password can be reset from the client area under Services, then Login details, and the new password works
at once for the file manager, the databases and webmail.
"""
# Look-alikes: the same topics, other error codes, other domain endings, other control panels.
SSL = b"""# SSL certificate errors

NET::ERR_CERT_DATE_INVALID means the certificate has expired: run AutoSSL again to renew it.
ERR_CERT_COMMON_NAME_INVALID means the certificate was issued for another host name, often www versus the
bare domain. SSL handshake errors through a proxy (error 525) mean the proxy and the server could not agree
on a protocol or cipher. Mixed content warnings come from images loaded over plain HTTP.
"""
BROWSER = b"""# Browser error messages

ERR_CONNECTION_REFUSED means nothing answers on the port. ERR_NAME_NOT_RESOLVED and
DNS_PROBE_FINISHED_NXDOMAIN mean the domain has no DNS record yet. ERR_TOO_MANY_REDIRECTS appears when two
redirect rules send the browser back and forth, a common protocol mistake when HTTPS is forced twice.
"""
DOMAINS = b"""# Domain transfers

Transfers of .com, .net and .org domains need the EPP authorisation code from the old registrar and take up
to five days. German .de and Dutch .nl domains move with an AuthInfo code. Domains ending in .uk, .org.uk or
.me.uk renew every year; .io and .co domains renew on their own schedule.
"""
PANELS = b"""# Control panels

Plesk servers are managed at port 8443 and DirectAdmin listens on port 2222. Each control panel has a
file manager, e-mail accounts and a database page. Use the panel's password reset link if you cannot log
in, and contact support when the panel does not load.
"""
DOCUMENTS = {
    "troubleshooting.md": TROUBLESHOOTING,
    "ssl.md": SSL,
    "browser.md": BROWSER,
    "domains.md": DOMAINS,
    "panels.md": PANELS,
}


# Each term with a phrase only its own section of the guide contains.
TERMS = {
    "ERR_SSL_PROTOCOL_ERROR": "Chrome or Edge shows ERR_SSL_PROTOCOL_ERROR",
    ".co.uk": "A .co.uk domain is not moved",
    "cPanel": "Log in to cPanel",
}


async def test_exact_terms_find_their_chunk_first(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    kb = await make_kb(client, db, runtime)
    ids = {name: await kb.upload_ok(name, data, "text/markdown") for name, data in DOCUMENTS.items()}
    await kb.drain()
    wrong = {}
    for term, needle in TERMS.items():
        results = await kb.search(term, k=5)
        # Each section of the guide is its own chunk, so the first hit names the passage, not just the file.
        assert sum(needle in r["text"] for r in results) <= 1
        top: dict[str, Any] = results[0] if results else {"document_id": None, "text": ""}
        if top["document_id"] != ids["troubleshooting.md"] or needle not in str(top["text"]):
            wrong[term] = [(r["title"], r["text"][:70]) for r in results]
    assert not wrong, wrong
