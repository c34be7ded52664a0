"""ObjectStorage on any S3-compatible service (AWS S3, Wasabi, DigitalOcean Spaces, Hetzner, MinIO)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, Literal, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from answerdesk.integrations.storage.errors import (
    BucketNotFound,
    InvalidKey,
    ObjectNotFound,
    StorageAccessDenied,
    StorageConfigError,
    StorageError,
    StorageUnreachable,
)
from answerdesk.integrations.storage.keys import validate_key, validate_prefix

AddressingStyle = Literal["auto", "path", "virtual"]
# Server-side encryption of stored objects: S3-managed keys, KMS keys, or none (services without SSE).
ServerSideEncryption = Literal["AES256", "aws:kms", "none"]

_T = TypeVar("_T")

# S3's own ceiling for one DeleteObjects request.
DELETE_BATCH_SIZE = 1000

_ACCESS_DENIED_CODES = frozenset({"AccessDenied", "403", "AllAccessDisabled", "AccountProblem"})
_MISSING_KEY_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
_WRONG_REGION_CODES = frozenset(
    {"AuthorizationHeaderMalformed", "PermanentRedirect", "IllegalLocationConstraintException"}
)


class S3Storage:
    """Objects in one bucket, optionally under a key prefix, over boto3's (blocking) client.

    Every call runs in a worker thread; boto3 clients are thread-safe. Credentials left as ``None``
    fall back to boto3's usual chain (environment, ~/.aws, instance role). ``session`` lets several
    storages built in one thread share a boto3 Session (the S3 model is then parsed once).
    """

    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
        addressing_style: AddressingStyle = "auto",
        connect_timeout: float = 5.0,
        read_timeout: float = 60.0,
        max_attempts: int = 3,
        server_side_encryption: ServerSideEncryption = "AES256",
        sse_kms_key_id: str | None = None,
        session: boto3.session.Session | None = None,
    ) -> None:
        if not bucket:
            raise StorageConfigError("No S3 bucket configured")
        if endpoint_url and not endpoint_url.startswith(("http://", "https://")):
            raise StorageConfigError(f"S3 endpoint URL {endpoint_url!r} must start with http:// or https://")
        if bool(access_key_id) != bool(secret_access_key):
            raise StorageConfigError("Set both the S3 access key ID and the secret access key, or neither")
        if addressing_style not in ("auto", "path", "virtual"):
            raise StorageConfigError(
                f"S3 addressing style must be 'auto', 'path' or 'virtual', not {addressing_style!r}"
            )
        if server_side_encryption not in ("AES256", "aws:kms", "none"):
            raise StorageConfigError(
                "S3 server-side encryption must be 'AES256', 'aws:kms' or 'none', "
                f"not {server_side_encryption!r}"
            )
        if sse_kms_key_id and server_side_encryption != "aws:kms":
            raise StorageConfigError("An S3 KMS key ID needs server-side encryption 'aws:kms'")
        self._bucket = bucket
        self._prefix = _normalise_prefix(prefix)
        # Sent with every upload: originals and exports hold customers' data, so they are encrypted at rest
        # even where the bucket has no default encryption.
        self._sse: dict[str, str] = {}
        if server_side_encryption != "none":
            self._sse["ServerSideEncryption"] = server_side_encryption
            if sse_kms_key_id:
                self._sse["SSEKMSKeyId"] = sse_kms_key_id
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing_style},
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            # Since botocore 1.36 every upload carries a CRC32 (often as a chunked trailer) that
            # several S3-compatible services reject; only send checksums S3 itself requires.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        # A private session unless one is shared: a boto3 Session is not safe to share between
        # threads, but building clients from one at start-up is, and loads the S3 model once.
        session = session or boto3.session.Session()
        try:
            self._client: Any = session.client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region or None,
                aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None,
                config=config,
            )
        except (ValueError, BotoCoreError) as exc:
            raise StorageConfigError(f"Invalid S3 configuration: {exc}") from exc
        # Many S3-compatible services still demand Content-MD5 on DeleteObjects, which botocore
        # stopped sending in 1.36 (it sends a CRC32 instead); AWS accepts both headers.
        self._client.meta.events.register("before-call.s3.DeleteObjects", _add_content_md5)
        self._endpoint: str = self._client.meta.endpoint_url
        self._region: str | None = self._client.meta.region_name

    @property
    def bucket(self) -> str:
        return self._bucket

    def describe(self) -> str:
        location = f"s3://{self._bucket}/{self._prefix}" if self._prefix else f"s3://{self._bucket}"
        region = f" ({self._region})" if self._region else ""
        return f"{location} @ {self._endpoint}{region}"

    async def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        full_key = self._full_key(key)
        extra = {**self._sse, **({"ContentType": content_type} if content_type else {})}
        upload = partial(self._client.put_object, Bucket=self._bucket, Key=full_key, Body=data, **extra)
        await self._run(key, upload)

    async def get(self, key: str) -> bytes:
        full_key = self._full_key(key)

        def read() -> bytes:
            response = self._client.get_object(Bucket=self._bucket, Key=full_key)
            with response["Body"] as body:
                data: bytes = body.read()
            return data

        return await self._run(key, read)

    async def delete(self, key: str) -> None:
        full_key = self._full_key(key)
        # S3 answers 204 for a missing key too, so this is idempotent without a check.
        await self._run(key, partial(self._client.delete_object, Bucket=self._bucket, Key=full_key))

    async def exists(self, key: str) -> bool:
        full_key = self._full_key(key)

        def head() -> bool:
            try:
                self._client.head_object(Bucket=self._bucket, Key=full_key)
            except ClientError as exc:
                # A HEAD answer has no body, so a missing bucket also reads as a plain 404 here.
                if _error_code(exc) in _MISSING_KEY_CODES:
                    return False
                raise
            return True

        return await self._run(key, head)

    async def stat(self, key: str) -> tuple[int, str]:
        """The object's size and ETag (unquoted); raises ``ObjectNotFound``. Backups list these."""
        full_key = self._full_key(key)

        def head() -> tuple[int, str]:
            response = self._client.head_object(Bucket=self._bucket, Key=full_key)
            return int(response["ContentLength"]), str(response.get("ETag", "")).strip('"')

        return await self._run(key, head)

    async def delete_prefix(self, prefix: str) -> int:
        full_prefix = self._prefix + validate_prefix(prefix)
        return await self._run(None, partial(self._delete_prefix, full_prefix))

    async def check(self) -> None:
        # A listing (not HEAD) gives a readable error code and proves the ListBucket
        # permission that delete_prefix needs.
        await self._run(
            None, partial(self._client.list_objects_v2, Bucket=self._bucket, Prefix=self._prefix, MaxKeys=1)
        )

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

    def _full_key(self, key: str) -> str:
        return self._prefix + validate_key(key)

    def _delete_prefix(self, full_prefix: str) -> int:
        removed = 0
        # Deleting page by page is safe: the continuation token is a position in key order.
        for keys in self._pages_of_keys(full_prefix):
            for start in range(0, len(keys), DELETE_BATCH_SIZE):
                batch = keys[start : start + DELETE_BATCH_SIZE]
                response = self._client.delete_objects(
                    Bucket=self._bucket,
                    Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                )
                errors = response.get("Errors", [])
                if errors:
                    first = errors[0]
                    raise StorageError(
                        f"Could not delete {len(errors)} of {len(batch)} objects under {full_prefix!r} "
                        f"in bucket {self._bucket!r}; first: {first.get('Key')!r}: "
                        f"{first.get('Code')} {first.get('Message', '')}".rstrip()
                    )
                removed += len(batch)
        return removed

    def _pages_of_keys(self, full_prefix: str) -> Iterator[list[str]]:
        paginator = self._client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self._bucket, Prefix=full_prefix):
            keys = [item["Key"] for item in page.get("Contents", [])]
            if keys:
                yield keys

    async def _run(self, key: str | None, call: Callable[[], _T]) -> _T:
        return await asyncio.to_thread(self._translated, key, call)

    def _translated(self, key: str | None, call: Callable[[], _T]) -> _T:
        try:
            return call()
        except ClientError as exc:
            raise self._client_error(exc, key) from exc
        except NoCredentialsError as exc:
            raise StorageAccessDenied(
                f"No credentials for bucket {self._bucket!r}: set an access key ID and secret access key"
            ) from exc
        except BotoConnectionError as exc:
            raise StorageUnreachable(f"Cannot reach S3 endpoint {self._endpoint}: {exc}") from exc
        except ReadTimeoutError as exc:
            raise StorageUnreachable(f"S3 endpoint {self._endpoint} did not answer in time") from exc
        except ConnectionClosedError as exc:
            raise StorageUnreachable(f"S3 endpoint {self._endpoint} closed the connection") from exc
        except BotoCoreError as exc:
            raise StorageError(f"S3 request to {self._endpoint} failed: {exc}") from exc

    def _client_error(self, exc: ClientError, key: str | None) -> StorageError:
        code = _error_code(exc)
        bucket = self._bucket
        if code == "NoSuchBucket":
            return BucketNotFound(f"Bucket {bucket!r} does not exist at {self._endpoint}")
        if key is not None and code in _MISSING_KEY_CODES:
            return ObjectNotFound(key)
        if code == "InvalidAccessKeyId":
            return StorageAccessDenied(
                f"Access denied to bucket {bucket!r} — the access key ID is not known to {self._endpoint}"
            )
        if code == "SignatureDoesNotMatch":
            return StorageAccessDenied(
                f"Access denied to bucket {bucket!r} — the secret access key does not match the key ID"
            )
        if code in _ACCESS_DENIED_CODES:
            return StorageAccessDenied(f"Access denied to bucket {bucket!r} — check the credentials")
        if code in _WRONG_REGION_CODES:
            return StorageConfigError(
                f"Bucket {bucket!r} is not reachable with region {self._region!r} — check the region "
                f"({code}: {_error_message(exc)})"
            )
        return StorageError(f"S3 error on bucket {bucket!r}: {code}: {_error_message(exc)}")


def _normalise_prefix(prefix: str) -> str:
    """'' stays ''; 'answerdesk' and 'answerdesk/' both become 'answerdesk/'."""
    stripped = prefix.strip("/")
    if not stripped:
        return ""
    try:
        return validate_prefix(stripped + "/")
    except InvalidKey as exc:
        raise StorageConfigError(f"Invalid S3 key prefix {prefix!r}: {exc}") from exc


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _error_message(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)


def _add_content_md5(params: dict[str, Any], **_: Any) -> None:
    body = params.get("body")
    if isinstance(body, bytes):
        digest = hashlib.md5(body, usedforsecurity=False).digest()
        params["headers"]["Content-MD5"] = base64.b64encode(digest).decode("ascii")
