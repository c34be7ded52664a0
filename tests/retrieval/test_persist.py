"""Snapshot writing and verification shared by the indexes."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from answerdesk.retrieval.persist import (
    ABANDONED_AFTER_SECONDS,
    SUPERSEDED_KEPT_SECONDS,
    CorruptIndex,
    StaleIndex,
    id_checksum,
    open_snapshot,
    remove_superseded,
    write_snapshot,
)


def write(directory: Path, payload: bytes, generation: int = 1) -> str:
    def files(folder: Path) -> None:
        (folder / "payload.bin").write_bytes(payload)

    manifest = write_snapshot(
        directory,
        name="demo",
        kind="test",
        generation=generation,
        count=1,
        checksum=id_checksum([1]),
        meta={"model_name": "m"},
        write_files=files,
    )
    return manifest.snapshot


def open_demo(directory: Path, generation: int = 1, meta: dict[str, str] | None = None) -> Path:
    _, folder = open_snapshot(
        directory,
        name="demo",
        expected_generation=generation,
        expected_id_checksum=id_checksum([1]),
        expected_meta=meta or {"model_name": "m"},
    )
    return folder


def test_id_checksum_ignores_order_but_not_content() -> None:
    assert id_checksum([3, 1, 2]) == id_checksum(np.array([1, 2, 3], dtype=np.int32))
    assert id_checksum([1, 2, 3]) != id_checksum([1, 2, 4])
    assert id_checksum([1, 2]) != id_checksum([1, 2, 2])


def test_a_failed_save_leaves_the_previous_snapshot_in_force(tmp_path: Path) -> None:
    write(tmp_path, b"first")

    def broken(folder: Path) -> None:
        (folder / "payload.bin").write_bytes(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_snapshot(
            tmp_path,
            name="demo",
            kind="test",
            generation=2,
            count=1,
            checksum=id_checksum([1]),
            meta={"model_name": "m"},
            write_files=broken,
        )
    assert (open_demo(tmp_path) / "payload.bin").read_bytes() == b"first"
    assert len(list(tmp_path.iterdir())) == 2


def test_other_names_in_the_same_directory_are_left_alone(tmp_path: Path) -> None:
    other = tmp_path / "other-abc"
    other.mkdir()
    write(tmp_path, b"one")
    write(tmp_path, b"two")
    assert other.is_dir()
    assert (open_demo(tmp_path) / "payload.bin").read_bytes() == b"two"


def age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_writers_sharing_the_folder_never_remove_each_others_work(tmp_path: Path) -> None:
    """Replicas may share the index folder: one's save must not delete what another is writing."""
    started, release = threading.Event(), threading.Event()
    outcome: list[str] = []

    def slow(folder: Path) -> None:
        (folder / "payload.bin").write_bytes(b"slow")
        started.set()
        release.wait(5)  # another writer publishes meanwhile

    def write_slowly() -> None:
        manifest = write_snapshot(
            tmp_path, name="demo", kind="test", generation=2, count=1,
            checksum=id_checksum([1]), meta={"model_name": "m"}, write_files=slow,
        )  # fmt: skip
        outcome.append(manifest.snapshot)

    writer = threading.Thread(target=write_slowly)
    writer.start()
    assert started.wait(5)
    fast = write(tmp_path, b"fast", generation=1)
    release.set()
    writer.join(5)
    assert outcome, "the slower writer failed"
    assert (open_demo(tmp_path, generation=2) / "payload.bin").read_bytes() == b"slow"
    # The snapshot it replaced stays for readers that had just read the old manifest, for a while.
    assert (tmp_path / fast).is_dir()


def test_leftovers_go_once_nobody_can_be_using_them(tmp_path: Path) -> None:
    first = write(tmp_path, b"one")
    crashed = tmp_path / ".demo-tmp-0123456789ab"
    crashed.mkdir()
    writing = tmp_path / ".demo-tmp-ba9876543210"
    writing.mkdir()
    age(crashed, ABANDONED_AFTER_SECONDS + 1)
    second = write(tmp_path, b"two")
    assert (tmp_path / first).is_dir()  # just superseded: a reader may still be loading it
    assert not crashed.exists() and writing.is_dir()
    age(tmp_path / first, SUPERSEDED_KEPT_SECONDS + 1)
    write(tmp_path, b"three")
    assert not (tmp_path / first).exists()
    assert (tmp_path / second).is_dir()  # superseded by "three" just now
    assert (open_demo(tmp_path) / "payload.bin").read_bytes() == b"three"


def test_superseded_snapshots_can_be_removed_at_once(tmp_path: Path) -> None:
    """After an erasure the old words must leave the disk now, not a minute later."""
    first = write(tmp_path, b"secret words")
    current = write(tmp_path, b"clean")
    assert (tmp_path / first).is_dir()
    remove_superseded(tmp_path)
    assert not (tmp_path / first).exists()
    assert (tmp_path / current).is_dir() and (open_demo(tmp_path) / "payload.bin").read_bytes() == b"clean"
    remove_superseded(tmp_path / "no-such-folder")  # an organization without an index: nothing to do


def test_meta_mismatch_is_stale_and_a_missing_snapshot_folder_is_corrupt(tmp_path: Path) -> None:
    snapshot = write(tmp_path, b"x")
    with pytest.raises(StaleIndex, match="model_name"):
        open_demo(tmp_path, meta={"model_name": "other"})
    (tmp_path / snapshot / "payload.bin").unlink()
    with pytest.raises(CorruptIndex, match="missing"):
        open_demo(tmp_path)


@pytest.mark.parametrize("snapshot", ["../elsewhere", "..", ".", "/etc"])
def test_manifest_cannot_point_outside_the_directory(tmp_path: Path, snapshot: str) -> None:
    write(tmp_path, b"x")
    path = tmp_path / "demo.manifest.json"
    manifest = json.loads(path.read_text())
    manifest["snapshot"] = snapshot
    path.write_text(json.dumps(manifest))
    with pytest.raises(CorruptIndex):
        open_demo(tmp_path)


def test_a_manifest_with_unknown_fields_is_corrupt(tmp_path: Path) -> None:
    write(tmp_path, b"x")
    path = tmp_path / "demo.manifest.json"
    manifest = json.loads(path.read_text()) | {"surprise": 1}
    path.write_text(json.dumps(manifest))
    with pytest.raises(CorruptIndex, match="manifest"):
        open_demo(tmp_path)
