"""The archive's manifest: what was backed up, from which schema, with a checksum per member."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

# Bumped when the archive layout changes in a way an older restore could not read.
FORMAT_VERSION = 1

DatabaseKind = Literal["sqlite", "postgresql"]


class ArchivedFile(BaseModel):
    """A member of the archive (``path``), with its size and SHA-256 checked on restore."""

    path: str
    size: int = Field(ge=0)
    sha256: str


class StoredOriginal(BaseModel):
    """An uploaded original: copied into the archive (local storage) or only listed (S3)."""

    key: str
    size: int = Field(ge=0)
    sha256: str | None = None  # local storage: the archived copy's checksum
    etag: str | None = None  # S3: the object's ETag, to compare with the bucket's at restore time


class BackupManifest(BaseModel):
    format_version: int = FORMAT_VERSION
    created_at: datetime
    app_version: str
    alembic_revision: str
    database: DatabaseKind
    database_server_version: str | None = None
    # Rows per table in the dump itself (same snapshot), compared after a restore.
    table_counts: dict[str, int]
    database_file: ArchivedFile
    storage_backend: Literal["local", "s3"]
    storage_location: str
    originals: list[StoredOriginal]
    # Originals the database names but the storage no longer had when the backup ran.
    missing_originals: list[str] = []
    originals_archived: bool  # False for S3: the bucket is backed up by its provider
    # "data_dir": the generated key is in the archive; "environment": the operator keeps it.
    secret_key_source: Literal["data_dir", "environment"]
    secret_key_file: ArchivedFile | None = None
    # Compared at restore time: connector secrets sealed under another key would not open.
    secret_key_fingerprint: str
