"""Object storage for uploaded originals: a local folder or an S3-compatible bucket."""

from answerdesk.integrations.storage.base import ObjectStorage
from answerdesk.integrations.storage.errors import (
    BucketNotFound,
    InvalidKey,
    ObjectNotFound,
    StorageAccessDenied,
    StorageConfigError,
    StorageError,
    StorageUnreachable,
)
from answerdesk.integrations.storage.factory import StorageBackend, build_storage
from answerdesk.integrations.storage.keys import validate_key, validate_prefix
from answerdesk.integrations.storage.local import LocalStorage
from answerdesk.integrations.storage.s3 import AddressingStyle, S3Storage, ServerSideEncryption

__all__ = [
    "AddressingStyle",
    "BucketNotFound",
    "InvalidKey",
    "LocalStorage",
    "ObjectNotFound",
    "ObjectStorage",
    "S3Storage",
    "ServerSideEncryption",
    "StorageAccessDenied",
    "StorageBackend",
    "StorageConfigError",
    "StorageError",
    "StorageUnreachable",
    "build_storage",
    "validate_key",
    "validate_prefix",
]
