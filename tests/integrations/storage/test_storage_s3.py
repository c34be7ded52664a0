"""What only the S3 backend has to get right: paging, prefixes, headers, and readable errors."""

from __future__ import annotations

import time
from typing import Any

import pytest
from storage_fakes import FakeS3Server, closed_port, make_s3_storage, new_bucket, seed_moto_bucket

from answerdesk.integrations.storage import (
    BucketNotFound,
    ObjectNotFound,
    S3Storage,
    StorageAccessDenied,
    StorageConfigError,
    StorageError,
    StorageUnreachable,
)


def bucket_keys(moto_client: Any, bucket: str) -> list[str]:
    pages = moto_client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return sorted(item["Key"] for page in pages for item in page.get("Contents", []))


async def test_delete_prefix_pages_through_more_than_1000_objects(
    s3_storage: S3Storage, moto_client: Any
) -> None:
    # 1,050 objects: two listing pages and two DeleteObjects batches.
    keys = [f"org/1/documents/{index:04d}/original.pdf" for index in range(1050)]
    seed_moto_bucket(s3_storage.bucket, keys)
    await s3_storage.put("org/2/documents/kept/original.pdf", b"kept")
    assert await s3_storage.exists(keys[-1])

    removed = await s3_storage.delete_prefix("org/1/")

    assert removed == 1050
    assert bucket_keys(moto_client, s3_storage.bucket) == ["org/2/documents/kept/original.pdf"]


async def test_a_prefix_keeps_objects_in_their_own_part_of_the_bucket(
    moto_endpoint: str, moto_client: Any
) -> None:
    bucket = new_bucket(moto_client)
    moto_client.put_object(Bucket=bucket, Key="other-app/org/1/a.pdf", Body=b"not ours")
    storage = make_s3_storage(moto_endpoint, bucket, prefix="/answerdesk/")

    await storage.put("org/1/a.pdf", b"ours")
    removed = await storage.delete_prefix("org/")
    await storage.put("org/2/b.pdf", b"ours")

    assert removed == 1
    assert bucket_keys(moto_client, bucket) == ["answerdesk/org/2/b.pdf", "other-app/org/1/a.pdf"]
    await storage.close()


async def test_put_stores_the_content_type(s3_storage: S3Storage, moto_client: Any) -> None:
    await s3_storage.put("org/1/a.pdf", b"%PDF", content_type="application/pdf")

    head = moto_client.head_object(Bucket=s3_storage.bucket, Key="org/1/a.pdf")

    assert head["ContentType"] == "application/pdf"


async def test_describe_names_bucket_and_endpoint_but_no_secret(moto_endpoint: str, moto_client: Any) -> None:
    bucket = new_bucket(moto_client)
    storage = make_s3_storage(moto_endpoint, bucket, prefix="answerdesk", secret_access_key="s3cr3t-value")

    assert storage.describe() == f"s3://{bucket}/answerdesk/ @ {moto_endpoint} (us-east-1)"
    assert "s3cr3t" not in storage.describe()
    await storage.close()


async def test_a_missing_bucket_is_named_in_the_error(moto_endpoint: str) -> None:
    storage = make_s3_storage(moto_endpoint, "no-such-bucket-here")

    for call in (
        storage.put("org/1/a.pdf", b"x"),
        storage.get("org/1/a.pdf"),
        storage.delete("org/1/a.pdf"),
        storage.delete_prefix("org/1/"),
        storage.check(),
    ):
        with pytest.raises(BucketNotFound, match="Bucket 'no-such-bucket-here' does not exist"):
            await call
    await storage.close()


async def test_a_missing_object_is_not_mistaken_for_a_missing_bucket(s3_storage: S3Storage) -> None:
    with pytest.raises(ObjectNotFound):
        await s3_storage.get("org/1/missing.pdf")


