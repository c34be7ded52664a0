"""all-MiniLM-L6-v2 as an int8 ONNX Runtime graph: the fast embedder for small CPUs."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from answerdesk.knowledge.embedding.base import (
    EMBEDDING_DIM,
    MAX_SEQ_LENGTH,
    MODEL_NAME,
    EmbeddingError,
    Vectors,
    check_batch_size,
    empty_vectors,
    l2_normalise,
    packaged_model_dir,
)
from answerdesk.knowledge.embedding.onnx_cache import CachedModel, ensure_int8_model
from answerdesk.knowledge.embedding.onnx_export import ONNX_INPUTS, ExportSettings

if TYPE_CHECKING:
    from tokenizers import Tokenizer

# Word pieces per inference call. Small calls keep each layer's activations in the 2 MB L2 cache: 1-2
# chunks of 256 ran ~10% faster than 16, and short texts still share a call of up to batch_size.
_MAX_BATCH_TOKENS = 512


@dataclass(frozen=True)
class _Loaded:
    session: Any  # onnxruntime.InferenceSession; onnxruntime ships no type information
    tokenizer: Tokenizer
    input_names: tuple[str, ...]
    cached: CachedModel
    helpers: ThreadPoolExecutor | None  # None with one worker: every call runs on the caller's thread
    helper_count: int


class OnnxEmbedder:
    """Tokenise with the model's tokenizer.json, run the int8 graph, mean-pool the tokens, L2-normalise.

    That is sentence-transformers' pipeline for this model (max_seq_length 256), so vectors agree with
    :class:`SentenceTransformerEmbedder` to a cosine of ~0.995 on average (~0.98 at worst, on one-word
    texts); int8 costs ~0.2 nDCG@10 points on SciFact. The graph is exported into ``cache_dir`` on first
    use (tens of seconds, once per cache directory) and reused afterwards.

    Texts are batched by exact length, so nothing is padded and the graph needs no attention mask (which
    lets ONNX Runtime use flash attention). Each inference call runs on one thread, and up to
    ``num_threads`` (default: one per CPU core) run side by side: on 2 cores that embedded 256-piece
    chunks ~35% faster than one call split over 2 threads, whose small matrix products parallelise
    poorly. ``embed`` is safe to call from several threads at once (see :func:`_run_batches`).
    """

    dim: int = EMBEDDING_DIM
    name: str = f"{MODEL_NAME}-int8-onnx"

    def __init__(
        self,
        cache_dir: Path,
        *,
        model_dir: Path | None = None,
        num_threads: int | None = None,
        max_seq_length: int = MAX_SEQ_LENGTH,
        export_settings: ExportSettings | None = None,
    ) -> None:
        self._cache_dir = cache_dir
        self._model_dir = model_dir
        self._export_settings = export_settings
        self._num_threads = num_threads or os.cpu_count() or 1
        self._max_seq_length = max_seq_length
        self._loaded: _Loaded | None = None
        self._load_lock = threading.Lock()

    def load(self) -> CachedModel:
        """Export (if needed) and open the model now; idempotent. Returns what the cache held or built."""
        return self._ensure_loaded().cached

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> Vectors:
        check_batch_size(batch_size)
        if not texts:
            return empty_vectors(self.dim)
        loaded = self._ensure_loaded()
        encodings = loaded.tokenizer.encode_batch(list(texts))
        lengths = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        order = np.argsort(lengths, kind="stable")
        out = np.empty((len(texts), self.dim), dtype=np.float32)

        def embed_rows(rows: NDArray[np.intp]) -> None:
            out[rows] = _embed_batch(loaded, [encodings[i].ids for i in rows])  # rows never overlap

        batches = list(length_batches(order, lengths, batch_size))
        _run_batches(batches, embed_rows, loaded.helpers, loaded.helper_count)
        return out

    def embed_query(self, text: str) -> Vectors:
        return self.embed([text]).reshape(self.dim)

    def _ensure_loaded(self) -> _Loaded:
        with self._load_lock:
            if self._loaded is None:
                self._loaded = self._load()
            return self._loaded

    def _load(self) -> _Loaded:
        model_dir = self._model_dir or packaged_model_dir()
        cached = ensure_int8_model(self._cache_dir, model_dir=model_dir, settings=self._export_settings)
        tokenizer = _load_tokenizer(model_dir / "tokenizer.json", self._max_seq_length)
        session = _open_session(cached.path)
        input_names = tuple(i.name for i in session.get_inputs())
        unknown = set(input_names) - set(ONNX_INPUTS)
        if unknown:
            raise EmbeddingError(
                f"the cached ONNX model at {cached.path} expects unknown inputs {sorted(unknown)}"
            )
        # The caller's own thread is one of the workers.
        count = self._num_threads - 1
        helpers = ThreadPoolExecutor(count, thread_name_prefix="onnx-embed") if count else None
        return _Loaded(session, tokenizer, input_names, cached, helpers, count)


def _run_batches(
    batches: list[NDArray[np.intp]],
    embed_rows: Callable[[NDArray[np.intp]], None],
    helpers: ThreadPoolExecutor | None,
    helper_count: int,
) -> None:
    """Embed every batch: the calling thread works through them, joined by whichever helpers are free.

    The caller never waits in a queue behind another call's batches (a chat query during a big
    ingestion still starts at once), and the helpers, shared by all callers, bound the extra threads.
    """
    pending = iter(batches)
    lock = threading.Lock()
    failed = threading.Event()

    def drain() -> None:
        while not failed.is_set():
            with lock:  # iterators promise no safety across threads
                rows = next(pending, None)
            if rows is None:
                return
            try:
                embed_rows(rows)
            except BaseException:
                failed.set()
                raise

    if helpers is None or len(batches) < 2:
        drain()
        return
    joined = [helpers.submit(drain) for _ in range(min(helper_count, len(batches) - 1))]
    try:
        drain()
    finally:
        # A helper still queued behind other calls is not needed any more; one that started is finishing
        # a batch of ours, so wait for it (after a failure here too: no thread may write into `out` later).
        started = [future for future in joined if not future.cancel()]
        wait(started)
    for future in started:
        future.result()  # re-raises a helper's failure


def _embed_batch(loaded: _Loaded, ids: list[list[int]]) -> Vectors:
    input_ids = np.array(ids, dtype=np.int64)  # one length per batch: a full rectangle, no padding
    feeds: dict[str, NDArray[np.int64]] = {
        "input_ids": input_ids,
        "attention_mask": np.ones_like(input_ids),  # only a graph exported with a mask asks for it
        "token_type_ids": np.zeros_like(input_ids),
    }
    (hidden,) = loaded.session.run(None, {name: feeds[name] for name in loaded.input_names})
    # Without padding, sentence-transformers' masked mean is the plain mean over the tokens.
    return l2_normalise(np.asarray(hidden.mean(axis=1), dtype=np.float32))


def length_batches(
    order: NDArray[np.intp], lengths: NDArray[np.int64], batch_size: int
) -> Iterator[NDArray[np.intp]]:
    """Slices of ``order`` (indices sorted by length), each of texts of one length only.

    A slice holds at most ``batch_size`` texts and ``_MAX_BATCH_TOKENS`` word pieces (a text longer than
    that goes alone). Equal lengths mean no padding, so no attention mask and no work on pad tokens.
    """
    start = 0
    while start < len(order):
        width = lengths[order[start]]
        limit = min(batch_size, max(1, _MAX_BATCH_TOKENS // max(int(width), 1)))
        end = start + 1
        while end < len(order) and end - start < limit and lengths[order[end]] == width:
            end += 1
        yield order[start:end]
        start = end


def _load_tokenizer(path: Path, max_seq_length: int) -> Tokenizer:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path))
    # The shipped tokenizer.json pads and truncates to 128; sentence-transformers truncates at 256 and pads
    # per batch, which embed() does itself after sorting.
    tokenizer.enable_truncation(max_length=max_seq_length)
    tokenizer.no_padding()
    return tokenizer


def _open_session(path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # One thread per call: OnnxEmbedder runs calls side by side instead (see its docstring).
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own unexported exception classes
        raise EmbeddingError(f"ONNX Runtime could not open {path}: {exc}") from exc
