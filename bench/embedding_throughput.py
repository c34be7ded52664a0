"""Embedding throughput and fidelity: sentence-transformers ``encode`` vs the int8 OnnxEmbedder, on 2 cores.

Run from the repo root:  .venv/bin/python bench/embedding_throughput.py [--chunks 1000] [--skip-ndcg]

Prints, for ~1,000 realistic 150-300-word chunks (SciFact abstracts and runs of Bitext support answers),
then for as many short customer questions: texts/s of each embedder (wall clock, and per CPU-second of
this process, which stays meaningful when other work shares the machine), the speed-up, and the
mean/min cosine between the two vectors of each text. Then the p50 latency of ``embed_query`` on a
10-word question, and SciFact nDCG@10 (BEIR test split, dense only, exact cosine) for both, to show
what int8 costs in retrieval quality. The export options can be changed to compare recipes, e.g.
``--layer-norm fused`` or ``--attention-op Attention --attention-mask``.

Data is read in place from ../shared/data (never copied into the repo). The ONNX model is exported
into --cache-dir on first use (tens of seconds) and reused afterwards.
"""

from __future__ import annotations

import argparse
import csv
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
from numpy.typing import NDArray
from scifact import SciFact, read_scifact  # sibling module in bench/

from answerdesk.knowledge.embedding import Embedder, OnnxEmbedder, SentenceTransformerEmbedder
from answerdesk.knowledge.embedding.onnx_export import ExportSettings

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
MIN_WORDS, MAX_WORDS = 150, 300
TOP = 10

Vectors = NDArray[np.float32]


# ---------------------------------------------------------------- data


def load_scifact() -> SciFact:
    return read_scifact(DATA)


def bitext_chunks() -> list[str]:
    """Consecutive gold answers joined until a chunk holds 150-300 words, as a support FAQ page would."""
    path = DATA / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        responses = [row["response"] for row in csv.DictReader(fh)]
    chunks: list[str] = []
    words: list[str] = []
    for response in responses:
        words += response.split()
        if len(words) >= MIN_WORDS:
            chunks.append(" ".join(words[:MAX_WORDS]))
            words = []
    return chunks


def bitext_questions(count: int) -> list[str]:
    path = DATA / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        return [row["instruction"] for row in csv.DictReader(fh)][:count]


def realistic_chunks(scifact: SciFact, count: int) -> list[str]:
    """Half SciFact abstracts, half Bitext answer runs, each 150-300 words, interleaved."""
    science = [t for t in scifact.doc_texts if MIN_WORDS <= len(t.split()) <= MAX_WORDS]
    support = bitext_chunks()
    half = count // 2
    picked = science[: count - half] + support[:half]
    if len(picked) < count:
        raise SystemExit(f"only {len(picked)} chunks of {MIN_WORDS}-{MAX_WORDS} words available")
    return picked


# ---------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Timing:
    vectors: Vectors
    wall_s: float
    cpu_s: float


def timed(embed: Callable[[Sequence[str]], Vectors], texts: Sequence[str]) -> Timing:
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = embed(texts)
    return Timing(vectors, time.perf_counter() - wall, time.process_time() - cpu)


def ndcg_at_10(scifact: SciFact, doc_vectors: Vectors, query_vectors: Vectors) -> float:
    scores = query_vectors @ doc_vectors.T
    top = np.argsort(-scores, axis=1)[:, :TOP]
    discounts = 1.0 / np.log2(np.arange(2, TOP + 2))
    doc_ids = np.asarray(scifact.doc_ids)
    values = []
    for q, relevant in enumerate(scifact.relevant):
        gains = np.array([1.0 if doc in relevant else 0.0 for doc in doc_ids[top[q]]])
        ideal = discounts[: min(len(relevant), TOP)].sum()
        values.append(float((gains * discounts).sum() / ideal))
    return float(np.mean(values))


def compare(runs: dict[str, Callable[[Sequence[str]], Vectors]], texts: Sequence[str], rounds: int) -> None:
    """Alternate the embedders for ``rounds`` rounds and keep each one's best round.

    Other work on a shared 2-core machine only ever slows a round down, so the fastest round of each
    is the least disturbed figure; alternating keeps a burst of load from landing on one side only.
    """
    best: dict[str, Timing] = {}
    for _ in range(rounds):
        for label, embed in runs.items():
            t = timed(embed, texts)
            if label not in best or t.wall_s < best[label].wall_s:
                best[label] = t
    for label, t in best.items():
        print(
            f"  {label:30s} {len(texts) / t.wall_s:7.1f} texts/s wall   "
            f"{len(texts) / t.cpu_s:7.1f} texts per CPU-second   ({t.wall_s:.1f}s wall, {t.cpu_s:.1f}s CPU)"
        )
    base, fast = best.values()
    print(f"  speed-up: {base.wall_s / fast.wall_s:.2f}x wall, {base.cpu_s / fast.cpu_s:.2f}x per CPU-second")
    cosines = np.sum(base.vectors * fast.vectors, axis=1)
    print(
        f"  cosine int8 vs full model: mean {cosines.mean():.4f}, min {cosines.min():.4f}, "
        f"5th percentile {np.percentile(cosines, 5):.4f}"
    )
    print(f"  ({load_average()} after; best of {rounds} rounds each)")


