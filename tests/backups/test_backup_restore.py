"""Backup and restore round trips on the test database (SQLite or PostgreSQL), and what a restore refuses."""

from __future__ import annotations

import asyncio
import io
import json
import tarfile
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from answerdesk.backups import dumps, repository
from answerdesk.backups.errors import ArchiveDamaged, ArchiveIncompatible, BackupError, InstanceNotEmpty
from answerdesk.backups.service import BackupService
from answerdesk.runtime import Runtime
from tests.backups.support import counts, picture, seed
from tests.chat.support import add_document
from tests.conftest import TEST_DATABASE, make_settings


async def test_round_trip_brings_back_rows_originals_and_search(
    runtime: Runtime, target: Runtime, tmp_path: Path
) -> None:
    org_id = await seed(runtime)
    before = await picture(runtime, org_id)
    assert all(before["hits"].values()) and len(before["originals"]) == 2
    backup = await BackupService(runtime).create(tmp_path / "out" / "backup.tar.gz")
    manifest = backup.manifest
    assert manifest.table_counts == await counts(runtime)
    assert manifest.table_counts["document"] == 2 and manifest.table_counts["ticket"] == 1
    assert manifest.table_counts["message"] >= 2 and manifest.originals_archived
    assert sorted(o.key for o in manifest.originals) == sorted(before["originals"])
    # A change after the backup is not in it.
    await add_document(runtime, org_id, "later.md", "# Later\n\nWritten after the backup.\n")

    restored = await BackupService(target).restore(backup.path)

    assert not restored.warnings and not restored.migrated
    assert restored.originals_restored == 2 and restored.organizations_indexed == 1
    assert restored.chunks_indexed == manifest.table_counts["chunk"]
    assert await counts(target) == manifest.table_counts
    assert await picture(target, org_id) == before


async def test_restore_refuses_an_instance_with_organizations_unless_forced(
    runtime: Runtime, target: Runtime, tmp_path: Path
) -> None:
    org_id = await seed(runtime)
    backup = await BackupService(runtime).create(tmp_path / "backup.tar.gz")
    other = await BackupService(runtime).create(tmp_path / "again.tar.gz")
    before = await counts(runtime)
    with pytest.raises(InstanceNotEmpty, match="already has 1 organization"):
        await BackupService(runtime).restore(backup.path)
    assert await counts(runtime) == before

    await BackupService(target).restore(backup.path)
    with pytest.raises(InstanceNotEmpty):
        await BackupService(target).restore(other.path)
    forced = await BackupService(target).restore(other.path, force=True)
    assert forced.organizations_indexed == 1 and await counts(target) == other.manifest.table_counts
    assert (await picture(target, org_id))["hits"] == (await picture(runtime, org_id))["hits"]


def rewrite(
    source: Path,
    target: Path,
    change: Callable[[str, bytes], bytes | None],
    rename: dict[str, str] | None = None,
) -> None:
    """A copy of the archive with members changed (or dropped, when ``change`` returns None), or renamed."""
    with tarfile.open(source, "r:gz") as old, tarfile.open(target, "w:gz") as new:
        for member in old:
            file = old.extractfile(member)
            assert file is not None
            data = change(member.name, file.read())
            if data is not None:
                member.size = len(data)
                member.name = (rename or {}).get(member.name, member.name)
                new.addfile(member, io.BytesIO(data))


def manifest_with(**fields: object) -> Callable[[str, bytes], bytes]:
    def change(name: str, data: bytes) -> bytes:
        return json.dumps(json.loads(data) | fields).encode() if name == "manifest.json" else data

    return change


async def assert_untouched(runtime: Runtime) -> None:
    """Nothing restored: no schema in the database, no originals in storage."""
    if TEST_DATABASE == "sqlite" and not dumps.sqlite_path(runtime.settings.database_url).exists():
        pass  # not even created
    else:
        assert await dumps.run_sync_on(runtime.engine, repository.table_names) == []
    assert not [p for p in (runtime.settings.data_dir / "files").rglob("*") if p.is_file()]


