"""A knowledge base's language: each document's detected at ingestion, the organization's the dominant one."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.db import session_scope
from answerdesk.knowledge.pipeline import ChunkBudget, prepare_faq
from answerdesk.knowledge.repository import IndexStateRepository
from answerdesk.runtime import Runtime
from tests.chat.support import add_document
from tests.factories import make_org

ENGLISH = (
    "# Backups\n\nWe back up every hosting account once a day and keep the copies for thirty days. "
    "You can restore a single file or a whole account from the backup page in your control panel."
)
GERMAN_PARAGRAPH = (
    "Wir sichern jedes Hosting-Konto einmal am Tag und bewahren die Kopien dreißig Tage lang auf. "
    "Sie können eine einzelne Datei oder das ganze Konto über die Sicherungsseite wiederherstellen. "
)


def test_faq_entries_get_a_language() -> None:
    prepared = prepare_faq(
        "Wie ändere ich mein Passwort?", "Öffnen Sie die Kontoeinstellungen.", [], ChunkBudget()
    )
    assert prepared.document.language == "de"


async def test_the_dominant_language_by_chunks_follows_each_change(
    db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    languages = runtime.knowledge_languages

    async def current() -> str | None:
        async with session_scope(runtime.sessionmaker) as session:
            return await languages.of(session, org.id)

    assert await current() is None  # nothing ingested yet
    await add_document(runtime, org.id, "backups.md", ENGLISH)
    assert await current() == "en"
    # Two German pages outweigh one English page: more of the knowledge base is German.
    await add_document(runtime, org.id, "sicherungen.md", f"# Sicherungen\n\n{GERMAN_PARAGRAPH}")
    await add_document(
        runtime,
        org.id,
        "postfach.md",
        "# Postfach\n\nSie können Ihr Postfach in den Einstellungen vergrößern.",
    )
    assert await current() == "de"
    async with session_scope(runtime.sessionmaker) as session:
        generation = await IndexStateRepository(session).generation(org.id)
        assert await languages.of(session, org.id) == "de"  # kept for this generation
        assert await IndexStateRepository(session).generation(org.id) == generation
