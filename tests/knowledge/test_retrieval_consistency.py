"""Two API processes, one database: each serves the other's changes, rebuilds stale or damaged index files."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from answerdesk.config import Settings
from answerdesk.main import create_app
from answerdesk.retrieval.persist import file_sha256, read_manifest
from answerdesk.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import bearer, make_key, make_org
from tests.knowledge.ingest_support import Kb, doc_ids, texts

PLANS = b"# Plans\n\nThe Basic plan includes 10 GB of SSD storage and one website.\n"
PLANS_V2 = b"# Plans\n\nThe Basic plan now includes 50 GB of SSD storage and three websites.\n"
MAIL = b"# Mail\n\nEach mailbox holds 5 GB; archive old mail to stay under the quota.\n"


@asynccontextmanager
async def running_app(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime]]:
    """One API process: its own runtime (jobs, retriever, index folder) over the shared database."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("203.0.113.10", 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, app.state.runtime


@pytest.fixture
async def processes(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[Kb, Kb, Settings]]:
    """Process A and process B, same organization and key; B's settings are returned for restarts."""
    settings_a = make_settings(database_url, tmp_path / "a")
    settings_b = make_settings(database_url, tmp_path / "b")
    async with (
        running_app(settings_a) as (client_a, runtime_a),
        running_app(settings_b) as (client_b, runtime_b),
    ):
        async with runtime_a.sessionmaker() as db:
            org = await make_org(db)
            headers = bearer(await make_key(db, org))
        yield (Kb(client_a, headers, runtime_a, org.id), Kb(client_b, headers, runtime_b, org.id), settings_b)


def index_folder(settings: Settings, kb: Kb) -> Path:
    return settings.data_dir / "indexes" / str(kb.organization_id)


def manifest_generation(folder: Path) -> int:
    return int(json.loads((folder / "dense.manifest.json").read_text())["generation"])


async def test_changes_made_through_one_process_show_in_the_other(processes: tuple[Kb, Kb, Settings]) -> None:
    a, b, _ = processes
    mail_id = await a.upload_ok("mail.md", MAIL, "text/markdown")
    await a.ready(mail_id)
    # B builds its copy now, so that afterwards it holds an index that A's changes make stale.
    assert doc_ids(await b.search("mailbox quota", k=1)) == [mail_id]

    plans_id = await a.upload_ok("plans.md", PLANS, "text/markdown")
    await a.ready(plans_id)
    assert doc_ids(await b.search("how much storage does the Basic plan have", k=1)) == [plans_id]

    assert await a.upload_ok("plans.md", PLANS_V2, "text/markdown") == plans_id
    await a.ready(plans_id)
    found = await b.search("how much storage does the Basic plan have", k=5)
    assert "50 GB" in texts(found) and "10 GB" not in texts(found)

    assert (await a.delete(plans_id)).status_code == 204
    assert plans_id not in doc_ids(await b.search("how much storage does the Basic plan have", k=5))
    assert doc_ids(await b.search("mailbox quota", k=5)) == [mail_id]
    assert doc_ids(await a.search("mailbox quota", k=5)) == [mail_id]

    # A reindex asked through B is honoured by A too.
    assert (await b.client.post("/api/v1/knowledge/reindex", headers=b.headers)).status_code == 202
    assert doc_ids(await a.search("mailbox quota", k=5)) == [mail_id]


async def test_stale_index_file_is_rebuilt_not_trusted(processes: tuple[Kb, Kb, Settings]) -> None:
    a, b, settings_b = processes
    mail_id = await a.upload_ok("mail.md", MAIL, "text/markdown")
    await a.ready(mail_id)
    await b.search("mailbox quota")
    folder = index_folder(settings_b, b)
    old = folder.with_name("old-copy")
    shutil.copytree(folder, old)
    old_generation = manifest_generation(old)

    plans_id = await a.upload_ok("plans.md", PLANS, "text/markdown")
    await a.ready(plans_id)
    await b.search("Basic plan storage")  # B moves on to the new generation
    # B's disk now holds the older snapshot again, as after a crash or a restore from backup.
    shutil.rmtree(folder)
    shutil.copytree(old, folder)

    async with running_app(settings_b) as (client, runtime):  # B restarted: nothing in memory
        restarted = Kb(client, b.headers, runtime, b.organization_id)
        assert doc_ids(await restarted.search("how much storage does the Basic plan have", k=1)) == [plans_id]
    assert manifest_generation(folder) > old_generation


async def test_index_file_claiming_the_current_generation_with_other_chunks_is_rebuilt(
    processes: tuple[Kb, Kb, Settings],
) -> None:
    a, b, settings_b = processes
    mail_id = await a.upload_ok("mail.md", MAIL, "text/markdown")
    await a.ready(mail_id)
    await b.search("mailbox quota")
    folder = index_folder(settings_b, b)
    plans_id = await a.upload_ok("plans.md", PLANS, "text/markdown")
    await a.ready(plans_id)
    await a.search("anything")  # A's copy is current: its manifest names the current generation
    generation = manifest_generation(index_folder(a.runtime.settings, a))
    # B's files (one document) relabelled as the current generation (two documents).
    for name in ("dense", "bm25"):
        path = folder / f"{name}.manifest.json"
        if path.exists():
            manifest = json.loads(path.read_text())
            manifest["generation"] = generation
            path.write_text(json.dumps(manifest))

    async with running_app(settings_b) as (client, runtime):
        restarted = Kb(client, b.headers, runtime, b.organization_id)
        assert doc_ids(await restarted.search("how much storage does the Basic plan have", k=1)) == [plans_id]
        assert len(await restarted.search("storage quota mailbox plan", k=10)) == 2


@pytest.mark.parametrize("damaged", ["dense", "bm25"])
async def test_truncated_index_file_is_rebuilt_not_trusted(
    processes: tuple[Kb, Kb, Settings], damaged: str
) -> None:
    a, b, settings_b = processes
    mail_id = await a.upload_ok("mail.md", MAIL, "text/markdown")
    plans_id = await a.upload_ok("plans.md", PLANS, "text/markdown")
    await a.drain()
    assert doc_ids(await b.search("mailbox quota", k=1)) == [mail_id]
    folder = index_folder(settings_b, b)
    files = [p for p in folder.glob(f"{damaged}-*/*") if p.is_file()]
    assert files, f"B saved no {damaged} index files"
    for victim in files:
        victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])

    async with running_app(settings_b) as (client, runtime):
        restarted = Kb(client, b.headers, runtime, b.organization_id)
        assert doc_ids(await restarted.search("mailbox quota", k=1)) == [mail_id]
        assert doc_ids(await restarted.search("how much storage does the Basic plan have", k=1)) == [plans_id]
    # The rebuilt files are whole again, and a further restart serves from them.
    for name in ("dense", "bm25"):
        manifest = read_manifest(folder, name)
        for file_name, digest in manifest.files.items():
            assert file_sha256(folder / manifest.snapshot / file_name) == digest
    async with running_app(settings_b) as (client, runtime):
        again = Kb(client, b.headers, runtime, b.organization_id)
        assert doc_ids(await again.search("mailbox quota", k=1)) == [mail_id]
