"""On-disk index snapshots: files written atomically under a manifest that is verified on load.

Layout of an index directory, for an index named ``dense``::

    dense.manifest.json        # the only file a reader trusts first
    dense-<nonce>/...          # the snapshot the manifest names, one folder per save

A save writes a new snapshot folder under a temporary name, renames it into place, then
replaces the manifest (``os.replace``), and only then deletes older snapshot folders. A reader
therefore always sees a manifest naming a complete folder; a crash at any point leaves either
the old or the new snapshot in force. The manifest carries a sha256 of every file, so a
truncated or altered file is caught before FAISS or bm25s ever parse it.

One writer per directory: the caller serialises saves (two concurrent saves would each delete
the other's folder as stale).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, ValidationError

FORMAT_VERSION = 1
_CHUNK = 1 << 20

MetaValue = str | int | float | bool | None


class IndexLoadError(Exception):
    """A saved index cannot be used; the caller rebuilds it from the database."""


class MissingIndex(IndexLoadError):
    """No saved index in the directory."""


class StaleIndex(IndexLoadError):
    """The saved index is intact but describes other data than the caller expects."""


class CorruptIndex(IndexLoadError):
    """The saved index is unreadable, truncated or inconsistent with its manifest."""


class Manifest(BaseModel):
    """What a snapshot holds; written last, read first."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: int
    kind: str
    generation: int
    count: int
    id_checksum: str
    snapshot: str
    files: dict[str, str]
    meta: dict[str, MetaValue]


def id_checksum(ids: Iterable[int] | np.ndarray) -> str:
    """sha256 of the sorted ids as little-endian int64: what the database and the index must agree on."""
    arr = np.sort(np.asarray(ids if isinstance(ids, np.ndarray) else list(ids), dtype="<i8"))
    return hashlib.sha256(arr.tobytes()).hexdigest()


