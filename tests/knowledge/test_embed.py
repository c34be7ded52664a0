"""Both embedders on the real packaged model: shapes, unit length, order, int8 agreement with the full model.

The ONNX export runs once per test session (about 25-60 s on 2 cores) into a temporary cache, in the
``onnx_embedder`` fixture; every test that uses it shares that one export.
"""

from __future__ import annotations

from collections.abc import Callable
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
from answerdesk.knowledge.embedding.onnx_backend import length_batches

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
    """The one real int8 export of the session (slow: ~25-60 s)."""
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


def test_batches_cover_every_text_once_within_count_and_token_limits() -> None:
    lengths = np.array([300, 5, 256, 12, 256, 7, 200, 256, 40] + [256] * 20, dtype=np.int64)
    order = np.argsort(lengths, kind="stable")

    batches = list(length_batches(order, lengths, batch_size=4))

    assert np.concatenate(batches).tolist() == order.tolist()
    assert all(len(rows) <= 4 for rows in batches)
    assert all(len(rows) * lengths[rows].max() <= 4096 or len(rows) == 1 for rows in batches)
    assert [len(rows) for rows in batches][:2] == [4, 4]  # short texts fill the count limit


def test_long_texts_are_batched_by_token_budget() -> None:
    lengths = np.full(40, 256, dtype=np.int64)

    batches = list(length_batches(np.arange(40), lengths, batch_size=64))

    assert [len(rows) for rows in batches] == [16, 16, 8]
