"""Backing up an instance into one archive and restoring an archive into an empty instance."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import structlog
from alembic.script import ScriptDirectory

from answerdesk import __version__
from answerdesk.backups import dumps, repository
from answerdesk.backups.archive import (
    DATABASE_MEMBERS,
    FILES,
    SECRET_KEY_MEMBER,
    ArchiveWriter,
    ExtractedArchive,
    extract_verified,
)
from answerdesk.backups.errors import ArchiveDamaged, ArchiveIncompatible, BackupError, InstanceNotEmpty
from answerdesk.backups.schemas import ArchivedFile, BackupManifest, DatabaseKind, StoredOriginal
from answerdesk.integrations.storage import ObjectNotFound, S3Storage, StorageError
from answerdesk.kit.db import session_scope
from answerdesk.kit.migrate import alembic_config, upgrade_to_head
from answerdesk.runtime import Runtime

log = structlog.get_logger(__name__)

ARCHIVE_PREFIX = "answerdesk-backup-"
ARCHIVE_SUFFIX = ".tar.gz"
# Tables an operator checks first in a restore's summary.
SUMMARY_TABLES = ("organization", "user", "document", "chunk", "conversation", "message", "ticket")


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    manifest: BackupManifest
    removed: list[Path] = field(default_factory=list)  # older archives dropped by --keep


@dataclass(frozen=True)
class RestoreResult:
    manifest: BackupManifest
    migrated: bool  # the archive's schema was older and was migrated up to this version's
    originals_restored: int
    organizations_indexed: int
    chunks_indexed: int
    warnings: list[str]


class BackupService:
    """Backups of the configured database and storage; the index folders are rebuilt, never archived."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings

    @property
    def database(self) -> DatabaseKind:
        return "sqlite" if self.settings.is_sqlite else "postgresql"

    async def create(self, output: Path) -> BackupResult:
        """Write one archive to ``output`` (complete or not at all) while the application keeps running."""
        output = await asyncio.to_thread(_prepared, output)
        with tempfile.TemporaryDirectory(dir=output.parent, prefix=".answerdesk-backup-") as tmp:
            dump = Path(tmp) / "database"
            if self.database == "sqlite":
                source = dumps.sqlite_path(self.settings.database_url)
                snapshot = await asyncio.to_thread(dumps.sqlite_dump, source, dump)
            else:
                snapshot = await dumps.pg_dump(self.runtime.engine, self.settings.database_url, dump)
            if snapshot.alembic_revision is None:
                raise BackupError("The database has no schema yet (run `answerdesk migrate` first)")
            writer = await asyncio.to_thread(ArchiveWriter, output)
            try:
                database_file = await asyncio.to_thread(
                    writer.add_file, DATABASE_MEMBERS[self.database], dump
                )
                originals, missing = await self._originals(writer, snapshot.original_keys)
                secret_file, source_kind = await self._secret(writer)
                manifest = BackupManifest(
                    created_at=datetime.now(UTC),
                    app_version=__version__,
                    alembic_revision=snapshot.alembic_revision,
                    database=self.database,
                    database_server_version=snapshot.server_version,
                    table_counts=snapshot.table_counts,
                    database_file=database_file,
                    storage_backend=self.settings.storage_backend,
                    storage_location=self.runtime.storage.describe(),
                    originals=originals,
                    missing_originals=missing,
                    originals_archived=self.settings.storage_backend == "local",
                    secret_key_source=source_kind,
                    secret_key_file=secret_file,
                    secret_key_fingerprint=secret_fingerprint(self.runtime.secret),
                )
                await asyncio.to_thread(writer.commit, manifest)
            except BaseException:
                await asyncio.to_thread(writer.abort)
                raise
        size = output.stat().st_size
        log.info(
            "backup.created", path=str(output), bytes=size, originals=len(originals), missing=len(missing)
        )
        return BackupResult(output, size, manifest)

    async def create_in(self, folder: Path, *, keep: int | None = None) -> BackupResult:
        """A timestamped archive in ``folder``, then all but the newest ``keep`` archives there removed."""
        if keep is not None and keep < 1:
            raise BackupError("--keep must be at least 1")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        output = folder / f"{ARCHIVE_PREFIX}{stamp}{ARCHIVE_SUFFIX}"
        n = 1
        while output.exists():  # two runs in one second
            output = folder / f"{ARCHIVE_PREFIX}{stamp}-{n}{ARCHIVE_SUFFIX}"
            n += 1
        result = await self.create(output)
        # Only after the new archive is complete.
        removed = await asyncio.to_thread(_prune, folder, keep) if keep is not None else []
        return BackupResult(result.path, result.size, result.manifest, removed)

    async def restore(self, archive: Path, *, force: bool = False) -> RestoreResult:
        """Restore ``archive`` into this (empty) instance; the application must not be running.

        Everything is checked before anything is written: the archive whole (checksums), the database
        kind, the schema revision (older is migrated up afterwards, newer is refused) and that the
        instance has no organization (unless ``force``: its database is then replaced).
        """
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.settings.data_dir, prefix=".restore-") as tmp:
            extracted = await asyncio.to_thread(extract_verified, archive, Path(tmp))
            manifest = extracted.manifest
            migrate = self._check_compatible(manifest)
            dump = extracted.path(manifest.database_file.path)
            if manifest.database == "sqlite":
                snapshot = await asyncio.to_thread(dumps.read_sqlite, dump)
                if snapshot.table_counts != manifest.table_counts:
                    raise ArchiveDamaged("The archived database's rows do not match the manifest's counts")
            await self._check_empty(force)
            warnings = await self._check_bucket(manifest)
            restored, created = await self._put_originals(extracted)
            try:
                await self._restore_database(manifest, dump)
            except BaseException:
                await self._delete_originals(created)
                raise
            warnings += self._restore_secret(extracted)
        if migrate:
            try:
                await asyncio.to_thread(upgrade_to_head, self.settings.database_url)
            except Exception as exc:
                raise BackupError(
                    f"The archive was restored but migrating its schema up failed ({exc}); fix the cause, "
                    "then run `answerdesk migrate` and `answerdesk kb reindex` for each organization"
                ) from exc
        organizations, chunks = await self._rebuild_indexes()
        log.info("backup.restored", archive=str(archive), organizations=organizations, migrated=migrate)
        return RestoreResult(manifest, migrate, restored, organizations, chunks, warnings)

    async def _originals(
        self, writer: ArchiveWriter, keys: list[str]
    ) -> tuple[list[StoredOriginal], list[str]]:
        storage = self.runtime.storage
        originals: list[StoredOriginal] = []
        missing: list[str] = []
        for key in keys:
            try:
                if isinstance(storage, S3Storage):
                    size, etag = await storage.stat(key)
                    originals.append(StoredOriginal(key=key, size=size, etag=etag))
                else:
                    data = await storage.get(key)
                    archived = await asyncio.to_thread(writer.add_bytes, FILES + key, data)
                    originals.append(StoredOriginal(key=key, size=archived.size, sha256=archived.sha256))
            except ObjectNotFound:
                # A document deleted after the snapshot, or a file lost earlier: the backup goes on.
                missing.append(key)
            except StorageError as exc:
                raise BackupError(f"Cannot read the original {key!r} from storage: {exc}") from exc
        if missing:
            log.warning("backup.originals_missing", count=len(missing), first=missing[:5])
        return originals, missing

    async def _secret(self, writer: ArchiveWriter) -> tuple[ArchivedFile | None, str]:
        configured = self.settings.secret_key
        if configured is not None and configured.get_secret_value():
            return None, "environment"
        path = self.settings.data_dir / "secret_key"
        if not path.is_file():
            return None, "data_dir"
        return await asyncio.to_thread(writer.add_file, SECRET_KEY_MEMBER, path), "data_dir"

    def _check_compatible(self, manifest: BackupManifest) -> bool:
        """Whether migrations must run after the restore; raises when the archive cannot be taken."""
        if manifest.database != self.database:
            raise ArchiveIncompatible(
                f"The archive holds a {manifest.database} database but this instance uses {self.database} "
                "(ANSWERDESK_DATABASE_URL); restore it into the same kind of database"
            )
        if manifest.storage_backend == "s3" and self.settings.storage_backend != "s3":
            raise ArchiveIncompatible(
                f"The archive's originals stayed in S3 ({manifest.storage_location}) and only their list is "
                "archived; configure that bucket (ANSWERDESK_STORAGE_BACKEND=s3) before restoring"
            )
        script = ScriptDirectory.from_config(alembic_config(""))
        head = script.get_current_head()
        if manifest.alembic_revision == head:
            return False
        if manifest.alembic_revision not in {r.revision for r in script.walk_revisions()}:
            raise ArchiveIncompatible(
                f"The archive's schema (revision {manifest.alembic_revision}, Answerdesk "
                f"{manifest.app_version}) is newer than this version's ({head}); upgrade Answerdesk first"
            )
        return True

    async def _check_empty(self, force: bool) -> None:
        if self.database == "sqlite" and not dumps.sqlite_path(self.settings.database_url).exists():
            return  # no file yet (the restore creates it): nothing to check, and connecting would fail
        count = await dumps.run_sync_on(self.runtime.engine, repository.organization_count)
        if count and not force:
            raise InstanceNotEmpty(
                f"This instance already has {count} organization(s); restore into an empty database and "
                "data folder, or pass --force to replace this database with the archive's"
            )

    async def _check_bucket(self, manifest: BackupManifest) -> list[str]:
        """S3 archives list the originals only: say which the configured bucket lacks or holds changed."""
        storage = self.runtime.storage
        if manifest.originals_archived or not isinstance(storage, S3Storage):
            return []
        lost, changed = [], []
        for original in manifest.originals:
            try:
                size, etag = await storage.stat(original.key)
            except ObjectNotFound:
                lost.append(original.key)
                continue
            except StorageError as exc:
                raise BackupError(f"Cannot check the bucket before restoring: {exc}") from exc
            if size != original.size or (original.etag and etag != original.etag):
                changed.append(original.key)
        warnings = []
        if lost:
            warnings.append(f"{len(lost)} original(s) are not in the bucket (re-upload them): {lost[:3]}")
        if changed:
            warnings.append(
                f"{len(changed)} original(s) in the bucket differ from the backup's: {changed[:3]}"
            )
        return warnings

    async def _put_originals(self, extracted: ExtractedArchive) -> tuple[int, list[str]]:
        """Writes the archived originals; returns how many, and the keys that were not there before.

        Only those are removed again if the restore fails: a key already stored (``--force`` over the
        same instance) names the same document's original, which its current database may still need.
        """
        if not extracted.manifest.originals_archived:
            return 0, []
        storage = self.runtime.storage
        created: list[str] = []
        try:
            for original in extracted.manifest.originals:
                data = await asyncio.to_thread(extracted.original(original.key).read_bytes)
                existed = await storage.exists(original.key)
                await storage.put(original.key, data)
                if not existed:
                    created.append(original.key)
        except StorageError as exc:
            await self._delete_originals(created)
            raise BackupError(f"Cannot write the originals to storage (nothing was restored): {exc}") from exc
        except BaseException:
            await self._delete_originals(created)
            raise
        return len(extracted.manifest.originals), created

    async def _delete_originals(self, keys: list[str]) -> None:
        for key in keys:
            with contextlib.suppress(StorageError):
                await self.runtime.storage.delete(key)

    async def _restore_database(self, manifest: BackupManifest, dump: Path) -> None:
        engine = self.runtime.engine
        await engine.dispose()  # no pooled connection keeps reading the database being replaced
        if manifest.database == "sqlite":
            target = dumps.sqlite_path(self.settings.database_url)
            try:
                await asyncio.to_thread(dumps.sqlite_restore, dump, target)
            except (OSError, sqlite3.Error) as exc:
                raise BackupError(f"Cannot write the SQLite database {target}: {exc}") from exc
            return
        await dumps.pg_restore(engine, self.settings.database_url, dump, set(manifest.table_counts))
        counts = await dumps.run_sync_on(engine, repository.table_counts)
        if counts != manifest.table_counts:
            raise BackupError("The restored database's rows do not match the manifest's counts")

    def _restore_secret(self, extracted: ExtractedArchive) -> list[str]:
        manifest = extracted.manifest
        configured = self.settings.secret_key
        from_env = configured is not None and bool(configured.get_secret_value())
        if manifest.secret_key_file is not None and not from_env:
            path = self.settings.data_dir / "secret_key"
            shutil.copyfile(extracted.path(SECRET_KEY_MEMBER), path)
            path.chmod(0o600)
            return []
        current = (
            configured.get_secret_value() if configured is not None and from_env else self._file_secret()
        )
        if current is not None and secret_fingerprint(current) == manifest.secret_key_fingerprint:
            return []
        where = (
            "the archive's secret_key (unset ANSWERDESK_SECRET_KEY to use it)"
            if manifest.secret_key_file is not None
            else "the ANSWERDESK_SECRET_KEY of the backed-up instance"
        )
        return [
            "This instance's secret key differs from the backed-up instance's: signed-in sessions end and "
            f"stored connector secrets (WHMCS) will not open. Run with {where}, or re-enter the connections."
        ]

    def _file_secret(self) -> str | None:
        path = self.settings.data_dir / "secret_key"
        return path.read_text().strip() if path.is_file() else None

    async def _rebuild_indexes(self) -> tuple[int, int]:
        """Index files are derived data: drop them all and build every organization's from the database."""
        retriever = self.runtime.retriever
        await asyncio.to_thread(shutil.rmtree, retriever.index_dir, True)
        org_ids = await dumps.run_sync_on(self.runtime.engine, repository.organization_ids)
        chunks = 0
        for org_id in org_ids:
            retriever.forget(org_id)
            async with session_scope(self.runtime.sessionmaker) as db:
                chunks += (await retriever.index_for(db, org_id)).dense.count
            await retriever.wait_idle(org_id)
        return len(org_ids), chunks


