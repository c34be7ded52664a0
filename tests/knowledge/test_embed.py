"""Both embedders on the real packaged model: shapes, unit length, order, int8 agreement with the full model.

The ONNX export runs once per test session (about 15-60 s on 2 cores) into a temporary cache, in the
``onnx_embedder`` fixture; every test that uses it shares that one export.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from answerdesk.knowledge.embedding import (
    EMBEDDING_DIM,
    Embedder,
    EmbeddingError,
    OnnxEmbedder,
    SentenceTransformerEmbedder,
    load_embedder,
)
from answerdesk.knowledge.embedding.onnx_backend import _run_batches, length_batches

LONG_ANSWER = (
    "To move your hosting account to a new data centre, first open the client area and choose the "
    "service you want to migrate. Our team copies your files, databases and mailboxes while the old "
    "server keeps answering, so visitors see no downtime. When the copy is complete we send you the new "
    "IP address; update the A records at your DNS provider, or let us do it if your domain uses our "
    "nameservers. Propagation usually takes between one and four hours. During that window some "
    "visitors still reach the old server, which is why we keep it running for seven days after the "
    "switch. Email sent to your domain in that time is delivered to whichever server the sender's "
    "resolver picked, and our sync job merges both mailboxes every fifteen minutes, so nothing is "
    "lost. If you use an external mail service, nothing changes for you. Scheduled tasks are copied "
    "but paused on the new server until you confirm the move, to avoid running the same backup or "
    "invoice job twice. SSL certificates issued by us are reissued automatically; certificates you "
    "uploaded yourself need to be uploaded again. Finally, check the PHP version in the control panel: "
    "the new servers default to the current stable release, and older applications may need the "
    "previous version selected before you point your domain at them. Contact support if anything looks "
    "different after the migration and we will compare both servers for you."
)


def sample_texts() -> list[str]:
    return [
        "hi",
        "How do I reset my password?",
        "My invoice shows a charge twice this month, can you refund one of them?",
        "Ünïcödé tèxt — with “quotes” and an emoji 🙂",
        "The server returns HTTP 502 after the upgrade to PHP 8.3 on the shared plan.",
        LONG_ANSWER,
        LONG_ANSWER + " " + LONG_ANSWER,  # past 256 word pieces: both embedders must truncate alike
    ]


@pytest.fixture(scope="session")
def torch_embedder() -> SentenceTransformerEmbedder:
    embedder = SentenceTransformerEmbedder()
    embedder.load()
    return embedder


@pytest.fixture(scope="session")
def onnx_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session")
def onnx_embedder(onnx_cache_dir: Path) -> OnnxEmbedder:
    """The one real int8 export of the session (slow: ~15-60 s)."""
    embedder = OnnxEmbedder(onnx_cache_dir)
    assert embedder.load().rebuilt
    return embedder


@pytest.fixture(params=["torch", "onnx"])
def embedder(request: pytest.FixtureRequest) -> Embedder:
    fixture: Embedder = request.getfixturevalue(f"{request.param}_embedder")
    return fixture


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1)


def test_vectors_are_unit_length_float32_rows_of_384(embedder: Embedder) -> None:
    texts = sample_texts()

    vectors = embedder.embed(texts, batch_size=3)

    assert vectors.shape == (len(texts), EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.dim == EMBEDDING_DIM
    assert isinstance(embedder, Embedder)


def test_query_vector_is_the_single_row_of_embed(embedder: Embedder) -> None:
    query = "Where can I download my invoices?"

    vector = embedder.embed_query(query)

    assert vector.shape == (EMBEDDING_DIM,)
    np.testing.assert_allclose(vector, embedder.embed([query])[0], atol=1e-6)


def test_similar_texts_score_higher_than_unrelated_ones(embedder: Embedder) -> None:
    refund, chargeback, weather = embedder.embed(
        ["How do I get a refund for my order?", "I want my money back for this purchase", "It rains in Oslo"]
    )

    assert refund @ chargeback > refund @ weather + 0.3


def test_int8_model_agrees_with_the_full_model(
    torch_embedder: SentenceTransformerEmbedder, onnx_embedder: OnnxEmbedder
) -> None:
    texts = sample_texts()

    agreement = cosines(torch_embedder.embed(texts), onnx_embedder.embed(texts))

    # int8 measured here: mean ~0.99, worst ~0.98 on one-word inputs. Pipeline mistakes fall far lower:
    # CLS pooling ~0.4, averaging over padding ~0.4 on short texts, truncating at 128 ~0.87 on long ones.
    assert agreement.mean() >= 0.985, agreement
    assert agreement.min() >= 0.97, agreement


def test_order_is_kept_when_lengths_are_mixed(onnx_embedder: OnnxEmbedder) -> None:
    # Distinct texts only: two texts that share their first 256 word pieces embed identically.
    texts = [*sample_texts()[:-1], ". ".join(reversed(LONG_ANSWER.split(". ")))]
    shuffled = [texts[i] for i in (5, 0, 6, 3, 1, 4, 2)]

    together = onnx_embedder.embed(shuffled, batch_size=2)
    alone = np.stack([onnx_embedder.embed([t])[0] for t in shuffled])

    similarity = together @ alone.T
    # Each row is its own text: closest to that text embedded alone (int8 ranges differ per batch,
    # so the match is near, not exact).
    assert list(similarity.argmax(axis=1)) == list(range(len(shuffled)))
    assert np.diag(similarity).min() > 0.98


def test_second_embedder_on_the_same_cache_does_not_export_again(
    onnx_embedder: OnnxEmbedder, onnx_cache_dir: Path
) -> None:
    model = onnx_embedder.load().path
    before = model.stat()

    cached = OnnxEmbedder(onnx_cache_dir).load()

    after = cached.path.stat()
    assert not cached.rebuilt
    assert cached.path == model
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.parametrize("make", [OnnxEmbedder, lambda _: SentenceTransformerEmbedder()])
def test_empty_input_gives_no_rows_without_loading_anything(
    make: Callable[[Path], Embedder], tmp_path: Path
) -> None:
    embedder = make(tmp_path)

    vectors = embedder.embed([])

    assert vectors.shape == (0, EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    assert list(tmp_path.iterdir()) == []  # no export was started for nothing


def test_factory_returns_the_named_backend_ready_to_use(
    onnx_embedder: OnnxEmbedder, onnx_cache_dir: Path
) -> None:
    onnx = load_embedder("onnx", onnx_cache_dir)
    torch = load_embedder("torch", onnx_cache_dir)

    assert isinstance(onnx, OnnxEmbedder)
    assert isinstance(torch, SentenceTransformerEmbedder)
    assert onnx.name != torch.name
    assert onnx.embed_query("ready").shape == torch.embed_query("ready").shape == (EMBEDDING_DIM,)


def test_factory_rejects_an_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="'tensorflow'"):
        load_embedder("tensorflow", tmp_path)  # type: ignore[arg-type]


def test_batch_size_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        OnnxEmbedder(tmp_path).embed(["hello"], batch_size=0)


def test_batches_hold_one_length_each_within_count_and_token_limits() -> None:
    lengths = np.array([300, 5, 256, 12, 256, 7, 200, 256, 40] + [256] * 20 + [5] * 9, dtype=np.int64)
    order = np.argsort(lengths, kind="stable")

    batches = list(length_batches(order, lengths, batch_size=4))

    assert np.concatenate(batches).tolist() == order.tolist()
    assert all(len(set(lengths[rows].tolist())) == 1 for rows in batches)  # nothing is ever padded
    assert all(len(rows) <= 4 for rows in batches)
    assert all(len(rows) * lengths[rows[0]] <= 512 or len(rows) == 1 for rows in batches)
    assert [len(rows) for rows in batches][:3] == [4, 4, 2]  # the ten texts of 5 pieces fill the count limit


def test_long_texts_are_batched_by_token_budget_and_short_ones_by_count() -> None:
    long_batches = list(length_batches(np.arange(40), np.full(40, 256, dtype=np.int64), batch_size=64))
    short_batches = list(length_batches(np.arange(100), np.full(100, 5, dtype=np.int64), batch_size=64))

    assert [len(rows) for rows in long_batches] == [2] * 20
    assert [len(rows) for rows in short_batches] == [64, 36]


def test_the_exported_graph_is_the_fast_recipe(onnx_embedder: OnnxEmbedder) -> None:
    import onnx

    model = onnx.load(str(onnx_embedder.load().path), load_external_data=False)
    ops = Counter(node.op_type for node in model.graph.node)

    assert [i.name for i in model.graph.input] == ["input_ids", "token_type_ids"]  # no mask: no padding
    assert ops["MultiHeadAttention"] == 6  # one per layer, so flash attention applies
    assert ops["SkipLayerNormalization"] == 0  # rewritten into standard ops
    assert ops["MatMulInteger"] == 36  # Q, K, V, attention output and both feed-forward layers, x6
    assert ops["MatMul"] == 0  # nothing left in float32


def test_concurrent_callers_get_the_same_vectors_as_one_caller(onnx_embedder: OnnxEmbedder) -> None:
    texts = [*sample_texts(), *(f"Question {i}: how do I {w} my plan?" for i, w in enumerate(["renew"] * 9))]
    jobs = [texts[i:] + texts[:i] for i in range(6)]
    expected = [onnx_embedder.embed(job, batch_size=2) for job in jobs]
    query = onnx_embedder.embed_query("Where is my invoice?")

    with ThreadPoolExecutor(max_workers=8) as pool:
        together = [pool.submit(onnx_embedder.embed, job, batch_size=2) for job in jobs]
        queries = [pool.submit(onnx_embedder.embed_query, "Where is my invoice?") for _ in range(6)]
        results = [future.result(timeout=120) for future in together]
        query_results = [future.result(timeout=120) for future in queries]

    for got, want in zip(results, expected, strict=True):
        np.testing.assert_array_equal(got, want)  # same batches, same single-threaded kernels: same bits
    for got in query_results:
        np.testing.assert_array_equal(got, query)


class Recorder:
    """Stands in for one batch's inference: records which thread ran which batch."""

    def __init__(self, *, fail_on: int | None = None, meet: int = 0) -> None:
        self.fail_on = fail_on
        # With meet=n, each of n threads waits in its first batch until all n hold one, so the test
        # knows every thread took part instead of hoping the scheduler interleaved them.
        self.meeting = threading.Barrier(meet) if meet else None
        self.ran: list[tuple[int, str]] = []
        self.lock = threading.Lock()

    def __call__(self, rows: np.ndarray) -> None:
        if self.fail_on is not None and int(rows[0]) == self.fail_on:
            raise RuntimeError(f"batch {self.fail_on} failed")
        me = threading.current_thread().name
        with self.lock:
            first = all(name != me for _, name in self.ran)
            self.ran.append((int(rows[0]), me))
        if self.meeting is not None and first:
            self.meeting.wait(timeout=30)