async def test_a_damaged_archive_is_refused_before_anything_is_restored(
    runtime: Runtime, target: Runtime, tmp_path: Path
) -> None:
    await seed(runtime)
    good = (await BackupService(runtime).create(tmp_path / "backup.tar.gz")).path
    raw = good.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(raw[: len(raw) * 2 // 3])
    flipped = tmp_path / "flipped.tar.gz"
    rewrite(good, flipped, lambda n, d: d[:-1] + bytes([d[-1] ^ 1]) if n.startswith("files/") else d)
    no_manifest = tmp_path / "no-manifest.tar.gz"
    rewrite(good, no_manifest, lambda n, d: None if n == "manifest.json" else d)
    stray = tmp_path / "stray.tar.gz"
    rewrite(good, stray, manifest_with(originals=[]))
    not_gzip = tmp_path / "notes.tar.gz"
    not_gzip.write_text("not an archive")

    service = BackupService(target)
    for path, message in [
        (truncated, "damaged or incomplete"),
        (flipped, "does not match its manifest checksum"),
        (no_manifest, "has no manifest"),
        (stray, "members its manifest does not list"),
        (not_gzip, "damaged or incomplete"),
        (tmp_path / "missing.tar.gz", "does not exist"),
    ]:
        with pytest.raises(ArchiveDamaged, match=message):
            await service.restore(path)
        await assert_untouched(target)
    assert not list(target.settings.data_dir.glob(".restore-*"))  # its scratch folder is gone too


@pytest.mark.skipif(TEST_DATABASE != "sqlite", reason="blocks the SQLite file's folder")
async def test_a_failed_database_restore_takes_back_the_originals_it_wrote(
    runtime: Runtime, tmp_path: Path
) -> None:
    await seed(runtime)
    backup = await BackupService(runtime).create(tmp_path / "backup.tar.gz")
    (tmp_path / "blocked").write_text("a file where the database's folder should be")
    url = f"sqlite+aiosqlite:///{tmp_path / 'blocked' / 'answerdesk.db'}"
    blocked = Runtime.build(make_settings(url, tmp_path / "restored"))
    try:
        with pytest.raises(BackupError, match="Cannot write the SQLite database"):
            await BackupService(blocked).restore(backup.path)
        assert not [p for p in (tmp_path / "restored" / "files").rglob("*") if p.is_file()]
    finally:
        await blocked.close()


async def test_an_archive_from_a_newer_version_or_another_database_is_refused(
    runtime: Runtime, target: Runtime, tmp_path: Path
) -> None:
    await seed(runtime)
    backup = await BackupService(runtime).create(tmp_path / "backup.tar.gz")
    good, ours = backup.path, backup.manifest.database_file
    cases: dict[str, tuple[Callable[[str, bytes], bytes], dict[str, str], str]] = {
        "newer schema": (manifest_with(alembic_revision="ffffffffffff"), {}, "newer than this version"),
        "newer format": (manifest_with(format_version=99), {}, "format version 99"),
    }
    other = "sqlite" if TEST_DATABASE == "postgres" else "postgresql"
    member = "database/answerdesk.sqlite3" if other == "sqlite" else "database/answerdesk.pgdump"
    cases["other database"] = (
        manifest_with(database=other, database_file=ours.model_dump() | {"path": member}),
        {ours.path: member},
        f"holds a {other} database",
    )
    for what, (change, rename, message) in cases.items():
        changed = tmp_path / f"{what}.tar.gz"
        rewrite(good, changed, change, rename)
        with pytest.raises(ArchiveIncompatible, match=message):
            await BackupService(target).restore(changed)
        await assert_untouched(target)


async def test_an_archive_of_an_older_schema_is_migrated_up_after_the_restore(
    new_database: Callable[[], str], target: Runtime, tmp_path: Path
) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    from answerdesk.kit.migrate import alembic_config, head_revision

    head = ScriptDirectory.from_config(alembic_config("")).get_revision(head_revision())
    assert head is not None and isinstance(head.down_revision, str)
    old_url = await asyncio.to_thread(new_database)  # it runs its own event loop for PostgreSQL
    Path(make_url(old_url).database or "").parent.mkdir(parents=True, exist_ok=True)
    await asyncio.to_thread(command.upgrade, alembic_config(old_url), head.down_revision)
    old = Runtime.build(make_settings(old_url, tmp_path / "old"))
    try:
        org_id = uuid.uuid4()
        async with old.engine.begin() as conn:  # the previous schema: written without today's models
            await conn.execute(
                sa.text(
                    "INSERT INTO organization (id, name, slug, settings, created_at) "
                    "VALUES (:id, 'Old Co', 'old-co', '{}', CURRENT_TIMESTAMP)"
                ),
                {"id": org_id.hex if TEST_DATABASE != "postgres" else org_id},
            )
        backup = await BackupService(old).create(tmp_path / "old.tar.gz")
    finally:
        await old.close()
    assert backup.manifest.alembic_revision == head.down_revision

    restored = await BackupService(target).restore(backup.path)

    assert restored.migrated and restored.organizations_indexed == 1
    revision = await dumps.run_sync_on(target.engine, repository.alembic_revision)
    assert revision == head.revision
    async with target.sessionmaker() as db:
        assert await db.scalar(sa.text("SELECT slug FROM organization")) == "old-co"


async def test_dir_mode_keeps_the_newest_archives(runtime: Runtime, tmp_path: Path) -> None:
    await seed(runtime)
    folder = tmp_path / "nightly"
    (folder).mkdir()
    (folder / "notes.txt").write_text("not ours")
    made = [await BackupService(runtime).create_in(folder, keep=2) for _ in range(3)]
    kept = sorted(p.name for p in folder.glob("answerdesk-backup-*.tar.gz"))
    assert kept == sorted(r.path.name for r in made[1:])
    assert made[2].removed == [made[0].path] and (folder / "notes.txt").exists()
