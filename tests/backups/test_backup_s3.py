"""Backups with originals in S3 (moto's server on 127.0.0.1): a manifest of keys, checked on restore."""

from __future__ import annotations

import tarfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from answerdesk.backups.errors import ArchiveIncompatible
from answerdesk.backups.service import BackupService
from answerdesk.config import Settings
from answerdesk.runtime import Runtime
from tests.backups.support import counts, picture, seed
from tests.conftest import make_settings
from tests.fakes.s3 import app_s3_settings, new_bucket, raw_s3_client


@pytest.fixture
def bucket(moto_endpoint: str) -> tuple[Any, str]:
    s3 = raw_s3_client(moto_endpoint)
    return s3, new_bucket(s3)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, moto_endpoint: str, bucket: tuple[Any, str]) -> Settings:
    return make_settings(database_url, tmp_path / "data", **app_s3_settings(moto_endpoint, bucket[1]))


@pytest.fixture
async def s3_target(
    empty_database: str, tmp_path: Path, moto_endpoint: str, bucket: tuple[Any, str]
) -> AsyncIterator[Runtime]:
    """A fresh instance on an empty database, configured with the same bucket."""
    options = app_s3_settings(moto_endpoint, bucket[1])
    runtime = Runtime.build(make_settings(empty_database, tmp_path / "restored", **options))
    try:
        yield runtime
    finally:
        await runtime.close()


async def test_s3_originals_are_listed_with_etags_and_checked_on_restore(
    runtime: Runtime, s3_target: Runtime, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    org_id = await seed(runtime)
    before = await picture(runtime, org_id)
    backup = await BackupService(runtime).create(tmp_path / "backup.tar.gz")
    manifest = backup.manifest
    s3, name = bucket
    assert not manifest.originals_archived and manifest.storage_backend == "s3"
    for original in manifest.originals:
        head = s3.head_object(Bucket=name, Key=f"answerdesk-test/{original.key}")
        assert (original.size, original.etag) == (head["ContentLength"], head["ETag"].strip('"'))
    with tarfile.open(backup.path) as tar:
        assert not [n for n in tar.getnames() if n.startswith("files/")]

    restored = await BackupService(s3_target).restore(backup.path)
    assert restored.warnings == [] and restored.originals_restored == 0
    assert await counts(s3_target) == manifest.table_counts
    assert await picture(s3_target, org_id) == before


async def test_a_restore_says_which_originals_the_bucket_lacks(
    runtime: Runtime, s3_target: Runtime, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    await seed(runtime)
    backup = await BackupService(runtime).create(tmp_path / "backup.tar.gz")
    s3, name = bucket
    lost = backup.manifest.originals[0].key
    s3.delete_object(Bucket=name, Key=f"answerdesk-test/{lost}")

    restored = await BackupService(s3_target).restore(backup.path)
    assert len(restored.warnings) == 1 and "1 original(s) are not in the bucket" in restored.warnings[0]
    assert lost in restored.warnings[0]


async def test_an_s3_archive_is_refused_by_a_local_storage_instance(
    runtime: Runtime, target: Runtime, tmp_path: Path
) -> None:
    await seed(runtime)
    backup = await BackupService(runtime).create(tmp_path / "backup.tar.gz")
    with pytest.raises(ArchiveIncompatible, match="only their list is archived"):
        await BackupService(target).restore(backup.path)