async def test_an_unreachable_endpoint_fails_fast_with_a_clear_message() -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    storage = make_s3_storage(endpoint, "answerdesk", connect_timeout=1.0, max_attempts=1)
    started = time.monotonic()

    with pytest.raises(StorageUnreachable, match=f"Cannot reach S3 endpoint {endpoint}"):
        await storage.put("org/1/a.pdf", b"x")
    with pytest.raises(StorageUnreachable, match="Cannot reach S3 endpoint"):
        await storage.exists("org/1/a.pdf")

    assert time.monotonic() - started < 5
    await storage.close()


@pytest.mark.parametrize(
    ("status", "code", "message"),
    [
        (403, "AccessDenied", "Access denied to bucket 'answerdesk' — check the credentials"),
        (403, "InvalidAccessKeyId", "Access denied to bucket 'answerdesk' — the access key ID is not known"),
        (403, "SignatureDoesNotMatch", "the secret access key does not match"),
    ],
)
async def test_refused_credentials_are_reported_readably(
    fake_s3: FakeS3Server, status: int, code: str, message: str
) -> None:
    fake_s3.error = (status, code)
    storage = make_s3_storage(fake_s3.endpoint, "answerdesk")

    for call in (storage.put("org/1/a.pdf", b"x"), storage.get("org/1/a.pdf"), storage.check()):
        with pytest.raises(StorageAccessDenied, match=message):
            await call
    await storage.close()


async def test_a_bodiless_403_on_exists_is_access_denied(fake_s3: FakeS3Server) -> None:
    fake_s3.error = (403, "AccessDenied")
    storage = make_s3_storage(fake_s3.endpoint, "answerdesk")

    with pytest.raises(StorageAccessDenied, match="check the credentials"):
        await storage.exists("org/1/a.pdf")
    await storage.close()


async def test_other_service_errors_keep_their_code(fake_s3: FakeS3Server) -> None:
    fake_s3.error = (400, "InvalidStorageClass")
    storage = make_s3_storage(fake_s3.endpoint, "answerdesk")

    with pytest.raises(StorageError, match="bucket 'answerdesk': InvalidStorageClass"):
        await storage.put("org/1/a.pdf", b"x")
    await storage.close()


async def test_delete_prefix_sends_content_md5_for_services_that_demand_it(fake_s3: FakeS3Server) -> None:
    fake_s3.keys = {"org/1/a.pdf", "org/1/b.pdf", "org/2/c.pdf"}
    storage = make_s3_storage(fake_s3.endpoint, "answerdesk")

    removed = await storage.delete_prefix("org/1/")

    assert removed == 2
    assert fake_s3.keys == {"org/2/c.pdf"}
    assert len(fake_s3.delete_headers) == 1
    await storage.close()


async def test_objects_the_service_refuses_to_delete_are_reported(fake_s3: FakeS3Server) -> None:
    fake_s3.keys = {"org/1/a.pdf", "org/1/b.pdf"}
    fake_s3.undeletable = {"org/1/b.pdf"}
    storage = make_s3_storage(fake_s3.endpoint, "answerdesk")

    with pytest.raises(StorageError, match=r"Could not delete 1 of 2 objects .*'org/1/b.pdf': AccessDenied"):
        await storage.delete_prefix("org/1/")
    await storage.close()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"endpoint_url": "s3.example.com"}, "must start with http:// or https://"),
        ({"access_key_id": "AKIA", "secret_access_key": None}, "Set both"),
        ({"addressing_style": "sideways"}, "addressing style"),
        ({"prefix": "../up"}, "Invalid S3 key prefix"),
    ],
)
def test_impossible_configurations_are_refused_at_start_up(options: dict[str, Any], message: str) -> None:
    with pytest.raises(StorageConfigError, match=message):
        make_s3_storage("http://127.0.0.1:9", "answerdesk", **options)


def test_an_empty_bucket_name_is_refused() -> None:
    with pytest.raises(StorageConfigError, match="No S3 bucket"):
        S3Storage("")
