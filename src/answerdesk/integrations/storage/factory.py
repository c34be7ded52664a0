"""build_storage(): the one place that turns plain settings into an ObjectStorage."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from answerdesk.integrations.storage.base import ObjectStorage
from answerdesk.integrations.storage.errors import StorageConfigError
from answerdesk.integrations.storage.local import LocalStorage
from answerdesk.integrations.storage.s3 import AddressingStyle, S3Storage, ServerSideEncryption

StorageBackend = Literal["local", "s3"]


def build_storage(
    backend: StorageBackend,
    *,
    local_root: Path | None = None,
    s3_bucket: str | None = None,
    s3_endpoint_url: str | None = None,
    s3_region: str | None = None,
    s3_access_key_id: str | None = None,
    s3_secret_access_key: str | None = None,
    s3_prefix: str = "",
    s3_addressing_style: AddressingStyle = "auto",
    s3_connect_timeout: float = 5.0,
    s3_read_timeout: float = 60.0,
    s3_max_attempts: int = 3,
    s3_server_side_encryption: ServerSideEncryption = "AES256",
    s3_sse_kms_key_id: str | None = None,
) -> ObjectStorage:
    """Build the configured backend; call once at start-up. Raises ``StorageConfigError``."""
    if backend == "local":
        if local_root is None:
            raise StorageConfigError("The local storage backend needs a root folder")
        return LocalStorage(local_root)
    if backend == "s3":
        if not s3_bucket:
            raise StorageConfigError("The s3 storage backend needs a bucket (ANSWERDESK_S3_BUCKET)")
        return S3Storage(
            s3_bucket,
            endpoint_url=s3_endpoint_url,
            region=s3_region,
            access_key_id=s3_access_key_id,
            secret_access_key=s3_secret_access_key,
            prefix=s3_prefix,
            addressing_style=s3_addressing_style,
            connect_timeout=s3_connect_timeout,
            read_timeout=s3_read_timeout,
            max_attempts=s3_max_attempts,
            server_side_encryption=s3_server_side_encryption,
            sse_kms_key_id=s3_sse_kms_key_id,
        )
    raise StorageConfigError(f"Unknown storage backend {backend!r}; use 'local' or 's3'")