def query_latency(embed_query: Callable[[str], Vectors], calls: int = 300) -> float:
    """Median seconds of one ``embed_query`` call on a 10-word question (the chat hot path)."""
    question = "How can I change the billing address on my account?"
    for _ in range(20):
        embed_query(question)
    times = []
    for _ in range(calls):
        started = time.perf_counter()
        embed_query(question)
        times.append(time.perf_counter() - started)
    return float(np.median(times))


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min) / {five:.1f} (5 min) on {os.cpu_count()} cores"


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=64, help="OnnxEmbedder batch size")
    parser.add_argument("--cache-dir", type=Path, default=REPO / "var" / "models")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds per embedder (best is kept)")
    parser.add_argument("--skip-ndcg", action="store_true")
    parser.add_argument("--threads", type=int, default=None, help="OnnxEmbedder num_threads (default: cores)")
    parser.add_argument(
        "--attention-op", choices=["MultiHeadAttention", "Attention"], default="MultiHeadAttention"
    )
    parser.add_argument("--attention-mask", action="store_true", help="export with an attention mask input")
    parser.add_argument("--layer-norm", choices=["decomposed", "fused"], default="decomposed")
    parser.add_argument(
        "--keep-float32",
        action="append",
        default=[],
        metavar="REGEX",
        help='leave ONNX nodes whose name matches REGEX in float32, e.g. "/output/dense/" (repeatable)',
    )
    args = parser.parse_args()

    scifact = load_scifact()
    chunks = realistic_chunks(scifact, args.chunks)
    questions = bitext_questions(args.chunks)
    words = np.array([len(c.split()) for c in chunks])
    print(f"{len(chunks)} chunks, {words.mean():.0f} words on average ({words.min()}-{words.max()})")

    reference = SentenceTransformerEmbedder()
    settings = ExportSettings(
        attention_op=args.attention_op,
        attention_mask=args.attention_mask,
        layer_norm=args.layer_norm,
        # The fused Attention op is only quantised when named; MultiHeadAttention has no weights.
        quantised_ops=("MatMul", "Attention") if args.attention_op == "Attention" else ("MatMul",),
        keep_float32=tuple(args.keep_float32),
    )
    onnx = OnnxEmbedder(args.cache_dir, export_settings=settings, num_threads=args.threads)
    started = time.perf_counter()
    cached = onnx.load()
    verb = "exported" if cached.rebuilt else "loaded from cache"
    print(f"int8 ONNX model {verb} in {time.perf_counter() - started:.1f}s: {cached.path}")
    reference.load()
    runs: dict[str, Callable[[Sequence[str]], Vectors]] = {
        # "Plain encode": sentence-transformers' own defaults (batch 32), only normalised.
        "sentence-transformers encode": lambda texts: reference.embed(texts, batch_size=32),
        "OnnxEmbedder (int8)": lambda texts: onnx.embed(texts, batch_size=args.batch_size),
    }
    for embed in runs.values():
        embed(chunks[:16])  # warm-up: first-call allocations and thread pools

    print(f"\nRealistic chunks ({load_average()} before):")
    compare(runs, chunks, args.rounds)
    print(f"\n{len(questions)} short customer questions (Bitext), for comparison with short-text figures:")
    compare(runs, questions, args.rounds)
    print("\nembed_query latency, 10-word question (p50 of 300 calls):")
    for label, embedder in (("sentence-transformers", reference), ("OnnxEmbedder (int8)", onnx)):
        print(f"  {label:30s} {query_latency(embedder.embed_query) * 1000:6.2f} ms")

    if args.skip_ndcg:
        return
    print(f"\nSciFact nDCG@10 (dense only, {len(scifact.doc_texts)} docs, {len(scifact.queries)} queries):")
    embedders: dict[str, Embedder] = {"sentence-transformers": reference, "OnnxEmbedder (int8)": onnx}
    scores = {}
    for label, embedder in embedders.items():
        started = time.perf_counter()
        docs = embedder.embed(scifact.doc_texts)
        queries = embedder.embed(scifact.queries)
        scores[label] = ndcg_at_10(scifact, docs, queries)
        print(f"  {label:30s} {scores[label]:.4f}   (embedded in {time.perf_counter() - started:.0f}s)")
    delta = (scores["OnnxEmbedder (int8)"] - scores["sentence-transformers"]) * 100
    print(f"  delta: {delta:+.2f} nDCG points")


if __name__ == "__main__":
    main()