def as_id_array(ids: Iterable[int] | npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Chunk ids as a 1-D int64 array; rejects floats and nested shapes rather than guessing."""
    raw = np.asarray(list(ids) if isinstance(ids, Iterable) and not isinstance(ids, np.ndarray) else ids)
    if raw.ndim != 1:
        raise ValueError("ids must be one-dimensional")
    if raw.size and not np.issubdtype(raw.dtype, np.integer):
        raise ValueError(f"ids must be integers, got {raw.dtype}")
    return raw.astype(np.int64, copy=False)


# How long a temporary entry may be in use by a writer, and a superseded snapshot by a reader (see
# _remove_stale).
ABANDONED_AFTER_SECONDS = 600.0
SUPERSEDED_KEPT_SECONDS = 60.0


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(directory: Path, name: str) -> Path:
    return directory / f"{name}.manifest.json"


def write_snapshot(
    directory: Path,
    *,
    name: str,
    kind: str,
    generation: int,
    count: int,
    checksum: str,
    meta: Mapping[str, MetaValue],
    write_files: Callable[[Path], None],
) -> Manifest:
    """Write a snapshot through ``write_files(folder)`` and publish it atomically under a new manifest."""
    directory.mkdir(parents=True, exist_ok=True)
    nonce = secrets.token_hex(6)
    tmp = directory / f".{name}-tmp-{nonce}"
    final = directory / f"{name}-{nonce}"
    tmp.mkdir()
    try:
        write_files(tmp)
        files: dict[str, str] = {}
        for path in sorted(tmp.iterdir()):
            if not path.is_file():
                raise ValueError(f"snapshot writer left a non-file entry: {path.name}")
            _fsync_file(path)
            files[path.name] = file_sha256(path)
        _fsync_dir(tmp)
        os.replace(tmp, final)
        _fsync_dir(directory)
        manifest = Manifest(
            format=FORMAT_VERSION,
            kind=kind,
            generation=generation,
            count=count,
            id_checksum=checksum,
            snapshot=final.name,
            files=files,
            meta=dict(meta),
        )
        _mark_superseded(directory, name)
        _atomic_write_text(manifest_path(directory, name), manifest.model_dump_json(indent=2))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(final, ignore_errors=True)
        raise
    _remove_stale(directory, name, keep=final.name)
    return manifest


def open_snapshot(
    directory: Path,
    *,
    name: str,
    expected_generation: int,
    expected_id_checksum: str,
    expected_meta: Mapping[str, MetaValue],
) -> tuple[Manifest, Path]:
    """Read and verify a manifest and its files; return it with the snapshot folder to load from.

    Cheap checks (generation, ids, model) come before hashing the files, so a stale index is
    rejected without reading it.
    """
    manifest = read_manifest(directory, name)
    if manifest.format != FORMAT_VERSION:
        raise StaleIndex(f"{name} index has format {manifest.format}, this code reads {FORMAT_VERSION}")
    if manifest.generation != expected_generation:
        raise StaleIndex(f"{name} index is generation {manifest.generation}, expected {expected_generation}")
    if manifest.id_checksum != expected_id_checksum:
        raise StaleIndex(f"{name} index holds other chunk ids than expected (checksum differs)")
    for key, want in expected_meta.items():
        have = manifest.meta.get(key)
        if have != want:
            raise StaleIndex(f"{name} index has {key}={have!r}, expected {want!r}")
    folder = directory / manifest.snapshot
    if not re.fullmatch(rf"{re.escape(name)}-[0-9a-f]+", manifest.snapshot) or not folder.is_dir():
        raise CorruptIndex(f"{name} index snapshot folder {manifest.snapshot!r} is missing")
    for file_name, digest in manifest.files.items():
        path = folder / file_name
        if file_name in {"", ".", ".."} or file_name != Path(file_name).name or not path.is_file():
            raise CorruptIndex(f"{name} index file {file_name!r} is missing")
        if file_sha256(path) != digest:
            raise CorruptIndex(f"{name} index file {file_name!r} does not match its checksum")
    return manifest, folder


def read_manifest(directory: Path, name: str) -> Manifest:
    path = manifest_path(directory, name)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MissingIndex(f"no {name} index in {directory}") from None
    except OSError as exc:
        raise CorruptIndex(f"{name} manifest unreadable: {exc}") from exc
    try:
        return Manifest.model_validate(json.loads(raw))
    except (ValueError, ValidationError) as exc:
        raise CorruptIndex(f"{name} manifest is not a valid manifest: {exc}") from exc


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(6)}")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _mark_superseded(directory: Path, name: str) -> None:
    """Stamps the snapshot the manifest names now: its age then counts from when it stopped being current."""
    try:
        previous = read_manifest(directory, name).snapshot
        os.utime(directory / previous)
    except (OSError, IndexLoadError):
        return  # no manifest yet, or an unreadable one: nothing current to keep


def remove_superseded(directory: Path) -> None:
    """Removes every snapshot its manifest no longer names, at once: for words that must leave the disk now
    (a customer's erasure). A reader in another process still loading one falls back to a rebuild."""
    if not directory.is_dir():
        return
    for manifest in directory.glob("*.manifest.json"):
        name = manifest.name.removesuffix(".manifest.json")
        try:
            keep = read_manifest(directory, name).snapshot
        except IndexLoadError:
            continue
        _remove_stale(directory, name, keep=keep, superseded_kept_seconds=0.0)


def _remove_stale(
    directory: Path, name: str, *, keep: str, superseded_kept_seconds: float = SUPERSEDED_KEPT_SECONDS
) -> None:
    """Removes what no one can still be using. Replicas may share this folder: another process may be
    writing its own snapshot here, or loading the one the manifest named a moment ago. So a temporary entry
    goes only once a writer would long have finished (it was left by a crash), and a superseded snapshot only
    once a reader would have finished loading it."""
    now = time.time()
    for entry in directory.iterdir():
        temporary = entry.name.startswith((f".{name}.manifest.json.tmp-", f".{name}-tmp-"))
        superseded = entry.name.startswith(f"{name}-") and entry.name != keep
        if not (temporary or superseded):
            continue
        try:
            age = now - entry.stat().st_mtime
        except FileNotFoundError:  # another writer published or removed it meanwhile
            continue
        if age < (ABANDONED_AFTER_SECONDS if temporary else superseded_kept_seconds):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Makes the rename itself durable; some filesystems refuse fsync on a directory.
    with contextlib.suppress(OSError):
        _fsync_file(path)