def _prepared(output: Path) -> Path:
    output = output.resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    return output


def _prune(folder: Path, keep: int) -> list[Path]:
    """All but the newest ``keep`` archives; names sort by time, and only our own names are touched."""
    archives = sorted(
        (p for p in folder.glob(f"{ARCHIVE_PREFIX}*{ARCHIVE_SUFFIX}") if p.is_file()), key=_made_at
    )
    removed = archives[:-keep]
    for old in removed:
        old.unlink(missing_ok=True)
    return removed


def _made_at(path: Path) -> tuple[str, int]:
    """Sort key of our archive names: the UTC stamp, then the -N of a second archive in the same second."""
    stem = path.name[len(ARCHIVE_PREFIX) : -len(ARCHIVE_SUFFIX)]
    stamp, _, n = stem.partition("-")
    return stamp, int(n) if n.isdigit() else 0


def secret_fingerprint(secret: str) -> str:
    """Tells two secret keys apart without revealing either."""
    return hmac.new(secret.encode(), b"answerdesk-backup-fingerprint", hashlib.sha256).hexdigest()[:16]


def summary(manifest: BackupManifest) -> str:
    counts = manifest.table_counts
    return ", ".join(f"{counts[t]} {t}" for t in SUMMARY_TABLES if t in counts)
