"""Fetching web pages and sitemaps for URL imports: same host only, bounded in count, size and time."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

# Sitemap XML from a host the admin chose; ElementTree expands no external entities.
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from urllib.parse import urldefrag, urlsplit

import httpx
import structlog

from answerdesk.kit.errors import ValidationFailed

log = structlog.get_logger(__name__)
MAX_PAGE_BYTES = 5 * 1024 * 1024
# Sitemap files read per import, nested ones included: bounds the work a looping sitemap index can cause.
MAX_SITEMAPS = 50
USER_AGENT = "Answerdesk-KnowledgeImport/0.1"


class FetchFailed(ValidationFailed):
    code = "fetch_failed"


@dataclass(frozen=True)
class FetchedPage:
    url: str
    content: bytes
    content_type: str | None


def web_client(*, timeout: float, allow_private: bool) -> httpx.AsyncClient:
    """The client for imports; unless ``allow_private``, every request (redirects too) must go to a public
    address, so an import cannot be pointed at the server's own network (metadata services, databases)."""
    hooks = {} if allow_private else {"request": [_refuse_private]}
    return httpx.AsyncClient(timeout=timeout, follow_redirects=True, event_hooks=hooks)


async def _refuse_private(request: httpx.Request) -> None:
    # Checked when the request is sent; a DNS answer that changes between this lookup and the connection
    # (rebinding) is not covered: run imports behind an egress proxy where that matters.
    host = request.url.host
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, request.url.port or 443, type=socket.SOCK_STREAM
        )
    except OSError:
        raise FetchFailed(f"{request.url} could not be resolved ({host}).") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if not address.is_global:
            raise FetchFailed(
                f"{request.url} points to a private or local address ({address}); "
                "imports from private networks are off (ANSWERDESK_CRAWL_ALLOW_PRIVATE)."
            )


def same_host(a: str, b: str) -> bool:
    return (urlsplit(a).hostname or "").lower() == (urlsplit(b).hostname or "").lower()


async def fetch(client: httpx.AsyncClient, url: str) -> FetchedPage:
    """One page, with readable errors for the document's status."""
    try:
        async with client.stream("GET", url, headers={"User-Agent": USER_AGENT}) as response:
            if response.status_code >= 400:
                raise FetchFailed(f"{url} answered HTTP {response.status_code}.")
            if not same_host(str(response.url), url):
                raise FetchFailed(f"{url} redirected to another host ({response.url.host}); not imported.")
            body = bytearray()
            async for part in response.aiter_bytes():
                body.extend(part)
                if len(body) > MAX_PAGE_BYTES:
                    raise FetchFailed(f"{url} is larger than {MAX_PAGE_BYTES // 1_048_576} MB.")
            ctype = response.headers.get("content-type", "").split(";")[0].strip() or None
            return FetchedPage(str(response.url), bytes(body), ctype)
    except httpx.TimeoutException:
        raise FetchFailed(f"{url} did not answer in time.") from None
    except httpx.HTTPError as exc:
        raise FetchFailed(f"Could not fetch {url}: {type(exc).__name__}.") from None


def sitemap_entries(xml: bytes, *, base: str) -> tuple[list[str], list[str]]:
    """(page URLs, nested sitemap URLs) of a ``<urlset>`` or ``<sitemapindex>``, same host only, in order."""
    try:
        root = ET.fromstring(xml)  # noqa: S314 - see module import note
    except ET.ParseError as exc:
        raise FetchFailed(f"The sitemap is not valid XML: {exc}.") from None
    pages: list[str] = []
    sitemaps: list[str] = []
    for entry in root:
        kind = entry.tag.rsplit("}", 1)[-1]
        found = pages if kind == "url" else sitemaps if kind == "sitemap" else None
        loc = next((e for e in entry if e.tag.rsplit("}", 1)[-1] == "loc"), None)
        if found is None or loc is None or not loc.text:
            continue
        url = urldefrag(loc.text.strip())[0]
        if url and same_host(url, base) and url not in found:
            found.append(url)
    return pages, sitemaps


async def sitemap_pages(client: httpx.AsyncClient, url: str, *, limit: int) -> list[str]:
    """Pages of a sitemap, following a sitemap index into its sitemaps, until ``limit`` pages are found.

    The top sitemap must load; a nested one that fails is skipped so one bad file does not stop the rest.
    """
    pages: list[str] = []
    queue = [url]
    seen: set[str] = set()
    while queue and len(pages) < limit and len(seen) < MAX_SITEMAPS:
        current = queue.pop(0)
        if current in seen:
            continue
        seen.add(current)
        try:
            found, nested = sitemap_entries((await fetch(client, current)).content, base=url)
        except FetchFailed:
            if current == url:
                raise
            log.warning("knowledge.sitemap_skipped", sitemap=current, exc_info=True)
            continue
        pages.extend(u for u in found if u not in pages)
        queue.extend(nested)
    return pages[:limit]


def filename_for(url: str, content_type: str | None) -> str:
    """A file name whose extension tells the extractor what it is."""
    path = urlsplit(url).path
    name = path.rsplit("/", 1)[-1] or "index"
    if "." in name:
        return name
    if content_type in ("text/plain",):
        return name + ".txt"
    if content_type in ("text/markdown",):
        return name + ".md"
    if content_type == "application/pdf":
        return name + ".pdf"
    return name + ".html"
