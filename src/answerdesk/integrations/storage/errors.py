"""Exceptions raised by the object-storage adapters, each with a message fit to show an operator."""

from __future__ import annotations


class StorageError(Exception):
    """Base class: anything that went wrong while storing or reading an object."""


class StorageConfigError(StorageError):
    """The storage is configured in a way that cannot work (missing bucket, bad endpoint URL, ...)."""


class InvalidKey(StorageError):
    """A key or prefix that is empty, absolute, or would escape the storage root."""


class ObjectNotFound(StorageError):
    """No object is stored under the key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"No stored object under key {key!r}")
        self.key = key


class BucketNotFound(StorageError):
    """The configured bucket does not exist on the endpoint."""


class StorageAccessDenied(StorageError):
    """The endpoint refused the credentials or their permissions."""


class StorageUnreachable(StorageError):
    """The storage endpoint could not be reached or did not answer in time."""
