"""The knowledge API with originals in S3 (moto's server on 127.0.0.1): upload, ingest, search, delete."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.config import Settings
from answerdesk.integrations.storage import S3Storage
from answerdesk.knowledge.service import storage_key
from answerdesk.runtime import Runtime
from tests.conftest import make_settings
from tests.fakes.s3 import moto_server
from tests.knowledge.factories import make_pdf
from tests.knowledge.ingest_support import doc_ids, make_kb

ACCESS_KEY_ID = "AKIAFAKEFAKEFAKE0000"
SECRET_ACCESS_KEY = "fake-secret-access-key-for-tests"
REGION = "us-east-1"
PREFIX = "answerdesk-test"


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def bucket(moto_endpoint: str) -> tuple[Any, str]:
    """A plain boto3 client, to look into a fresh bucket behind the app's back, and the bucket's name."""
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name=REGION,
        aws_access_key_id=ACCESS_KEY_ID,
        aws_secret_access_key=SECRET_ACCESS_KEY,
        config=Config(s3={"addressing_style": "path"}),
    )
    name = f"kb-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return s3, name


@pytest.fixture
def settings(database_url: str, tmp_path: Path, moto_endpoint: str, bucket: tuple[Any, str]) -> Settings:
    return make_settings(
        database_url,
        tmp_path / "data",
        storage_backend="s3",
        s3_bucket=bucket[1],
        s3_endpoint_url=moto_endpoint,
        s3_region=REGION,
        s3_access_key_id=ACCESS_KEY_ID,
        s3_secret_access_key=SECRET_ACCESS_KEY,
        s3_prefix=PREFIX,
        s3_addressing_style="path",
    )


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
