"""Learning from approved replies, measured offline on hand-written hosting tickets with their approved reply.

Run from the repo root:  .venv/bin/python bench/draft_examples.py [--model-cache DIR]

Data: bench/data/learning/approved_replies.jsonl, 40 tickets (subject, message, the reply staff approved),
each labelled with the kind of question it is: 12 kinds of three tickets, and 4 kinds with a single
ticket (nothing in memory answers them: the right outcome is no example at all).

Leave-one-out: each ticket in turn is the new one, the other 39 are the memory. The texts go through the
same code as the product (faq_pair's condensing for the question, the shipped embedder, tickets.learning's
nearest() and clusters() with their shipped thresholds).

What this can and cannot say. Whether examples make *model* drafts closer to what staff approved needs
the model: there is no LLM on this machine, and a fake one would only measure itself. Drafts without a
model are extractive quotes of the knowledge base, which never see the examples. So this measures what
the examples bring to the prompt:
* retrieval: hit@1 (the best example answers the same kind of question), coverage (an example is given
  at all), wrong-example rate (an example of another kind is given), and for the single tickets how
  often an example of another kind is (wrongly) given;
* content: how close the best example's reply is to the held-out approved reply (MiniLM cosine, and
  word-level edit similarity = 1 - normalised Levenshtein distance over words), against the average of
  replies of other kinds, i.e. what an unrelated example would bring;
* FAQ suggestions: the groups of >= 3 the clustering finds over all 40, and their purity.
A sweep over the thresholds shows where the shipped ones sit. The thresholds were chosen on this same
set (there is no second one), so the figures at the shipped values are optimistic by that much.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from kb_fixture import DEFAULT_MODEL_CACHE  # sibling module in bench/

from answerdesk.knowledge.embedding.factory import load_embedder
from answerdesk.tickets.faq import faq_pair
from answerdesk.tickets.learning import (
    CLUSTER_SIMILARITY,
    EXAMPLE_MIN_SIMILARITY,
    MIN_CLUSTER,
    clusters,
    nearest,
)

DATA = Path(__file__).parent / "data" / "learning" / "approved_replies.jsonl"


def word_similarity(a: str, b: str) -> float:
    """1 - Levenshtein distance over words / the longer text's word count."""
    x, y = a.lower().split(), b.lower().split()
    if not x and not y:
        return 1.0
    previous = list(range(len(y) + 1))
    for i, wx in enumerate(x, 1):
        current = [i]
        for j, wy in enumerate(y, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (wx != wy)))
        previous = current
    return 1.0 - previous[-1] / max(len(x), len(y))


def load() -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in DATA.read_text().splitlines() if line.strip()]
    for row in rows:
        ticket = SimpleNamespace(
            client_context={}, client_name="", client_email="", subject=row["subject"], tid=""
        )
        pair = faq_pair(ticket, row["message"], row["reply"])  # type: ignore[arg-type]
        row["question"], row["answer"] = pair.question, pair.answer
    return rows


def retrieval(rows: list[dict[str, Any]], q: np.ndarray, threshold: float) -> dict[str, float]:
    kinds = Counter(r["kind"] for r in rows)
    hits = given = wrong = singles = single_wrong = 0
    for i, row in enumerate(rows):
        others = [j for j in range(len(rows)) if j != i]
        found = nearest(q[others], q[i], 3, threshold)
        if kinds[row["kind"]] == 1:
            singles += 1
            single_wrong += bool(found)
            continue
        if found:
            given += 1
            best = others[found[0][0]]
            hits += rows[best]["kind"] == row["kind"]
            wrong += sum(rows[others[k]]["kind"] != row["kind"] for k, _ in found) > 0
    answerable = len(rows) - singles
    return {
        "hit@1": hits / answerable,
        "coverage": given / answerable,
        "any_wrong": wrong / answerable,
        "single_given": single_wrong / max(1, singles),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-cache", type=Path, default=DEFAULT_MODEL_CACHE)
    args = parser.parse_args()
    rows = load()
    embedder = load_embedder("onnx", args.model_cache)
    q = embedder.embed([r["question"] for r in rows])
    a = embedder.embed([r["answer"] for r in rows])
    kinds = Counter(r["kind"] for r in rows)
    print(
        f"{len(rows)} tickets, {sum(1 for k in kinds.values() if k > 1)} kinds with >1, "
        f"{sum(1 for k in kinds.values() if k == 1)} single\n"
    )

    print("Example retrieval (leave-one-out, k=3), by minimum cosine:")
    print(f"{'min cos':>8} {'hit@1':>7} {'coverage':>9} {'any wrong':>10} {'single: given':>14}")
    for threshold in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7):
        m = retrieval(rows, q, threshold)
        mark = "  <- shipped" if abs(threshold - EXAMPLE_MIN_SIMILARITY) < 1e-9 else ""
        print(
            f"{threshold:>8.2f} {m['hit@1']:>7.1%} {m['coverage']:>9.1%} {m['any_wrong']:>10.1%} "
            f"{m['single_given']:>14.1%}{mark}"
        )

    # Content: the best example's reply (shipped threshold) vs the held-out approved reply.
    best_cos, best_words, other_cos, other_words = [], [], [], []
    for i, row in enumerate(rows):
        if kinds[row["kind"]] == 1:
            continue
        others = [j for j in range(len(rows)) if j != i]
        found = nearest(q[others], q[i], 1, EXAMPLE_MIN_SIMILARITY)
        unrelated = [j for j in others if rows[j]["kind"] != row["kind"]]
        other_cos.append(float(np.mean(a[unrelated] @ a[i])))
        other_words.append(
            float(np.mean([word_similarity(rows[j]["answer"], row["answer"]) for j in unrelated]))
        )
        if found:
            best = others[found[0][0]]
            best_cos.append(float(a[best] @ a[i]))
            best_words.append(word_similarity(rows[best]["answer"], row["answer"]))
    print("\nCloseness to the held-out approved reply (tickets whose kind has others):")
    print(
        f"  best example's reply   : cosine {np.mean(best_cos):.3f}, word edit similarity "
        f"{np.mean(best_words):.3f}  (n={len(best_cos)} with an example)"
    )
    print(
        f"  a reply of another kind: cosine {np.mean(other_cos):.3f}, word edit similarity "
        f"{np.mean(other_words):.3f}  (mean over all of them)"
    )

    print("\nFAQ suggestions (groups of >= 3 over all 40), by cluster cosine:")
    print(f"{'cos':>6} {'groups':>7} {'pure':>5} {'kinds found':>12} {'members':>8}")
    for threshold in (0.55, 0.6, 0.65, 0.7, 0.75):
        groups = clusters(q, threshold, MIN_CLUSTER)
        pure = sum(len({rows[i]["kind"] for i in g}) == 1 for g in groups)
        found_kinds = {Counter(rows[i]["kind"] for i in g).most_common(1)[0][0] for g in groups}
        mark = "  <- shipped" if abs(threshold - CLUSTER_SIMILARITY) < 1e-9 else ""
        print(
            f"{threshold:>6.2f} {len(groups):>7} {pure:>5} {len(found_kinds):>8}/12 "
            f"{sum(map(len, groups)):>8}{mark}"
        )
    for g in clusters(q, CLUSTER_SIMILARITY, MIN_CLUSTER):
        print("   ", [rows[i]["kind"] for i in g])


if __name__ == "__main__":
    main()
