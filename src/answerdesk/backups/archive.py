"""The backup archive on disk: a gzip'd tar written under a temporary name, read back only once verified.

Layout: ``database/answerdesk.sqlite3`` or ``database/answerdesk.pgdump``, ``files/<storage key>`` for
each original (local storage), ``secret_key`` when the instance generated its own, and
``manifest.json`` last, so a truncated archive has none and is refused as such. Reading extracts every
member into a folder while hashing it, and checks each against the manifest before anything is restored.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import tarfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pydantic import ValidationError

from answerdesk.backups.errors import ArchiveDamaged, ArchiveIncompatible
from answerdesk.backups.schemas import FORMAT_VERSION, ArchivedFile, BackupManifest, DatabaseKind
from answerdesk.integrations.storage.errors import InvalidKey
from answerdesk.integrations.storage.keys import validate_key

MANIFEST = "manifest.json"
SECRET_KEY_MEMBER = "secret_key"  # noqa: S105  # a member name, not a secret
FILES = "files/"
DATABASE_MEMBERS: dict[DatabaseKind, str] = {
    "sqlite": "database/answerdesk.sqlite3",
    "postgresql": "database/answerdesk.pgdump",
}
_CHUNK = 1024 * 1024


class _Hashing:
    """A read-only file wrapper that hashes what tarfile reads through it."""

    def __init__(self, file: IO[bytes]) -> None:
        self._file = file
        self.sha256 = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self.sha256.update(data)
        return data


class ArchiveWriter:
    """Writes ``target`` as ``.<name>.partial`` beside it; ``commit`` renames it into place, complete."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.partial = target.with_name(f".{target.name}.partial")
        target.parent.mkdir(parents=True, exist_ok=True)
        self._tar = tarfile.open(self.partial, "w:gz", compresslevel=6)  # noqa: SIM115  # closed in commit/abort

    def add_file(self, member: str, path: Path) -> ArchivedFile:
        info = tarfile.TarInfo(member)
        info.size, info.mtime, info.mode = path.stat().st_size, int(time.time()), 0o600
        with path.open("rb") as file:
            hashing = _Hashing(file)
            self._tar.addfile(info, hashing)  # tarfile only calls read()
        return ArchivedFile(path=member, size=info.size, sha256=hashing.sha256.hexdigest())

    def add_bytes(self, member: str, data: bytes) -> ArchivedFile:
        info = tarfile.TarInfo(member)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o600
        self._tar.addfile(info, io.BytesIO(data))
        return ArchivedFile(path=member, size=len(data), sha256=hashlib.sha256(data).hexdigest())

    def commit(self, manifest: BackupManifest) -> None:
        self.add_bytes(MANIFEST, manifest.model_dump_json(indent=2).encode())
        self._tar.close()
        with self.partial.open("rb+") as file:
            os.fsync(file.fileno())  # on disk before the name says it is complete
        self.partial.chmod(0o600)  # customer data and, maybe, the secret key
        os.replace(self.partial, self.target)

    def abort(self) -> None:
        with contextlib.suppress(Exception):
            self._tar.close()
        with contextlib.suppress(FileNotFoundError):
            self.partial.unlink()


@dataclass(frozen=True)
class ExtractedArchive:
    """A verified archive's members in ``folder``; every member matched the manifest's checksum."""

    manifest: BackupManifest
    folder: Path

    def path(self, member: str) -> Path:
        return self.folder.joinpath(*member.split("/"))

    def original(self, key: str) -> Path:
        return self.path(FILES + key)


def extract_verified(archive: Path, folder: Path) -> ExtractedArchive:
    """Extract ``archive`` into ``folder`` and check it whole; else ``ArchiveDamaged``/``Incompatible``."""
    if not archive.is_file():
        raise ArchiveDamaged(f"{archive} does not exist or is not a file")
    found: dict[str, ArchivedFile] = {}
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                _check_member(member)
                if member.name in found:
                    raise ArchiveDamaged(f"The archive holds {member.name!r} twice")
                found[member.name] = _extract(tar, member, folder)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ArchiveDamaged(f"{archive} is damaged or incomplete ({exc}); nothing was restored") from exc
    if MANIFEST not in found:
        raise ArchiveDamaged(
            f"{archive} has no manifest: it is incomplete (truncated) or not an Answerdesk backup"
        )
    manifest = _manifest(folder / MANIFEST)
    expected = [manifest.database_file]
    if manifest.secret_key_file is not None:
        expected.append(manifest.secret_key_file)
    if manifest.originals_archived:
        for original in manifest.originals:
            if original.sha256 is None:
                raise ArchiveDamaged(f"The manifest gives no checksum for the original {original.key!r}")
            expected.append(
                ArchivedFile(path=FILES + original.key, size=original.size, sha256=original.sha256)
            )
    for item in expected:
        got = found.pop(item.path, None)
        if got is None:
            raise ArchiveDamaged(f"The archive lacks {item.path!r}, which its manifest lists")
        if got != item:
            raise ArchiveDamaged(f"{item.path!r} in the archive does not match its manifest checksum")
    found.pop(MANIFEST)
    if found:
        raise ArchiveDamaged(f"The archive holds members its manifest does not list: {sorted(found)[:5]}")
    if manifest.database_file.path != DATABASE_MEMBERS[manifest.database]:
        raise ArchiveDamaged(f"The database dump is at an unexpected place: {manifest.database_file.path!r}")
    return ExtractedArchive(manifest, folder)


def _manifest(path: Path) -> BackupManifest:
    try:
        raw = json.loads(path.read_bytes())
    except ValueError as exc:
        raise ArchiveDamaged(f"The archive's manifest is not JSON: {exc}") from exc
    version = raw.get("format_version") if isinstance(raw, dict) else None
    # The version first: a newer format need not parse as this one at all.
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise _too_new(version)
    try:
        return BackupManifest.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"])
        raise ArchiveDamaged(f"The archive's manifest is not valid: {where}: {error['msg']}") from exc


def _too_new(version: int) -> ArchiveIncompatible:
    return ArchiveIncompatible(
        f"The archive has format version {version}; this Answerdesk reads up to {FORMAT_VERSION}. "
        "Restore it with the Answerdesk version that made it (or a newer one)."
    )


def _check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    if not member.isreg():
        raise ArchiveDamaged(f"The archive holds {name!r}, which is not a regular file")
    if name in (MANIFEST, SECRET_KEY_MEMBER) or name in DATABASE_MEMBERS.values():
        return
    if name.startswith(FILES):
        try:
            validate_key(name[len(FILES) :])  # no absolute paths, no '..': stays inside the folder
        except InvalidKey as exc:
            raise ArchiveDamaged(f"The archive holds an unsafe path {name!r}") from exc
        return
    raise ArchiveDamaged(f"The archive holds {name!r}, which an Answerdesk backup never contains")


def _extract(tar: tarfile.TarFile, member: tarfile.TarInfo, folder: Path) -> ArchivedFile:
    target = folder.joinpath(*member.name.split("/"))
    target.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    if source is None:
        raise ArchiveDamaged(f"{member.name!r} cannot be read from the archive")
    digest, size = hashlib.sha256(), 0
    with source, target.open("wb") as out:
        for block in _blocks(source):
            digest.update(block)
            size += len(block)
            out.write(block)
    return ArchivedFile(path=member.name, size=size, sha256=digest.hexdigest())


def _blocks(file: IO[bytes]) -> Iterator[bytes]:
    while block := file.read(_CHUNK):
        yield block
