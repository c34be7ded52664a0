"""Weighted reciprocal rank fusion of ranked result lists (pure).

score(id) = sum over lists i where id appears of weights[i] / (k + rank_i(id)), rank 1-based.
Only ranks matter, never the lists' own scores, so BM25 and cosine scores need no calibration.
An id that only appears in lists of weight 0 scores 0 and is left out.

Ties are broken by first appearance when the lists are read rank by rank (rank 1 of every
list in order, then rank 2, ...), which is deterministic and favours ids seen early.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

__all__ = [
    "DEFAULT_RRF_K",
    "DEFAULT_WEIGHTS",
    "FAQ_QUESTION_WEIGHT",
    "FAQ_WEIGHTS",
    "FusedHit",
    "blend_faq",
    "fuse",
    "fuse_explained",
]

# (dense, keyword) weights and k picked with bench/retrieval_quality.py: on support questions (Bitext)
# they match dense alone (nDCG@10 0.922 vs 0.921) where equal weights lose 0.015, and on SciFact
# they keep most of the keyword gain (0.669 vs dense 0.645). Re-run the bench before changing them.
DEFAULT_WEIGHTS: tuple[float, float] = (0.8, 0.2)
DEFAULT_RRF_K = 20
# FAQ entries: any keyword weight cost hit@1 on paraphrases (Bitext FAQ tune split 0.843 at 0, 0.829 at
# 0.05, 0.817 at 0.1, bench/faq_matching.py), so their weight moves from keywords to meaning: the same total
# as a passage's, so an FAQ entry first by meaning is not pushed down by passages that only keywords lift.
# 0.02 never reorders meaning ranks near the top but lets an entry found only by an exact code in.
FAQ_WEIGHTS: tuple[float, float] = (0.98, 0.02)
# Share of the FAQ question's cosine in an FAQ chunk's meaning score (the rest: the whole entry's).
FAQ_QUESTION_WEIGHT = 0.4


class FusedHit(NamedTuple):
    id: int
    score: float
    ranks: tuple[int | None, ...]
    """1-based rank of the id in each input list, None where absent (for debugging and logs)."""


def fuse(
    ranked_lists: Sequence[Sequence[tuple[int, float]]],
    weights: Sequence[float],
    *,
    k: int = 60,
    limit: int = 10,
) -> list[tuple[int, float]]:
    """The ``limit`` best (id, fused score), best first."""
    return [(hit.id, hit.score) for hit in fuse_explained(ranked_lists, weights, k=k, limit=limit)]


def fuse_explained(
    ranked_lists: Sequence[Sequence[tuple[int, float]]],
    weights: Sequence[float],
    *,
    k: int = 60,
    limit: int = 10,
    item_weights: Mapping[int, Sequence[float]] | None = None,
) -> list[FusedHit]:
    """Like ``fuse``, with each id's rank in every list. A repeated id counts at its best rank.

    ``item_weights`` gives some ids their own weights (one per list) instead of ``weights``.
    """
    if len(weights) != len(ranked_lists):
        raise ValueError(f"{len(weights)} weights for {len(ranked_lists)} lists")
    every = [weights, *(item_weights or {}).values()]
    if any(len(ws) != len(ranked_lists) for ws in every):
        raise ValueError(f"every weight list needs {len(ranked_lists)} weights")
    if any(not math.isfinite(w) or w < 0 for ws in every for w in ws):
        raise ValueError("weights must be finite and >= 0")
    if k < 0:
        raise ValueError("k must be >= 0")
    if limit < 0:
        raise ValueError("limit must be >= 0")

    n_lists = len(ranked_lists)
    ranks: dict[int, list[int | None]] = {}
    first_seen: dict[int, tuple[int, int]] = {}
    for list_no, ranked in enumerate(ranked_lists):
        for position, (item_id, _score) in enumerate(ranked):
            slots = ranks.setdefault(item_id, [None] * n_lists)
            if slots[list_no] is None:
                slots[list_no] = position + 1
            seen = (position, list_no)
            if seen < first_seen.setdefault(item_id, seen):
                first_seen[item_id] = seen

    hits = []
    for item_id, slots in ranks.items():
        # Summed in list order so equal inputs give bit-identical scores.
        own = weights if item_weights is None else item_weights.get(item_id, weights)
        score = sum(w / (k + r) for w, r in zip(own, slots, strict=True) if r is not None)
        if score > 0:
            hits.append(FusedHit(item_id, score, tuple(slots)))
    hits.sort(key=lambda hit: (-hit.score, first_seen[hit.id]))
    return hits[:limit]


def blend_faq(
    chunks: Sequence[tuple[int, float]], questions: Sequence[tuple[int, float]], question_weight: float
) -> list[tuple[int, float]]:
    """One meaning ranking: chunks by cosine, FAQ chunks by a weighted mean of their question's cosine and
    the whole entry's, best first (ties keep first appearance).

    A paraphrase matches the FAQ question more closely than the whole entry, but the answer's words help
    tell apart FAQ questions that differ in one word: the mean beat either alone and the better of the
    two (bench/faq_matching.py, tune split). An FAQ chunk missing from ``chunks`` counts as cosine 0
    there, so callers should look its chunk cosine up first.
    """
    if not 0 <= question_weight <= 1:
        raise ValueError("question_weight must be in [0, 1]")
    scores = dict(chunks)
    for item_id, score in questions:
        scores[item_id] = question_weight * score + (1 - question_weight) * scores.get(item_id, 0.0)
    return sorted(scores.items(), key=lambda hit: -hit[1])
