"""Print ticket-category accuracy and macro-F1 on the Bitext customer-support sample (11 categories).

Usage (repo root): .venv/bin/python bench/ticket_classification.py [--cache-dir /tmp/answerdesk-test-models]
    [--examples 10] [--seed 0]

Data: ../shared/data/bitext/ (CDLA-Sharing-1.0), read here only; nothing of it ships in the product.
Each row's ``instruction`` (the customer's words) is the ticket text (no subject), ``category`` the label.

Compared, all on the same stratified 80/20 split (test: 20 %, seed ``--seed``):
1. tickets/classify.py as it is, with the organization's categories set to Bitext's category names and
   each name's words as its keywords (what an administrator would type with no more thought);
2. tickets/centroids.py (MiniLM nearest centroid) fitted as an organization would configure it: each
   category's name as its description plus ``--examples`` example tickets per category from the train part;
3. the same fitted on the whole train part (an upper bound for this approach, not a product setting).
Priority has no labelled set here (Bitext has none): it is not measured.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

from answerdesk.config import Settings
from answerdesk.runtime import Runtime
from answerdesk.tickets.centroids import CentroidClassifier, fit_from_examples
from answerdesk.tickets.classify import categorise

REPO = Path(__file__).resolve().parents[1]
BITEXT = REPO.parent / "shared" / "data" / "bitext" / "Bitext_Sample_Customer_Support_Training_Dataset.csv"


def read_bitext(path: Path) -> tuple[list[str], list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["instruction"] for r in rows], [r["category"] for r in rows]


def keyword_categories(names: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """ "SHIPPING_ADDRESS" → ("shipping address", "shipping", "address"): the name's words as keywords."""
    out: dict[str, tuple[str, ...]] = {}
    for name in names:
        words = name.lower().split("_")
        out[name] = tuple(dict.fromkeys([" ".join(words), *words]))
    return out


def report(label: str, gold: Sequence[str], pred: Sequence[str]) -> None:
    acc = accuracy_score(gold, pred)
    f1 = f1_score(gold, pred, average="macro", zero_division=0)
    print(f"  {label:<58} accuracy {acc:6.3f}   macro-F1 {f1:6.3f}")


async def embedder_of(cache_dir: Path):  # type: ignore[no-untyped-def]
    data = Path(tempfile.mkdtemp(prefix="answerdesk-bench-"))
    settings = Settings(env="development", data_dir=data, model_cache_dir=cache_dir, redis_url=None)
    runtime = Runtime.build(settings)
    try:
        return await runtime.embedder()
    finally:
        await runtime.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/answerdesk-test-models"))
    parser.add_argument(
        "--examples", type=int, default=10, help="example tickets per category (org-like fit)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    texts, labels = read_bitext(BITEXT)
    names = sorted(set(labels))
    train_x, test_x, train_y, test_y = train_test_split(
        texts, labels, test_size=0.2, random_state=args.seed, stratify=labels
    )
    print(
        f"Bitext: {len(texts)} questions, {len(names)} categories; train {len(train_x)}, test {len(test_x)}"
    )

    categories = keyword_categories(names)
    started = time.perf_counter()
    keyword_pred = [categorise("", t, categories=categories)[0] for t in test_x]
    keyword_ms = (time.perf_counter() - started) / len(test_x) * 1000
    fell_back = sum(p not in categories for p in keyword_pred)
    print("\nTest split:")
    report("1. keywords (classify.py, category names as keywords)", test_y, keyword_pred)
    print(f"     no keyword matched ('general'): {fell_back} of {len(test_x)}; {keyword_ms:.3f} ms/ticket")

    embedder = asyncio.run(embedder_of(args.cache_dir))
    started = time.perf_counter()
    test_vecs = embedder.embed(test_x)
    embed_ms = (time.perf_counter() - started) / len(test_x) * 1000

    by_category: dict[str, list[str]] = defaultdict(list)
    for text, label in zip(train_x, train_y, strict=True):
        by_category[label].append(text)
    rng = random.Random(args.seed)
    configured = {
        name: [name.lower().replace("_", " "), *rng.sample(by_category[name], args.examples)]
        for name in names
    }
    org_like = fit_from_examples(embedder, configured)
    org_pred = [label for label, _ in org_like.predict(test_vecs)]
    report(f"2. MiniLM centroids: name + {args.examples} examples per category", test_y, org_pred)

    full = CentroidClassifier.fit(embedder.embed(train_x), train_y)
    full_pred = [label for label, _ in full.predict(test_vecs)]
    report(f"3. MiniLM centroids: whole train split ({len(train_x)})", test_y, full_pred)
    print(f"     embedding {embed_ms:.2f} ms/ticket (batched, this machine)")
    print("\nPriority: no labelled set (Bitext has no priority); not measured.")
    agree = np.mean([a == b for a, b in zip(org_pred, full_pred, strict=True)])
    print(f"(2 and 3 agree on {agree:.1%} of test tickets)")


if __name__ == "__main__":
    main()
