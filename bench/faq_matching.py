"""FAQ matching: does a customer's paraphrase find its FAQ entry first? Ours (variants) vs ChromaDB.

Run from the repo root:  .venv/bin/python bench/faq_matching.py [--skip-chroma]

Collections (each an FAQ-only knowledge base; an entry is one chunk "Q: question\\nA: answer"):
* Bitext (27 intents): one entry per intent. Its question is the intent's most typical instruction
  (closest to the centroid of the intent's *tune* instructions), its answer that instruction's response.
  The other instructions of the intent are the queries, split by row parity: even rows tune (weights,
  variants), odd rows report. Nothing reported was tuned on.
* Bitext, intent-named: the same, with the question made from the intent's name ("cancel order?").
* Bitext, questions a business writes: the same, with the questions of bench/data/bitext_business_faq.json,
  written for this project from the intents' names alone, as a shop words its help centre ("How do I
  cancel an order?"); does a clean FAQ match customers' wordings better than one of their own?
* Demo FAQ (36 entries of src/answerdesk/demo/content/faq.json) with our 50 hand-written paraphrases
  (bench/data/answer_threshold_cases.json, faq_positive). They tuned the FAQ shortcut threshold before.
* Cycle shop FAQ (24 entries, bench/data/gate/) with 48 hand-written paraphrases; they train the
  answer gate (scripts/train_answer_gate.py) but never tuned retrieval.

Phrasings (knowledge/phrasings.py): each Bitext entry also gets k other instructions of its intent from
the tune split as "other ways customers ask this" (as staff would type them, or as answers rated helpful
teach them), folded into the question's vector exactly as ingestion does (question_vectors.question_vector);
reported on the report split for k = 1, 3, 5, 10, 20 (mean of 3 draws).

Variants: "before" embeds the whole entry and fuses with BM25 (0.8/0.2); "shipped" ranks an entry by
a blend of its question's cosine (weight a = FAQ_QUESTION_WEIGHT) and its whole entry's, fused with BM25
at FAQ_WEIGHTS (keywords at a trace) exactly as retrieval/service.py does; other blends, "better of the
two" (max), a third RRF list for questions, and the question's cosine alone were tried on the tune split.
ChromaDB gets the same MiniLM vectors of the whole entries (its usual use).
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from retrieval_quality import DATA, MODEL_NAME, Embedder  # sibling module in bench/

from answerdesk.knowledge.question_vectors import question_vector
from answerdesk.retrieval.dense import DenseIndex
from answerdesk.retrieval.fusion import (
    DEFAULT_RRF_K,
    DEFAULT_WEIGHTS,
    FAQ_QUESTION_WEIGHT,
    FAQ_WEIGHTS,
    blend_faq,
    fuse,
)
from answerdesk.retrieval.keyword import KeywordIndex

REPO = Path(__file__).resolve().parents[1]
DEPTH = 50

Hit = tuple[int, float]


@dataclass
class FaqSet:
    name: str
    questions: list[str]
    answers: list[str]
    queries: list[str]
    expected: list[int]  # index of the right entry per query
    split: list[str]  # "tune" or "report" per query

    def texts(self) -> list[str]:
        return [f"Q: {q}\nA: {a}" for q, a in zip(self.questions, self.answers, strict=True)]


def bitext_sets(embedder: Embedder) -> list[FaqSet]:
    path = DATA / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_intent: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_intent[row["intent"]].append(i)
    intents = sorted(by_intent)
    vectors = embedder.embed("bitext-queries", [r["instruction"] for r in rows])
    typical: dict[str, int] = {}
    for intent in intents:
        tune = [i for i in by_intent[intent] if i % 2 == 0]
        centre = vectors[tune].mean(axis=0)
        typical[intent] = tune[int(np.argmax(vectors[tune] @ centre))]
    queries = [i for i in range(len(rows)) if i not in set(typical.values())]
    entry_of = {intent: n for n, intent in enumerate(intents)}
    common = {
        "answers": [rows[typical[i]]["response"] for i in intents],
        "queries": [rows[i]["instruction"] for i in queries],
        "expected": [entry_of[rows[i]["intent"]] for i in queries],
        "split": ["tune" if i % 2 == 0 else "report" for i in queries],
    }
    written = json.loads((REPO / "bench/data/bitext_business_faq.json").read_text(encoding="utf-8"))
    return [
        FaqSet("Bitext (typical instruction)", [rows[typical[i]]["instruction"] for i in intents], **common),
        FaqSet("Bitext (intent name)", [f"{i.replace('_', ' ')}?" for i in intents], **common),
        FaqSet("Bitext (questions a business writes)", [written["questions"][i] for i in intents], **common),
    ]


def own_set(name: str, faq_path: Path, pairs: Sequence[dict[str, str]]) -> FaqSet:
    faq = json.loads(faq_path.read_text(encoding="utf-8"))
    entry = {item["question"]: n for n, item in enumerate(faq)}
    return FaqSet(
        name,
        [item["question"] for item in faq],
        [item["answer"] for item in faq],
        [p["query"] for p in pairs],
        [entry[p["faq"]] for p in pairs],
        ["report"] * len(pairs),
    )


def own_sets() -> list[FaqSet]:
    cases = json.loads((REPO / "bench" / "data" / "answer_threshold_cases.json").read_text(encoding="utf-8"))
    shop = json.loads(
        (REPO / "bench" / "data" / "gate" / "cycleshop_questions.json").read_text(encoding="utf-8")
    )
    return [
        own_set(
            "Demo FAQ + our paraphrases", REPO / "src/answerdesk/demo/content/faq.json", cases["faq_positive"]
        ),
        own_set(
            "Cycle shop FAQ + our paraphrases", REPO / "bench/data/gate/cycleshop_faq.json", shop["in_scope"]
        ),
    ]


Ranker = Callable[[int], list[int]]


def rankers(fs: FaqSet, embedder: Embedder) -> dict[str, Ranker]:
    # Cache files are named by a digest of the texts, so sets sharing queries embed them once.
    chunk_vecs = embedder.embed("faq-entries", fs.texts())
    question_vecs = embedder.embed("faq-questions", fs.questions)
    query_vecs = embedder.embed("faq-queries", fs.queries)
    ids = list(range(len(fs.questions)))
    chunks = DenseIndex.build(ids, chunk_vecs, model_name=MODEL_NAME)
    questions = DenseIndex.build(ids, question_vecs, model_name=MODEL_NAME)
    keyword = KeywordIndex.build(ids, fs.texts())

    cached: dict[int, tuple[list[Hit], list[Hit], list[Hit]]] = {}

    def lists(q: int) -> tuple[list[Hit], list[Hit], list[Hit]]:
        if q not in cached:
            v = query_vecs[q]
            cached[q] = (
                chunks.search(v, DEPTH),
                questions.search(v, DEPTH),
                keyword.search(fs.queries[q], DEPTH),
            )
        return cached[q]

    def ranked(hits: Sequence[Hit]) -> list[int]:
        return [i for i, _ in hits]

    def blended(a: float, weights: Sequence[float]) -> Ranker:
        return lambda q: ranked(
            fuse([blend_faq(lists(q)[0], lists(q)[1], a), lists(q)[2]], weights, k=DEFAULT_RRF_K, limit=10)
        )

    def best(q: int) -> list[Hit]:
        return sorted(
            {
                **dict(lists(q)[0]),
                **{i: max(s, dict(lists(q)[0]).get(i, 0.0)) for i, s in lists(q)[1]},
            }.items(),
            key=lambda h: -h[1],
        )

    out: dict[str, Ranker] = {
        "before: entry + BM25 0.8/0.2": lambda q: ranked(
            fuse([lists(q)[0], lists(q)[2]], DEFAULT_WEIGHTS, k=DEFAULT_RRF_K, limit=10)
        ),
        "entry alone": lambda q: ranked(lists(q)[0][:10]),
        "question alone": lambda q: ranked(lists(q)[1][:10]),
        "better of the two + BM25 0.8/0.2": lambda q: ranked(
            fuse([best(q), lists(q)[2]], DEFAULT_WEIGHTS, k=DEFAULT_RRF_K, limit=10)
        ),
        "question as 3rd RRF list .4/.4/.2": lambda q: ranked(
            fuse(list(lists(q)), [0.4, 0.4, 0.2], k=DEFAULT_RRF_K, limit=10)
        ),
        f"blend a={FAQ_QUESTION_WEIGHT} + BM25 0.8/0.2": blended(FAQ_QUESTION_WEIGHT, DEFAULT_WEIGHTS),
        f"blend a=0.3 + BM25 {FAQ_WEIGHTS[0]}/{FAQ_WEIGHTS[1]}": blended(0.3, FAQ_WEIGHTS),
        f"blend a=0.5 + BM25 {FAQ_WEIGHTS[0]}/{FAQ_WEIGHTS[1]}": blended(0.5, FAQ_WEIGHTS),
        f"SHIPPED blend a={FAQ_QUESTION_WEIGHT} + BM25 {FAQ_WEIGHTS[0]}/{FAQ_WEIGHTS[1]}": blended(
            FAQ_QUESTION_WEIGHT, FAQ_WEIGHTS
        ),
    }
    rankers.vectors = (chunk_vecs, query_vecs)  # type: ignore[attr-defined]
    return out


def chroma_ranker(fs: FaqSet, chunk_vecs: np.ndarray, query_vecs: np.ndarray) -> list[list[int]]:
    import chromadb
    from chromadb.config import Settings

    with tempfile.TemporaryDirectory(prefix="answerdesk-chroma-") as tmp:
        client = chromadb.PersistentClient(path=tmp, settings=Settings(anonymized_telemetry=False))
        collection = client.create_collection(
            "faq", embedding_function=None, configuration={"hnsw": {"space": "cosine"}}
        )
        collection.add(ids=[str(i) for i in range(len(chunk_vecs))], embeddings=chunk_vecs)
        ranked: list[list[int]] = []
        for start in range(0, len(query_vecs), 200):  # one query call per batch: SQLite caps its variables
            result = collection.query(
                query_embeddings=query_vecs[start : start + 200], n_results=min(10, len(chunk_vecs))
            )
            ranked += [[int(i) for i in ids] for ids in result["ids"]]
        return ranked


def hits(rankings: Sequence[list[int]], fs: FaqSet, split: str) -> tuple[float, float, int]:
    picked = [q for q in range(len(fs.queries)) if fs.split[q] == split]
    at1 = np.mean([rankings[q][:1] == [fs.expected[q]] for q in picked])
    at5 = np.mean([fs.expected[q] in rankings[q][:5] for q in picked])
    return float(at1), float(at5), len(picked)


def with_phrasings(fs: FaqSet, embedder: Embedder, k: int, seed: int) -> list[list[int]]:
    """Rankings (shipped blend, no BM25: it moves hit@1 by < 0.002 here) when each entry's question vector
    holds k tune-split instructions of its intent."""
    import random

    chunk_vecs = embedder.embed("faq-entries", fs.texts())
    question_vecs = embedder.embed("faq-questions", fs.questions)
    query_vecs = embedder.embed("faq-queries", fs.queries)
    rng = random.Random(seed)
    tune = [q for q in range(len(fs.queries)) if fs.split[q] == "tune"]
    folded = np.stack(
        [
            question_vector(
                question_vecs[e],
                query_vecs[rng.sample([q for q in tune if fs.expected[q] == e], k)],
            )
            for e in range(len(fs.questions))
        ]
    )
    scores = blend_scores(query_vecs, folded, chunk_vecs)
    return [list(np.argsort(-row)[:10]) for row in scores]


def blend_scores(queries: np.ndarray, questions: np.ndarray, entries: np.ndarray) -> np.ndarray:
    return FAQ_QUESTION_WEIGHT * queries @ questions.T + (1 - FAQ_QUESTION_WEIGHT) * queries @ entries.T


def report_phrasings(fs: FaqSet, embedder: Embedder) -> None:
    for k in (0, 1, 3, 5, 10, 20):
        runs = [hits(with_phrasings(fs, embedder, k, seed), fs, "report") for seed in range(3)]
        at1, at5 = np.mean([r[0] for r in runs]), np.mean([r[1] for r in runs])
        print(f"| {fs.name} | report ({runs[0][2]}) | {k} phrasings per entry | {at1:.3f} | {at5:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "answerdesk-bench-cache")
    parser.add_argument("--skip-chroma", action="store_true")
    args = parser.parse_args()
    embedder = Embedder(args.cache)
    print("| collection | split (n) | run | hit@1 | hit@5 |\n|---|---|---|---|---|")
    for fs in [*bitext_sets(embedder), *own_sets()]:
        runs = rankers(fs, embedder)
        chunk_vecs, query_vecs = rankers.vectors  # type: ignore[attr-defined]
        rankings = {name: [fn(q) for q in range(len(fs.queries))] for name, fn in runs.items()}
        if not args.skip_chroma:
            rankings["ChromaDB (whole entry, same vectors)"] = chroma_ranker(fs, chunk_vecs, query_vecs)
        for split in ("tune", "report"):
            if split not in fs.split:
                continue
            for name, ranking in rankings.items():
                at1, at5, n = hits(ranking, fs, split)
                print(f"| {fs.name} | {split} ({n}) | {name} | {at1:.3f} | {at5:.3f} |", flush=True)
        if fs.name.startswith("Bitext (typical"):
            report_phrasings(fs, embedder)


if __name__ == "__main__":
    main()
