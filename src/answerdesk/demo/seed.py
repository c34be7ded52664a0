"""Seeds the demo organization: help-centre knowledge, widget key, tickets and 30 days of history."""

from __future__ import annotations

import uuid
from importlib import resources

from answerdesk.auth.origins import normalise_origin
from answerdesk.demo.history import seed_demo_history
from answerdesk.kit.db import session_scope
from answerdesk.kit.errors import NotFound
from answerdesk.knowledge.service import KnowledgeService
from answerdesk.knowledge.tasks import run_ingest
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService
from answerdesk.tickets.demo import seed_demo_tickets
from answerdesk.widget.service import WidgetService

DEMO_ORG_SLUG = "demo"


def demo_files() -> list[tuple[str, bytes]]:
    folder = resources.files("answerdesk.demo") / "content"
    return sorted(
        (entry.name, entry.read_bytes())
        for entry in folder.iterdir()
        if entry.name.endswith((".md", ".json"))
    )


async def seed_demo_knowledge(runtime: Runtime, organization_id: uuid.UUID) -> int:
    """Uploads and ingests every demo document now (not in the background); returns the chunk count."""
    ids: list[uuid.UUID] = []
    async with session_scope(runtime.sessionmaker) as db:
        service = KnowledgeService.of(db, runtime)
        for name, data in demo_files():
            tags = ["faq"] if name == "faq.json" else [name.removesuffix(".md")]
            doc = await service.upload(organization_id, filename=name, data=data, tags=tags)
            ids.append(doc.id)
    for doc_id in ids:
        await run_ingest(runtime, organization_id, doc_id)
    async with session_scope(runtime.sessionmaker) as db:
        service = KnowledgeService.of(db, runtime)
        return await service.chunks.count(organization_id)


async def ensure_demo_widget_key(runtime: Runtime) -> str | None:
    """The public key /demo embeds, allowed from base_url's origin: kept from an earlier run, or made now."""
    origin = normalise_origin(runtime.settings.base_url)
    async with session_scope(runtime.sessionmaker) as db:
        try:
            org = await OrganizationService(db).by_slug(DEMO_ORG_SLUG)
        except NotFound:
            return None
        return (await WidgetService(db).ensure_embed_key(org.id, origin)).token


async def ensure_demo_tickets(runtime: Runtime) -> int:
    """The example tickets of the review queue, with drafts; only those missing are added (and counted)."""
    async with session_scope(runtime.sessionmaker) as db:
        try:
            org = await OrganizationService(db).by_slug(DEMO_ORG_SLUG)
        except NotFound:
            return 0
        org_id = org.id
    return await seed_demo_tickets(runtime, org_id)


async def ensure_demo_history(runtime: Runtime) -> int:
    """Thirty days of conversations and tickets for the dashboard and the gap report; added once."""
    async with session_scope(runtime.sessionmaker) as db:
        try:
            org = await OrganizationService(db).by_slug(DEMO_ORG_SLUG)
        except NotFound:
            return 0
        org_id = org.id
    return await seed_demo_history(runtime, org_id)
