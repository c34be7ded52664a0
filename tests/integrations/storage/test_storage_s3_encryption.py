"""Server-side encryption of uploads (ANSWERDESK_S3_SSE), checked on moto's S3 server."""

from __future__ import annotations

from typing import Any

import pytest
from tests.fakes.s3 import new_bucket
from tests.integrations.storage.storage_fakes import make_s3_storage

from answerdesk.config import Settings
from answerdesk.integrations.storage import StorageConfigError, build_storage


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({}, ("AES256", None)),
        (
            {"server_side_encryption": "aws:kms", "sse_kms_key_id": "alias/answerdesk"},
            ("aws:kms", "alias/answerdesk"),
        ),
        ({"server_side_encryption": "none"}, (None, None)),
    ],
)
async def test_uploads_carry_the_configured_encryption(
    moto_endpoint: str, moto_client: Any, options: dict[str, Any], expected: tuple[str | None, str | None]
) -> None:
    bucket = new_bucket(moto_client)
    storage = make_s3_storage(moto_endpoint, bucket, **options)
    try:
        await storage.put("org/1/documents/2/original.pdf", b"%PDF-1.7", content_type="application/pdf")
    finally:
        await storage.close()
    head = moto_client.head_object(Bucket=bucket, Key="org/1/documents/2/original.pdf")
    assert (head.get("ServerSideEncryption"), head.get("SSEKMSKeyId")) == expected
    assert head["ContentType"] == "application/pdf"


def test_a_bad_encryption_setting_is_refused(moto_endpoint: str) -> None:
    with pytest.raises(StorageConfigError, match="AES256"):
        make_s3_storage(moto_endpoint, "b", server_side_encryption="DES")
    with pytest.raises(StorageConfigError, match="aws:kms"):
        make_s3_storage(moto_endpoint, "b", sse_kms_key_id="alias/x")
    with pytest.raises(ValueError, match="s3_sse"):
        Settings(s3_sse="DES")  # type: ignore[arg-type]
    storage = build_storage(
        "s3", s3_bucket="b", s3_endpoint_url=moto_endpoint, s3_server_side_encryption="none"
    )
    assert storage.describe().startswith("s3://b")
