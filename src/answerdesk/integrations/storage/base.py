"""The ObjectStorage interface every backend (local folder, S3-compatible bucket) implements."""

from __future__ import annotations

from typing import Protocol


class ObjectStorage(Protocol):
    """Bytes stored under '/'-separated keys such as ``org/<uuid>/documents/<uuid>/original.pdf``.

    Keys are checked by :func:`answerdesk.integrations.storage.keys.validate_key`; a bad key raises
    ``InvalidKey``. Every other failure raises a ``StorageError`` subclass with a readable message.
    """

    async def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Store ``data`` under ``key``, replacing any previous object; readers never see a partial write."""
        ...

    async def get(self, key: str) -> bytes:
        """Return the object's bytes; raise ``ObjectNotFound`` if there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error."""
        ...

    async def exists(self, key: str) -> bool:
        """Whether an object is stored under ``key``."""
        ...

    async def delete_prefix(self, prefix: str) -> int:
        """Remove every object whose key starts with ``prefix`` (a plain string prefix, as in S3).

        Pass a trailing '/' to remove one folder only: ``"org/1/"`` spares ``"org/10/..."``.
        Returns how many objects were removed.
        """
        ...

    async def check(self) -> None:
        """Raise a ``StorageError`` if the storage cannot be used right now (for readiness probes)."""
        ...

    def describe(self) -> str:
        """Where objects go, for the admin and readiness pages; never includes a secret."""
        ...

    async def close(self) -> None:
        """Release connections; call once at shutdown."""
        ...
