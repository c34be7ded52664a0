"""Helpers for the knowledge end-to-end tests (no tests here): API calls and a loopback website."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.jobs import InProcessQueue
from answerdesk.runtime import Runtime
from tests.factories import bearer, make_key, make_org
from tests.live import serve

API = "/api/v1/knowledge"
# Generous: the first ingest of a session loads (and may export) the embedding model.
DRAIN_SECONDS = 120.0


async def drain(runtime: Runtime, timeout: float = DRAIN_SECONDS) -> None:
    assert isinstance(runtime.jobs, InProcessQueue)
    await runtime.jobs.drain(timeout=timeout)


@dataclass
class Kb:
    """One organization's view of the knowledge API, through one app client and its secret key."""

    client: httpx.AsyncClient
    headers: dict[str, str]
    runtime: Runtime
    organization_id: uuid.UUID

    async def upload(
        self, filename: str, data: bytes, content_type: str = "application/octet-stream", **form: str
    ) -> httpx.Response:
        return await self.client.post(
            f"{API}/documents",
            headers=self.headers,
            files={"file": (filename, data, content_type)},
            data=form,
        )

    async def upload_ok(
        self, filename: str, data: bytes, content_type: str = "application/octet-stream", **form: str
    ) -> str:
        response = await self.upload(filename, data, content_type, **form)
        assert response.status_code == 202, response.text
        assert response.json()["status"] == "queued"
        doc_id: str = response.json()["id"]
        return doc_id

    async def doc(self, doc_id: str) -> dict[str, Any]:
        response = await self.client.get(f"{API}/documents/{doc_id}", headers=self.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def docs(self, **params: str) -> list[dict[str, Any]]:
        response = await self.client.get(f"{API}/documents", headers=self.headers, params=params)
        assert response.status_code == 200, response.text
        body: list[dict[str, Any]] = response.json()
        return body

    async def search(self, query: str, k: int = 5, **extra: Any) -> list[dict[str, Any]]:
        response = await self.client.post(
            f"{API}/search", headers=self.headers, json={"query": query, "k": k, **extra}
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    async def import_url(self, url: str, **options: Any) -> httpx.Response:
        return await self.client.post(f"{API}/urls", headers=self.headers, json={"url": url, **options})

    async def delete(self, doc_id: str) -> httpx.Response:
        return await self.client.delete(f"{API}/documents/{doc_id}", headers=self.headers)

    async def drain(self) -> None:
        await drain(self.runtime)

    async def ready(self, doc_id: str) -> dict[str, Any]:
        """The document once every queued job has run; fails with its error unless it is ready."""
        await self.drain()
        doc = await self.doc(doc_id)
        assert doc["status"] == "ready", doc
        return doc


async def make_kb(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime, name: str | None = None
) -> Kb:
    org = await make_org(db, name)
    return Kb(client, bearer(await make_key(db, org)), runtime, org.id)


def texts(results: list[dict[str, Any]]) -> str:
    return "\n".join(r["text"] for r in results)


def doc_ids(results: list[dict[str, Any]]) -> list[str]:
    return [r["document_id"] for r in results]


@dataclass
class Site:
    """A tiny website on 127.0.0.1: fixed pages, pages that never answer in time, pages held until released.

    A held page holds only its first request, answering with what it said when asked, once `release` is set.
    """

    pages: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    slow_paths: set[str] = field(default_factory=set)
    held_paths: set[str] = field(default_factory=set)
    redirects: dict[str, str] = field(default_factory=dict)
    requested: list[str] = field(default_factory=list)
    base_url: str = ""
    held_requested: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return self.base_url + path

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/{path:path}")
        async def page(path: str, request: Request) -> Response:
            path = "/" + path
            self.requested.append(path)
            if path in self.slow_paths:
                # Answers only after the client gave up (or the site stops), as a hung server would.
                while not self.stop.is_set() and not await request.is_disconnected():
                    await asyncio.to_thread(self.stop.wait, 0.05)
                return Response(b"too late", media_type="text/plain")
            if path in self.redirects:
                return Response(status_code=302, headers={"Location": self.redirects[path]})
            if path not in self.pages:
                return Response(b"not found", status_code=404, media_type="text/plain")
            body, content_type = self.pages[path]  # what the page says when it is asked for
            if path in self.held_paths and not self.held_requested.is_set():
                self.held_requested.set()
                await asyncio.to_thread(self.release.wait, 30)
            return Response(body, media_type=content_type)

        return app


@contextmanager
def running_site(site: Site) -> Iterator[Site]:
    with serve(site.app()) as base_url:
        site.base_url = base_url
        try:
            yield site
        finally:
            site.stop.set()
            site.release.set()


def html_page(title: str, *paragraphs: str) -> bytes:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<!doctype html><html><head><title>{title}</title></head><body><main><h1>{title}</h1>{body}"
        f"<nav><a href='/'>Home</a></nav></main></body></html>"
    ).encode()


def sitemap_index(*urls: str) -> bytes:
    entries = "".join(f"<sitemap><loc>{u}</loc></sitemap>" for u in urls)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'
    ).encode()


def sitemap(*urls: str) -> bytes:
    entries = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    ).encode()


async def wait_for(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 30.0) -> None:
    """Polls `check` until it holds; fails naming `what` after `seconds`."""
    try:
        async with asyncio.timeout(seconds):
            while not await check():
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"{what}: still not true after {seconds}s") from None


async def wait_threading_event(event: threading.Event, what: str, seconds: float = 30.0) -> None:
    if not await asyncio.to_thread(event.wait, seconds):
        raise AssertionError(f"{what}: still not true after {seconds}s")
