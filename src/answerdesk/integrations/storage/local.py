"""ObjectStorage on the local file system: one file per key under a root folder."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path

from answerdesk.integrations.storage.errors import ObjectNotFound, StorageConfigError, StorageError
from answerdesk.integrations.storage.keys import validate_key, validate_prefix

# Half-written files carry this shape so they are recognisable (and never a valid finished object).
_TEMP_PREFIX = ".tmp-"
_TEMP_SUFFIX = ".partial"


class LocalStorage:
    """Objects as files under ``root``; key ``a/b/c.pdf`` is the file ``root/a/b/c.pdf``.

    A key cannot also be a folder of other keys here (``a/b`` and ``a/b/c`` cannot both exist),
    unlike S3; the application's keys never need that. ``content_type`` is not kept.
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root).resolve()
        try:
            self._root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageConfigError(
                f"Cannot create the storage folder {self._root}: {exc.strerror}"
            ) from exc
        if not self._root.is_dir():
            raise StorageConfigError(f"The storage root {self._root} is not a folder")

    @property
    def root(self) -> Path:
        return self._root

    def describe(self) -> str:
        return f"local:{self._root}"

    async def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        path = self._path(key)
        await asyncio.to_thread(self._write, key, path, data)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        return await asyncio.to_thread(self._read, key, path)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(self._unlink, key, path)

    async def exists(self, key: str) -> bool:
        path = self._path(key)
        return await asyncio.to_thread(path.is_file)

    async def delete_prefix(self, prefix: str) -> int:
        validate_prefix(prefix)
        return await asyncio.to_thread(self._delete_prefix, prefix)

    async def check(self) -> None:
        await asyncio.to_thread(self._check)

    async def close(self) -> None:
        return None

    def _path(self, key: str) -> Path:
        # Validation refuses '..', absolute paths and empty segments, so the join stays under root.
        return self._root.joinpath(*validate_key(key).split("/"))

    def _write(self, key: str, path: Path, data: bytes) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError) as exc:
            raise StorageError(
                f"Cannot store {key!r}: a folder in its path is already stored as an object"
            ) from exc
        except OSError as exc:
            raise StorageError(f"Cannot store {key!r} under {self._root}: {exc.strerror}") from exc
        try:
            fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX)
        except OSError as exc:
            raise StorageError(f"Cannot store {key!r} under {self._root}: {exc.strerror}") from exc
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                # Flush to disk before the rename, so a crash leaves the old object or the new one.
                os.fsync(file.fileno())
            os.replace(temp_name, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            if isinstance(exc, IsADirectoryError):
                raise StorageError(f"Cannot store {key!r}: it is a folder of other objects") from exc
            if isinstance(exc, OSError):
                raise StorageError(f"Cannot store {key!r} under {self._root}: {exc.strerror}") from exc
            raise

    def _read(self, key: str, path: Path) -> bytes:
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError) as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise StorageError(f"Cannot read {key!r} under {self._root}: {exc.strerror}") from exc

    def _unlink(self, key: str, path: Path) -> None:
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        except OSError as exc:
            raise StorageError(f"Cannot delete {key!r} under {self._root}: {exc.strerror}") from exc

    def _delete_prefix(self, prefix: str) -> int:
        # Same meaning as an S3 prefix: the last segment is matched as the start of a name.
        folder_key, _, name_start = prefix.rpartition("/")
        folder = self._root.joinpath(*folder_key.split("/")) if folder_key else self._root
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return 0
        except OSError as exc:
            raise StorageError(f"Cannot list {prefix!r} under {self._root}: {exc.strerror}") from exc
        removed = 0
        try:
            for entry in entries:
                if not entry.name.startswith(name_start):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    removed += _remove_tree(Path(entry.path))
                else:
                    removed += _remove_file(Path(entry.path))
            if prefix.endswith("/") and folder != self._root:
                # The folder was the prefix itself; it is empty unless a writer raced us.
                with contextlib.suppress(OSError):
                    folder.rmdir()
        except OSError as exc:
            raise StorageError(f"Cannot delete {prefix!r} under {self._root}: {exc.strerror}") from exc
        return removed

    def _check(self) -> None:
        if not self._root.is_dir():
            raise StorageError(f"The storage folder {self._root} does not exist")
        if not os.access(self._root, os.W_OK | os.X_OK):
            raise StorageError(f"The storage folder {self._root} is not writable")


def _remove_file(path: Path) -> int:
    """Unlink one file; return 1 if it was a finished object, 0 otherwise."""
    try:
        path.unlink()
    except FileNotFoundError:
        return 0
    return 0 if _is_temp(path.name) else 1


def _remove_tree(folder: Path) -> int:
    """Remove ``folder`` and everything below it without following links; return the objects removed."""
    removed = 0
    for current, dir_names, file_names in os.walk(folder, topdown=False):
        for name in file_names:
            removed += _remove_file(Path(current, name))
        for name in dir_names:
            child = Path(current, name)
            if child.is_symlink():
                child.unlink()
            else:
                with contextlib.suppress(FileNotFoundError):
                    child.rmdir()
    with contextlib.suppress(FileNotFoundError):
        folder.rmdir()
    return removed


def _is_temp(name: str) -> bool:
    return name.startswith(_TEMP_PREFIX) and name.endswith(_TEMP_SUFFIX)
