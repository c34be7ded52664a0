"""Print sentiment quality on SST-2 dev, TweetEval test and Bitext questions, against a VADER-only baseline.

Usage (repo root): .venv/bin/python bench/sentiment_eval.py [--cache-dir /tmp/answerdesk-emb] [--speed-n 512]

SST-2 is binary: a message counts as positive when p(positive) > p(negative), i.e. score > 0, so a neutral
label falls to the larger of the two polar probabilities. TweetEval is 3-class; its official metric is the
macro-average of per-class recall. Bitext has no sentiment labels: its customer questions are plain support
requests, so the share labelled neutral or flagged frustrated is a sanity check, not an accuracy; its
contact_human_agent intent does measure wants_human (whose patterns were written looking at it: optimistic).
"""

from __future__ import annotations

import argparse
import os
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sklearn.metrics import accuracy_score, confusion_matrix, recall_score

from answerdesk.sentiment import SentimentAnalyzer, SentimentResult, load_analyzer
from answerdesk.sentiment.corpora import TWEETEVAL_LABELS, read_bitext_questions, read_sst2, read_tweeteval
from answerdesk.sentiment.lexicon import LexiconScorer
from answerdesk.sentiment.minilm import CachedEmbed, MiniLMEmbedder

REPO = Path(__file__).resolve().parents[1]
HUMAN_INTENT = "contact_human_agent"
VADER_NEUTRAL = 0.05  # VADER's documented compound cut-offs


def vader_label(compound: float) -> str:
    if compound >= VADER_NEUTRAL:
        return "positive"
    return "negative" if compound <= -VADER_NEUTRAL else "neutral"


def three_class(name: str, gold: Sequence[str], pred: Sequence[str]) -> None:
    acc = accuracy_score(gold, pred)
    macro = recall_score(gold, pred, average="macro", labels=list(TWEETEVAL_LABELS))
    print(f"  {name:<28} accuracy {acc:.3f}   macro-recall {macro:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data")
    parser.add_argument("--cache-dir", type=Path, help="reuse corpus embeddings between runs")
    parser.add_argument("--speed-n", type=int, default=512, help="messages timed for throughput")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    embedder = MiniLMEmbedder()
    embed = CachedEmbed(embedder, args.cache_dir) if args.cache_dir else embedder
    analyzer = load_analyzer(embed)
    lexicon = LexiconScorer()
    meta = analyzer.model.metadata
    print(
        f"model: {meta.get('estimator')} trained {meta.get('trained_at')} on {meta['training_data']['name']}"
    )

    sst = read_sst2(args.data_dir / "sst2" / "dev.tsv")
    sst_texts = [r.text for r in sst]
    sst_gold = [r.label for r in sst]
    ours = analyzer.analyze(sst_texts)
    print(f"\nSST-2 dev (n={len(sst)}), binary accuracy")
    print(
        f"  {'MiniLM+VADER logistic':<28} {accuracy_score(sst_gold, _binary(ours)):.3f}"
        f"   (3-way labels: {dict(Counter(r.label for r in ours))})"
    )
    vader_binary = ["positive" if lexicon.compound(t) > 0 else "negative" for t in sst_texts]
    print(f"  {'VADER lexicon only':<28} {accuracy_score(sst_gold, vader_binary):.3f}")

    tweets = read_tweeteval(args.data_dir / "tweeteval-sentiment", "test")
    tweet_texts = [r.text for r in tweets]
    tweet_gold = [r.label for r in tweets]
    ours = analyzer.analyze(tweet_texts)
    pred = [r.label for r in ours]
    print(f"\nTweetEval sentiment test (n={len(tweets)}), 3-class")
    three_class("MiniLM+VADER logistic", tweet_gold, pred)
    three_class("VADER lexicon only", tweet_gold, [vader_label(lexicon.compound(t)) for t in tweet_texts])
    print("  confusion (rows gold neg/neu/pos, columns predicted):")
    for row in confusion_matrix(tweet_gold, pred, labels=list(TWEETEVAL_LABELS)):
        print("   ", " ".join(f"{v:6d}" for v in row))

    cv = meta["cross_validation"]
    print(
        f"\nVADER ground truth, {cv['folds']}-fold CV from training (3-class, |rating| < 0.5 neutral): "
        f"accuracy {cv['accuracy']:.3f}, macro-recall {cv['macro_recall']:.3f}"
    )
    for domain, figures in cv["by_domain"].items():
        print(
            f"  {domain:<8} accuracy {figures['accuracy']:.3f}   macro-recall {figures['macro_recall']:.3f}"
        )

    bitext = read_bitext_questions(
        args.data_dir / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    )
    questions = [q.text for q in bitext]
    ours = analyzer.analyze(questions)
    n = len(questions)
    labels = Counter(r.label for r in ours)
    print(f"\nBitext customer questions (n={n}, no sentiment labels)")
    print("  labels: " + ", ".join(f"{k} {v / n:.1%}" for k, v in labels.most_common()))
    print(f"  frustrated {sum(r.frustrated for r in ours) / n:.1%}")
    reasons = Counter(reason for r in ours for reason in r.reasons)
    print(f"  frustration reasons: {dict(reasons.most_common(8))}")
    asks = [q.intent == HUMAN_INTENT for q in bitext]
    found = [r.wants_human for r in ours]
    hits = sum(a and f for a, f in zip(asks, found, strict=True))
    false_alarms = sum(f and not a for a, f in zip(asks, found, strict=True))
    print(
        f"  wants_human: recall {hits / sum(asks):.1%} on intent {HUMAN_INTENT} ({sum(asks)}), "
        f"false alarms {false_alarms} of {n - sum(asks)} other questions"
    )
    _speed(analyzer, embedder, questions[: args.speed_n])


def _binary(results: Sequence[SentimentResult]) -> list[str]:
    return ["positive" if r.score > 0 else "negative" for r in results]


def _speed(analyzer: SentimentAnalyzer, embedder: MiniLMEmbedder, texts: Sequence[str]) -> None:
    embedder(texts[:16])  # warm-up
    start = time.perf_counter()
    vectors = embedder(texts)
    embedded = time.perf_counter()
    analyzer.analyze_embedded(texts, vectors)
    done = time.perf_counter()
    print(f"\nSpeed on {len(texts)} Bitext questions ({os.cpu_count()} cores, torch sentence-transformers):")
    print(f"  excluding embedding: {len(texts) / (done - embedded):,.0f} messages/s")
    print(f"  including embedding: {len(texts) / (done - start):,.0f} messages/s")


if __name__ == "__main__":
    main()
