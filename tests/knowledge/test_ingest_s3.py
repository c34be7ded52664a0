"""The knowledge API with originals in S3 (moto's server on 127.0.0.1): upload, ingest, search, delete."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.config import Settings
from answerdesk.integrations.storage import S3Storage
from answerdesk.knowledge.service import storage_key
from answerdesk.runtime import Runtime
from tests.conftest import make_settings
from tests.fakes.s3 import APP_PREFIX as PREFIX
from tests.fakes.s3 import app_s3_settings, new_bucket, raw_s3_client
from tests.knowledge.factories import make_pdf
from tests.knowledge.ingest_support import doc_ids, make_kb


@pytest.fixture
def bucket(moto_endpoint: str) -> tuple[Any, str]:
    """A plain boto3 client, to look into a fresh bucket behind the app's back, and the bucket's name."""
    s3 = raw_s3_client(moto_endpoint)
    return s3, new_bucket(s3)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, moto_endpoint: str, bucket: tuple[Any, str]) -> Settings:
    return make_settings(database_url, tmp_path / "data", **app_s3_settings(moto_endpoint, bucket[1]))


def objects(bucket: tuple[Any, str]) -> dict[str, bytes]:
    s3, name = bucket
    listing = s3.list_objects_v2(Bucket=name).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=name, Key=o["Key"])["Body"].read() for o in listing}


async def test_originals_live_in_the_bucket_until_deleted(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime, bucket: tuple[Any, str], tmp_path: Path
) -> None:
    assert isinstance(runtime.storage, S3Storage)
    kb = await make_kb(client, db, runtime)
    pdf = make_pdf([[(14, "Firewall"), (11, "The firewall blocks an address after five failed logins.")]])
    doc_id = await kb.upload_ok("firewall.pdf", pdf, "application/pdf")
    await kb.ready(doc_id)
    key = f"{PREFIX}/{storage_key(kb.organization_id, uuid.UUID(doc_id), 'firewall.pdf')}"
    assert objects(bucket) == {key: pdf}
    assert doc_ids(await kb.search("when does the firewall block an address", k=1)) == [doc_id]
    # Nothing of the original was written to the local data folder.
    assert not (runtime.settings.data_dir / "files").exists()

    # A new version replaces the object under the same key, and is what gets ingested.
    pdf2 = make_pdf([[(14, "Firewall"), (11, "The firewall blocks an address after ten failed logins.")]])
    assert await kb.upload_ok("firewall.pdf", pdf2, "application/pdf") == doc_id
    await kb.ready(doc_id)
    assert objects(bucket) == {key: pdf2}
    assert "ten failed logins" in (await kb.search("when does the firewall block an address", k=1))[0]["text"]

    assert (await kb.delete(doc_id)).status_code == 204
    assert objects(bucket) == {}
    assert await kb.search("when does the firewall block an address") == []
