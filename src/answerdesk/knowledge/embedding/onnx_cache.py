"""The int8 ONNX model on disk: built once per cache directory, checked by a manifest, redone if stale or bad.

Layout under the cache directory (the app passes DATA_DIR/models/)::

    all-MiniLM-L6-v2-int8-onnx/model.onnx       the quantised graph
    all-MiniLM-L6-v2-int8-onnx/manifest.json    what it was built from, how, and its checksum
    all-MiniLM-L6-v2-int8-onnx.lock             held by the one process that (re)builds it

Readers never see a half-written model: a build happens in a staging folder and is moved in with
``os.replace``, and the manifest (written last) must match the model's checksum for the cache to count.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import structlog
from filelock import FileLock, Timeout

from answerdesk.knowledge.embedding.base import (
    MODEL_DISTRIBUTION,
    MODEL_NAME,
    EmbeddingError,
    packaged_model_dir,
    packaged_model_version,
)
from answerdesk.knowledge.embedding.onnx_export import ExportSettings, export_int8_onnx

log = structlog.get_logger(__name__)

CACHE_FOLDER = f"{MODEL_NAME}-int8-onnx"
MODEL_FILE = "model.onnx"
MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = 1
_STAGING_PREFIX = ".export-"
_SOURCE_FILES = ("model.safetensors", "config.json")

Exporter = Callable[[Path, Path, ExportSettings], None]


@dataclass(frozen=True)
class CachedModel:
    path: Path
    manifest: dict[str, Any]
    rebuilt: bool


def ensure_int8_model(
    cache_dir: Path,
    *,
    model_dir: Path | None = None,
    settings: ExportSettings | None = None,
    exporter: Exporter = export_int8_onnx,
    lock_timeout: float = 900.0,
) -> CachedModel:
    """The cached int8 model for the packaged weights, exporting it first if it is missing, stale or corrupt.

    Safe to call from several processes at once: one exports while the others wait on the lock, then
    find the fresh model and use it.
    """
    model_dir = model_dir or packaged_model_dir()
    settings = settings or ExportSettings()
    target = cache_dir / CACHE_FOLDER
    expected = _build_key(model_dir, settings)
    manifest = _valid_manifest(target, expected)
    if manifest is not None:
        return CachedModel(target / MODEL_FILE, manifest, rebuilt=False)

    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        with FileLock(cache_dir / f"{CACHE_FOLDER}.lock", timeout=lock_timeout):
            # Another process may have finished the export while this one waited for the lock.
            manifest = _valid_manifest(target, expected)
            if manifest is not None:
                return CachedModel(target / MODEL_FILE, manifest, rebuilt=False)
            manifest = _rebuild(cache_dir, target, model_dir, settings, expected, exporter)
    except Timeout as exc:
        raise EmbeddingError(
            f"gave up after {lock_timeout:.0f}s waiting for another process to export the ONNX model "
            f"(lock {exc.lock_file}); remove the lock file if no such process is running"
        ) from exc
    return CachedModel(target / MODEL_FILE, manifest, rebuilt=True)


def _rebuild(
    cache_dir: Path,
    target: Path,
    model_dir: Path,
    settings: ExportSettings,
    key: dict[str, Any],
    exporter: Exporter,
) -> dict[str, Any]:
    # Holding the lock means no other export is running, so any staging folder left is from a crash.
    for leftover in cache_dir.glob(f"{_STAGING_PREFIX}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    log.info("embedding.onnx_export.started", cache_dir=str(cache_dir), reason=_why_invalid(target, key))
    staging = Path(tempfile.mkdtemp(prefix=_STAGING_PREFIX, dir=cache_dir))
    try:
        built = staging / MODEL_FILE
        try:
            exporter(model_dir, built, settings)
        except Exception as exc:
            raise EmbeddingError(f"exporting {MODEL_NAME} to int8 ONNX failed: {exc}") from exc
        if not built.is_file():
            raise EmbeddingError(f"the ONNX exporter wrote no model to {built}")
        manifest = {
            **key,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "tools": _tool_versions(),
            "files": {MODEL_FILE: {"sha256": _sha256(built), "bytes": built.stat().st_size}},
        }
        target.mkdir(parents=True, exist_ok=True)
        (target / MANIFEST_FILE).unlink(missing_ok=True)
        os.replace(built, target / MODEL_FILE)
        _write_atomically(target / MANIFEST_FILE, json.dumps(manifest, indent=2, sort_keys=True))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("embedding.onnx_export.finished", path=str(target / MODEL_FILE))
    return manifest


def _build_key(model_dir: Path, settings: ExportSettings) -> dict[str, Any]:
    """What the cached model must have been built from; any difference means rebuild."""
    key = {
        "format": MANIFEST_FORMAT,
        "source": {
            "package": MODEL_DISTRIBUTION,
            "version": packaged_model_version(),
            "sha256": {name: _source_sha256(model_dir / name) for name in _SOURCE_FILES},
        },
        # The fused graph uses ONNX Runtime contrib ops, so a model built by another runtime release is redone
        "export": {**settings.as_dict(), "onnxruntime": _version("onnxruntime")},
    }
    # Compared with what json.load returns, so tuples must already be lists.
    normalised: dict[str, Any] = json.loads(json.dumps(key))
    return normalised


def _valid_manifest(target: Path, expected: dict[str, Any]) -> dict[str, Any] | None:
    manifest = _read_manifest(target)
    if manifest is None or _why_invalid(target, expected, manifest) is not None:
        return None
    return manifest


def _why_invalid(
    target: Path, expected: dict[str, Any], manifest: dict[str, Any] | None = None
) -> str | None:
    manifest = manifest if manifest is not None else _read_manifest(target)
    if manifest is None:
        return "no readable manifest"
    for field in expected:
        if manifest.get(field) != expected[field]:
            return f"manifest {field} differs"
    model = target / MODEL_FILE
    recorded = manifest.get("files", {}).get(MODEL_FILE, {})
    if not model.is_file():
        return "model file missing"
    if model.stat().st_size != recorded.get("bytes") or _sha256(model) != recorded.get("sha256"):
        return "model checksum mismatch"
    return None


def _read_manifest(target: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((target / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it owner-only; the model file beside it is world-readable
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _source_sha256(path: Path) -> str:
    stat = path.stat()
    return _sha256_of_version(path, stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=8)
def _sha256_of_version(path: Path, size: int, mtime_ns: int) -> str:
    # The packaged weights (90 MB) do not change while the process runs; hash them once per version.
    return _sha256(path)


def _sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _tool_versions() -> dict[str, str]:
    return {name: _version(name) for name in ("torch", "transformers", "onnx", "onnxruntime")}


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "not installed"
