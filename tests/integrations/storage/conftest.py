"""Fixtures for the storage tests: moto's S3 server and the strict fake S3, both on 127.0.0.1."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from storage_fakes import FakeS3Server, make_s3_storage, new_bucket, raw_s3_client

from answerdesk.integrations.storage import LocalStorage, ObjectStorage, S3Storage

BACKENDS = ["local", "s3", "s3-prefixed"]


@pytest.fixture(scope="session")
def moto_client(moto_endpoint: str) -> Any:
    """A plain boto3 client on moto, for arranging and inspecting buckets behind the adapter's back."""
    return raw_s3_client(moto_endpoint)


@pytest.fixture
async def s3_storage(moto_endpoint: str, moto_client: Any) -> AsyncIterator[S3Storage]:
    """An S3Storage on a fresh, empty bucket."""
    backend = make_s3_storage(moto_endpoint, new_bucket(moto_client))
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ObjectStorage]:
    """Each contract test runs on a fresh local folder, a fresh bucket, and a fresh bucket with a prefix."""
    backend: ObjectStorage
    if request.param == "local":
        backend = LocalStorage(tmp_path / "files")
    else:
        endpoint: str = request.getfixturevalue("moto_endpoint")
        bucket = new_bucket(request.getfixturevalue("moto_client"))
        prefix = "tenant-a" if request.param == "s3-prefixed" else ""
        backend = make_s3_storage(endpoint, bucket, prefix=prefix)
    try:
        yield backend
    finally:
        await backend.close()


@pytest.fixture
def fake_s3() -> Iterator[FakeS3Server]:
    server = FakeS3Server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