def batches_of(count: int) -> list[np.ndarray]:
    return [np.array([i]) for i in range(count)]


def test_run_batches_runs_each_batch_once_with_the_free_helper() -> None:
    recorder = Recorder(meet=2)
    with ThreadPoolExecutor(1, thread_name_prefix="helper") as helpers:
        _run_batches(batches_of(20), recorder, helpers, helper_count=1)

    assert sorted(i for i, _ in recorder.ran) == list(range(20))
    threads = {name for _, name in recorder.ran}
    assert threading.current_thread().name in threads
    assert any(name.startswith("helper") for name in threads)


def test_a_call_does_not_queue_behind_another_call_holding_the_helpers() -> None:
    recorder = Recorder()
    release = threading.Event()
    with ThreadPoolExecutor(1, thread_name_prefix="helper") as helpers:
        busy = helpers.submit(release.wait, 30)  # another caller's long ingestion holds the only helper

        _run_batches(batches_of(5), recorder, helpers, helper_count=1)

        assert not busy.done()  # the call above finished while the helper was still busy
        release.set()
    assert sorted(i for i, _ in recorder.ran) == list(range(5))
    assert {name for _, name in recorder.ran} == {threading.current_thread().name}


@pytest.mark.parametrize("failing_batch", [0, 7])
def test_a_failed_batch_is_raised_and_nothing_runs_after_the_call(failing_batch: int) -> None:
    recorder = Recorder(fail_on=failing_batch)
    with ThreadPoolExecutor(1, thread_name_prefix="helper") as helpers:
        with pytest.raises(RuntimeError, match=f"batch {failing_batch} failed"):
            _run_batches(batches_of(20), recorder, helpers, helper_count=1)
        ran_by_then = len(recorder.ran)
        # The pool runs tasks in order on its one thread: once this no-op has run, every helper of the
        # failed call has returned, so any batch it ran late would be counted below.
        helpers.submit(lambda: None).result(timeout=30)

        assert len(recorder.ran) == ran_by_then
    assert failing_batch not in {i for i, _ in recorder.ran}
