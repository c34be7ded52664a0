"""Print support-sentiment quality per class on the public evaluation sets, new model against the old one.

Usage (repo root): .venv/bin/python bench/sentiment_eval.py [--cache-dir /tmp/answerdesk-emb] [--speed-n 2000]

Vectors come from the int8 ONNX embedder the application runs (as in training); the torch
(sentence-transformers) vectors are compared with them on a few sets to show how much the backend moves.
Sets and how labels map:
- support (hand-written): src/answerdesk/sentiment/data/support_eval.tsv, never trained on; 3 classes.
- TweetEval sentiment test: 3 classes as given (review-style tweets, not support messages).
- SST-2 dev: binary; a prediction counts as positive when p(positive) > p(negative) (score > 0), so a
  neutral label falls to the larger polar probability. Gold neutral does not exist there.
- complaints: the new model's figures are its training-time leave-one-domain-out cross-validation (the
  whole recipe retrained without each industry, evaluated on it; from the model file); the old model never
  saw these tweets and is scored on all of them. Complaint → negative recall; precision of "not negative"
  for non-complaints.
- GoEmotions test: emotions grouped as in training (corpora.GOEMOTIONS_GROUPS), ambiguous rows dropped.
- Bitext customer questions: no sentiment labels; they are plain requests, so the share called neutral and
  the share flagged frustrated are sanity checks; its contact_human_agent intent measures wants_human.
Speed: the model's cost per message beyond the embedding (lexicon, cues, linear model, decision), one
message per call as chat does, and in one batch.
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from answerdesk.sentiment import LinearSentimentModel, SentimentAnalyzer, load_shipped_model
from answerdesk.sentiment import corpora as c
from answerdesk.sentiment.linear import CLASSES
from answerdesk.sentiment.minilm import CachedEmbed, MiniLMEmbedder, onnx_embed

REPO = Path(__file__).resolve().parents[1]
OLD_MODEL = REPO / "bench/data/sentiment_lr_vader_v1.json"  # the VADER-trained model shipped before
SUPPORT_EVAL = REPO / "src/answerdesk/sentiment/data/support_eval.tsv"
HUMAN_INTENT = "contact_human_agent"
ONNX_CACHE = Path("/tmp/answerdesk-test-models")
Embed = Callable[[Sequence[str]], npt.NDArray[np.float32]]


def figures(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str] = CLASSES) -> dict[str, Any]:
    g, p = np.array(gold), np.array(pred)
    out: dict[str, Any] = {"n": len(g), "accuracy": float((g == p).mean())}
    recalls = []
    for name in classes:
        out[f"{name}_p"] = float((g[p == name] == name).mean()) if (p == name).any() else float("nan")
        out[f"{name}_r"] = float((p[g == name] == name).mean())
        recalls.append(out[f"{name}_r"])
    out["macro_recall"] = float(np.mean(recalls))
    return out


HEADER = f"  {'set':<34}{'n':>6}{'acc':>7}{'macroR':>8}  {'neg P/R':>11}  {'neu P/R':>11}  {'pos P/R':>11}"


def row(name: str, f: dict[str, Any]) -> str:
    def pair(label: str) -> str:
        if f"{label}_r" not in f:
            return f"{'-':>11}"
        return f"{f[f'{label}_p']:.2f}/{f[f'{label}_r']:.2f}".rjust(11)

    return (
        f"  {name:<34}{f['n']:>6}{f['accuracy']:>7.3f}{f['macro_recall']:>8.3f}  "
        f"{pair('negative')}  {pair('neutral')}  {pair('positive')}"
    )


def labels(analyzer: SentimentAnalyzer, texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> list[str]:
    return [r.label for r in analyzer.analyze_embedded(texts, vectors)]


def binary(analyzer: SentimentAnalyzer, texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> list[str]:
    return ["positive" if r.score > 0 else "negative" for r in analyzer.analyze_embedded(texts, vectors)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--cache-dir", type=Path, help="reuse corpus embeddings between runs")
    parser.add_argument("--model-cache", type=Path, default=ONNX_CACHE, help="ONNX export of the embedder")
    parser.add_argument("--speed-n", type=int, default=2000, help="messages timed one by one")
    parser.add_argument("--skip-torch", action="store_true", help="skip the torch-vs-ONNX comparison")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    runtime_embed = onnx_embed(args.model_cache)
    embed: Embed = CachedEmbed(runtime_embed, args.cache_dir) if args.cache_dir else runtime_embed
    new = SentimentAnalyzer(embed, load_shipped_model())
    old = SentimentAnalyzer(embed, LinearSentimentModel.from_json(OLD_MODEL.read_text(encoding="utf-8")))
    meta = new.model.metadata
    print(
        f"new model: {meta['estimator']}\n  trained {meta['trained_at']} on {meta['training_data']['name']}"
    )
    print(f"old model: {old.model.metadata['estimator']} on {old.model.metadata['training_data']['name']}")

    support = c.read_labelled_tsv(SUPPORT_EVAL)
    tweets = c.read_tweeteval(args.data_dir / "tweeteval-sentiment", "test")
    sst = c.read_sst2(args.data_dir / "sst2" / "dev.tsv")
    go = [r for r in c.read_goemotions(args.data_dir / "goemotions", "test")]
    complaints = c.read_complaints(args.data_dir / "complaints" / "complaints-data.csv")
    vectors = {
        "support": embed([r.text for r in support]),
        "tweets": embed([r.text for r in tweets]),
        "sst": embed([r.text for r in sst]),
        "go": embed([r.text for r in go]),
        "complaints": embed([r.text for r in complaints]),
    }
    go_keep = [i for i, r in enumerate(go) if r.label is not None]

    results: dict[str, dict[str, dict[str, Any]]] = {"new": {}, "old": {}}
    for tag, analyzer in (("new", new), ("old", old)):
        res = results[tag]
        res["support (hand-written, held out)"] = figures(
            [r.label for r in support], labels(analyzer, [r.text for r in support], vectors["support"])
        )
        res["TweetEval test"] = figures(
            [r.label for r in tweets], labels(analyzer, [r.text for r in tweets], vectors["tweets"])
        )
        res["SST-2 dev (binary, score > 0)"] = figures(
            [r.label for r in sst],
            binary(analyzer, [r.text for r in sst], vectors["sst"]),
            classes=("negative", "positive"),
        )
        go_texts = [go[i].text for i in go_keep]
        res["GoEmotions test (grouped)"] = figures(
            [str(go[i].label) for i in go_keep], labels(analyzer, go_texts, vectors["go"][go_keep])
        )
    print("\nPer-class precision/recall (P/R); ONNX int8 vectors as at run time")
    for name in results["new"]:
        print(f"\n{name}")
        print(HEADER)
        for tag in ("new", "old"):
            print(row(f"{tag} model", results[tag][name]))

    _complaints(new, old, complaints, vectors["complaints"])
    _bitext(new, old, args.data_dir, embed)
    if not args.skip_torch:
        _backend_agreement(new, runtime_embed, support, sst, complaints)
    _speed(new, [r.text for r in tweets][: args.speed_n], vectors["tweets"][: args.speed_n])


def _complaints(
    new: SentimentAnalyzer,
    old: SentimentAnalyzer,
    rows: Sequence[c.Complaint],
    vectors: npt.NDArray[np.float32],
) -> None:
    cv = new.model.metadata["cross_validation"]["complaints_leave_one_domain_out"]
    print("\ncomplaints (tweets to customer-service accounts): complaint → negative, non-complaint → not")
    print(f"  {'':<14}{'':>6}  {'new model':^24}  {'old model':^24}")
    print(f"  {'domain':<14}{'n':>6}  {'compl. R  non-c. R  P':>24}  {'compl. R  non-c. R  P':>24}")
    pred = np.array(labels(old, [r.text for r in rows], vectors))
    gold = np.array([r.complaint for r in rows])
    domain = np.array([r.domain for r in rows])
    for name, f in [*cv["by_domain"].items(), ("pooled", cv["pooled"])]:
        mask = np.isin(domain, list(cv["by_domain"])) if name == "pooled" else domain == name
        neg = pred[mask] == "negative"
        old_r = float(neg[gold[mask]].mean())
        old_nr = float((~neg[~gold[mask]]).mean())
        old_p = float((~gold[mask][~neg]).mean())
        print(
            f"  {name:<14}{f['n']:>6}  {f['complaint_recall']:>8.3f}{f['non_complaint_recall']:>9.3f}"
            f"{f['non_complaint_precision']:>7.3f}  {old_r:>8.3f}{old_nr:>9.3f}{old_p:>7.3f}"
        )
    print("  new: leave-one-domain-out (recipe retrained without the domain); old: never trained on them.")
    print("  P: of the non-negative predictions, the share that are non-complaints.")


def _bitext(new: SentimentAnalyzer, old: SentimentAnalyzer, data_dir: Path, embed: Embed) -> None:
    bitext = c.read_bitext_questions(
        data_dir / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    )
    texts = [q.text for q in bitext]
    vectors = embed(texts)
    print(f"\nBitext customer questions (n={len(texts)}, no sentiment labels: plain requests)")
    for tag, analyzer in (("new", new), ("old", old)):
        results = analyzer.analyze_embedded(texts, vectors)
        n = len(results)
        shares = Counter(r.label for r in results)
        print(
            f"  {tag}: "
            + ", ".join(f"{k} {shares[k] / n:.1%}" for k in CLASSES)
            + f"; frustrated {sum(r.frustrated for r in results) / n:.1%}"
        )
    results = new.analyze_embedded(texts, vectors)
    asks = [q.intent == HUMAN_INTENT for q in bitext]
    found = [r.wants_human for r in results]
    hits = sum(a and f for a, f in zip(asks, found, strict=True))
    alarms = sum(f and not a for a, f in zip(asks, found, strict=True))
    print(f"  wants_human: recall {hits / sum(asks):.1%} on {HUMAN_INTENT}, {alarms} false alarms")


def _backend_agreement(
    new: SentimentAnalyzer,
    onnx: Embed,
    support: Sequence[c.LabelledText],
    sst: Sequence[c.LabelledText],
    complaints: Sequence[c.Complaint],
) -> None:
    torch = MiniLMEmbedder()
    print("\nONNX int8 (run time, training) vs torch sentence-transformers vectors, new model")
    for name, texts in (
        ("support", [r.text for r in support]),
        ("SST-2 dev", [r.text for r in sst]),
        ("complaints", [r.text for r in complaints]),
    ):
        a, b = onnx(texts), torch(texts)
        cosine = (a * b).sum(axis=1)
        same = np.mean(
            [
                x.label == y.label
                for x, y in zip(new.analyze_embedded(texts, a), new.analyze_embedded(texts, b), strict=True)
            ]
        )
        print(f"  {name:<12} cosine mean {cosine.mean():.4f} min {cosine.min():.4f}; same label {same:.1%}")


def _speed(analyzer: SentimentAnalyzer, texts: Sequence[str], vectors: npt.NDArray[np.float32]) -> None:
    analyzer.analyze_embedded(texts[:10], vectors[:10])  # warm-up
    start = time.perf_counter()
    for i, text in enumerate(texts):
        analyzer.analyze_embedded([text], vectors[i : i + 1])
    one_by_one = (time.perf_counter() - start) / len(texts)
    start = time.perf_counter()
    analyzer.analyze_embedded(texts, vectors)
    batched = (time.perf_counter() - start) / len(texts)
    print(
        f"\nCost beyond the embedding, {len(texts)} TweetEval tweets, {os.cpu_count()} cores (shared, noisy):"
    )
    print(
        f"  one message per call {one_by_one * 1e3:.3f} ms/message; one batch {batched * 1e3:.3f} ms/message"
    )


if __name__ == "__main__":
    main()
