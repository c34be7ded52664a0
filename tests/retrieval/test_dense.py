"""Dense FAISS index: layout by size, add/remove, filtering, and verified persistence."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

from answerdesk.retrieval.dense import (
    CorruptIndex,
    DenseIndex,
    HnswParams,
    IndexKind,
    MissingIndex,
    StaleIndex,
)
from answerdesk.retrieval.persist import SUPERSEDED_KEPT_SECONDS, id_checksum

DIM = 384
MODEL = "all-MiniLM-L6-v2"


def unit_vectors(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, DIM)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def chunk_ids(n: int) -> np.ndarray:
    """Sparse, non-contiguous ids like database primary keys after deletions."""
    return np.arange(n, dtype=np.int64) * 7 + 100


def make_index(kind: IndexKind, n: int = 600, **kwargs: object) -> tuple[DenseIndex, np.ndarray, np.ndarray]:
    ids, vectors = chunk_ids(n), unit_vectors(n)
    return DenseIndex.build(ids, vectors, model_name=MODEL, kind=kind, **kwargs), ids, vectors  # type: ignore[arg-type]


def exact_top(vectors: np.ndarray, ids: np.ndarray, query: np.ndarray, k: int) -> list[int]:
    return [int(ids[i]) for i in np.argsort(-(vectors @ query), kind="stable")[:k]]


both_kinds = pytest.mark.parametrize("kind", [IndexKind.FLAT, IndexKind.HNSW])


def test_layout_switches_to_hnsw_above_the_threshold() -> None:
    at = DenseIndex.build(chunk_ids(50), unit_vectors(50), model_name=MODEL, hnsw_threshold=50)
    assert at.kind is IndexKind.FLAT
    above = DenseIndex.build(chunk_ids(51), unit_vectors(51), model_name=MODEL, hnsw_threshold=50)
    assert above.kind is IndexKind.HNSW
    assert DenseIndex(model_name=MODEL).kind is IndexKind.FLAT


def test_flat_index_grown_past_the_threshold_advises_rebuild_into_hnsw() -> None:
    index = DenseIndex.build(chunk_ids(40), unit_vectors(40), model_name=MODEL, hnsw_threshold=50)
    assert not index.needs_rebuild
    index.add(np.arange(20) + 10_000, unit_vectors(20, seed=1))
    assert index.needs_rebuild
    rebuilt = index.rebuild()
    assert rebuilt.kind is IndexKind.HNSW
    assert np.array_equal(rebuilt.ids(), index.ids())


@both_kinds
def test_search_finds_the_stored_vector_first(kind: IndexKind) -> None:
    index, ids, vectors = make_index(kind)
    hits = index.search(vectors[123], 5)
    assert hits[0][0] == ids[123]
    assert hits[0][1] == pytest.approx(1.0, abs=1e-5)
    assert [score for _, score in hits] == sorted((score for _, score in hits), reverse=True)
    assert [item for item, _ in hits] == exact_top(vectors, ids, vectors[123], 5)


@both_kinds
def test_k_larger_than_the_index_returns_everything(kind: IndexKind) -> None:
    index, ids, vectors = make_index(kind, n=8)
    assert sorted(item for item, _ in index.search(vectors[0], 50)) == sorted(ids.tolist())
    assert index.search(vectors[0], 0) == []
    assert DenseIndex(model_name=MODEL).search(vectors[0], 5) == []


@both_kinds
def test_add_makes_new_chunks_findable_and_refuses_duplicates(kind: IndexKind) -> None:
    index, ids, _ = make_index(kind)
    fresh = unit_vectors(3, seed=9)
    index.add([1, 2, 3], fresh)
    assert index.count == len(ids) + 3
    assert index.search(fresh[1], 1)[0][0] == 2
    with pytest.raises(ValueError, match="already indexed"):
        index.add([2], fresh[:1])
    with pytest.raises(ValueError, match="duplicates"):
        index.add([7, 7], unit_vectors(2, seed=3))


@both_kinds
def test_a_copy_changes_without_touching_the_original(kind: IndexKind) -> None:
    index, ids, vectors = make_index(kind)
    before = index.search(vectors[5], 10)
    copy = index.copy()
    copy.remove([int(ids[5])])
    copy.add([1], unit_vectors(1, seed=9))
    assert (copy.kind, copy.count, 1 in copy, int(ids[5]) in copy) == (kind, len(ids), True, False)
    assert index.search(vectors[5], 10) == before
    assert (index.count, 1 in index, int(ids[5]) in index) == (len(ids), False, True)
    assert copy.search(vectors[5], 10)[0][0] != ids[5]


def test_flat_remove_deletes_for_real() -> None:
    index, ids, vectors = make_index(IndexKind.FLAT)
    assert index.remove([int(ids[5]), int(ids[6]), 999_999]) == 2
    assert index.count == len(ids) - 2
    assert index.deleted_count == 0
    assert ids[5] not in index
    assert all(item not in (ids[5], ids[6]) for item, _ in index.search(vectors[5], 20))


def test_hnsw_remove_tombstones_and_readd_uses_the_new_vector() -> None:
    index, ids, vectors = make_index(IndexKind.HNSW, rebuild_ratio=0.2)
    target = int(ids[5])
    assert index.remove([target]) == 1
    assert index.remove([target]) == 0
    assert (index.count, index.deleted_count) == (len(ids) - 1, 1)
    assert all(item != target for item, _ in index.search(vectors[5], 50))

    replacement = unit_vectors(1, seed=42)
    index.add([target], replacement)
    [(found, score)] = index.search(replacement[0], 1)
    assert found == target
    assert score == pytest.approx(1.0, abs=1e-5)
    assert all(item != target for item, _ in index.search(vectors[5], 3))


def test_hnsw_advises_rebuild_after_many_removals_and_rebuild_compacts() -> None:
    index, ids, vectors = make_index(IndexKind.HNSW, n=600, hnsw_threshold=100, rebuild_ratio=0.2)
    index.remove(ids[:100])
    assert not index.needs_rebuild
    index.remove(ids[100:200])
    assert index.needs_rebuild and "deleted" in (index.rebuild_reason or "")
    rebuilt = index.rebuild()
    assert (rebuilt.kind, rebuilt.count, rebuilt.deleted_count) == (IndexKind.HNSW, 400, 0)
    assert np.array_equal(rebuilt.ids(), np.sort(ids[200:]))
    assert rebuilt.search(vectors[300], 1)[0][0] == ids[300]


@both_kinds
@pytest.mark.parametrize("exact_filter_limit", [4096, 0])
def test_allowed_ids_restrict_results(kind: IndexKind, exact_filter_limit: int) -> None:
    index, ids, vectors = make_index(kind, exact_filter_limit=exact_filter_limit)
    allowed_rows = np.arange(0, len(ids), 3)
    allowed = {int(i) for i in ids[allowed_rows]} | {424242}
    query = vectors[allowed_rows[10]]
    hits = index.search(query, 10, allowed_ids=allowed)
    assert len(hits) == 10
    assert {item for item, _ in hits} <= allowed
    assert hits[0][0] == ids[allowed_rows[10]]
    # The best disallowed chunk (the query's own vector is allowed, so look at another one) is excluded.
    assert index.search(vectors[1], 1, allowed_ids=allowed)[0][0] != ids[1]
    expected = exact_top(vectors[allowed_rows], ids[allowed_rows], query, 10)
    assert [item for item, _ in hits][:3] == expected[:3]


@both_kinds
def test_allowed_ids_may_be_a_numpy_array(kind: IndexKind) -> None:
    index, ids, vectors = make_index(kind, exact_filter_limit=0)
    allowed = ids[::10]
    hits = index.search(vectors[20], 5, allowed_ids=allowed)
    assert hits[0][0] == ids[20]
    assert {item for item, _ in hits} <= set(allowed.tolist())


@both_kinds
def test_allowed_ids_with_few_or_no_matches(kind: IndexKind) -> None:
    index, ids, vectors = make_index(kind, exact_filter_limit=0)
    assert index.search(vectors[0], 5, allowed_ids=set()) == []
    assert index.search(vectors[0], 5, allowed_ids={1, 2}) == []
    few = {int(ids[3]), int(ids[400])}
    assert sorted(item for item, _ in index.search(vectors[0], 5, allowed_ids=few)) == sorted(few)


def test_hnsw_filter_skips_tombstones() -> None:
    index, ids, vectors = make_index(IndexKind.HNSW, exact_filter_limit=0)
    index.remove([int(ids[7])])
    allowed = {int(i) for i in ids[:300]}
    assert all(item != ids[7] for item, _ in index.search(vectors[7], 20, allowed_ids=allowed))


def test_rejects_vectors_of_the_wrong_shape_or_norm() -> None:
    index = DenseIndex(model_name=MODEL)
    with pytest.raises(ValueError, match="shape"):
        index.add([1], np.ones((1, 10), dtype=np.float32))
    with pytest.raises(ValueError, match="normalised"):
        index.add([1], np.full((1, DIM), 0.5, dtype=np.float32))
    with pytest.raises(ValueError, match="for 2 ids"):
        index.add([1, 2], unit_vectors(1))
    with pytest.raises(ValueError, match="integers"):
        index.add([1.5], unit_vectors(1))


@both_kinds
def test_save_load_round_trip(tmp_path: Path, kind: IndexKind) -> None:
    index, ids, vectors = make_index(kind)
    index.remove([int(ids[0])])
    manifest = index.save(tmp_path, generation=4)
    assert (manifest.kind, manifest.generation, manifest.count) == (kind.value, 4, len(ids) - 1)
    assert manifest.id_checksum == id_checksum(ids[1:])

    loaded = DenseIndex.load(
        tmp_path, model_name=MODEL, expected_generation=4, expected_id_checksum=id_checksum(ids[1:])
    )
    assert loaded.kind is kind
    assert loaded.deleted_count == index.deleted_count
    assert np.array_equal(loaded.ids(), index.ids())
    for row in (0, 17, 311):
        assert loaded.search(vectors[row], 5) == index.search(vectors[row], 5)
    loaded.add([5], unit_vectors(1, seed=5))
    assert loaded.search(unit_vectors(1, seed=5)[0], 1)[0][0] == 5


def test_saving_again_replaces_the_previous_snapshot(tmp_path: Path) -> None:
    index, ids, _ = make_index(IndexKind.FLAT, n=20)
    first = index.save(tmp_path, generation=1)
    index.remove([int(ids[0])])
    second = index.save(tmp_path, generation=2)
    assert first.snapshot != second.snapshot
    # The replaced snapshot is kept a minute for readers loading it (persist._remove_stale), then goes.
    assert {p.name for p in tmp_path.iterdir()} == {"dense.manifest.json", first.snapshot, second.snapshot}
    then = time.time() - SUPERSEDED_KEPT_SECONDS - 1
    os.utime(tmp_path / first.snapshot, (then, then))
    third = index.save(tmp_path, generation=2)
    assert {p.name for p in tmp_path.iterdir()} == {"dense.manifest.json", second.snapshot, third.snapshot}
    loaded = DenseIndex.load(
        tmp_path, model_name=MODEL, expected_generation=2, expected_id_checksum=id_checksum(ids[1:])
    )
    assert loaded.count == 19


@pytest.mark.parametrize(
    ("generation", "checksum_of", "model"),
    [(5, slice(None), MODEL), (4, slice(1, None), MODEL), (4, slice(None), "other-model")],
    ids=["wrong-generation", "wrong-ids", "other-model"],
)
def test_load_refuses_a_stale_index(tmp_path: Path, generation: int, checksum_of: slice, model: str) -> None:
    index, ids, _ = make_index(IndexKind.FLAT, n=30)
    index.save(tmp_path, generation=4)
    with pytest.raises(StaleIndex):
        DenseIndex.load(
            tmp_path,
            model_name=model,
            expected_generation=generation,
            expected_id_checksum=id_checksum(ids[checksum_of]),
        )


def saved(tmp_path: Path, kind: IndexKind) -> tuple[Path, str]:
    index, ids, _ = make_index(kind, n=200)
    manifest = index.save(tmp_path, generation=1)
    return tmp_path / manifest.snapshot / "index.faiss", id_checksum(ids)


@both_kinds
def test_load_refuses_a_truncated_index_file(tmp_path: Path, kind: IndexKind) -> None:
    path, checksum = saved(tmp_path, kind)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptIndex, match="checksum"):
        DenseIndex.load(tmp_path, model_name=MODEL, expected_generation=1, expected_id_checksum=checksum)


def test_load_refuses_a_flipped_byte_and_a_broken_manifest(tmp_path: Path) -> None:
    path, checksum = saved(tmp_path, IndexKind.HNSW)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptIndex):
        DenseIndex.load(tmp_path, model_name=MODEL, expected_generation=1, expected_id_checksum=checksum)
    (tmp_path / "dense.manifest.json").write_text('{"format": 1, "kind": "fl')
    with pytest.raises(CorruptIndex, match="manifest"):
        DenseIndex.load(tmp_path, model_name=MODEL, expected_generation=1, expected_id_checksum=checksum)


def test_load_of_an_empty_directory_says_missing(tmp_path: Path) -> None:
    with pytest.raises(MissingIndex):
        DenseIndex.load(
            tmp_path, model_name=MODEL, expected_generation=0, expected_id_checksum=id_checksum([])
        )


def test_empty_index_round_trips(tmp_path: Path) -> None:
    DenseIndex(model_name=MODEL).save(tmp_path, generation=0)
    loaded = DenseIndex.load(
        tmp_path, model_name=MODEL, expected_generation=0, expected_id_checksum=id_checksum([])
    )
    assert loaded.count == 0
    assert loaded.search(unit_vectors(1)[0], 3) == []


def test_ef_search_is_a_load_time_setting(tmp_path: Path) -> None:
    index, ids, vectors = make_index(IndexKind.HNSW, n=300)
    index.save(tmp_path, generation=1)
    loaded = DenseIndex.load(
        tmp_path,
        model_name=MODEL,
        expected_generation=1,
        expected_id_checksum=id_checksum(ids),
        hnsw=HnswParams(ef_search=16),
    )
    assert loaded.hnsw.ef_search == 16
    assert loaded.search(vectors[9], 1)[0][0] == ids[9]
