"""Backups with originals in S3 (moto's server on 127.0.0.1): a manifest of keys, checked on restore."""

from __future__ import annotations

import tarfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from answerdesk.backups.errors import ArchiveIncompatible
from answerdesk.backups.service import BackupService
from answerdesk.config import Settings
from answerdesk.runtime import Runtime
from tests.backups.support import counts, picture, seed
from tests.conftest import make_settings
from tests.fakes.s3 import moto_server

S3_OPTIONS: dict[str, Any] = {
    "storage_backend": "s3",
    "s3_region": "us-east-1",
    "s3_access_key_id": "AKIAFAKEFAKEFAKE0000",
    "s3_secret_access_key": "fake-secret-access-key-for-tests",
    "s3_prefix": "answerdesk-test",
    "s3_addressing_style": "path",
}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(moto_endpoint: str) -> tuple[Any, str]:
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=S3_OPTIONS["s3_region"],
        aws_access_key_id=S3_OPTIONS["s3_access_key_id"],
        aws_secret_access_key=S3_OPTIONS["s3_secret_access_key"],
        config=Config(s3={"addressing_style": "path"}),
    )
    name = f"backup-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return s3, name


@pytest.fixture
def settings(database_url: str, tmp_path: Path, moto_endpoint: str, bucket: tuple[Any, str]) -> Settings:
    return make_settings(
        database_url, tmp_path / "data", s3_bucket=bucket[1], s3_endpoint_url=moto_endpoint, **S3_OPTIONS
    )


@pytest.fixture
async def s3_target(
    empty_database: str, tmp_path: Path, moto_endpoint: str, bucket: tuple[Any, str]
) -> AsyncIterator[Runtime]:
    """A fresh instance on an empty database, configured with the same bucket."""
    options = {"s3_bucket": bucket[1], "s3_endpoint_url": moto_endpoint, **S3_OPTIONS}
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
