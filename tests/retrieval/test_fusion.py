"""Weighted reciprocal rank fusion: worked examples and properties."""

from __future__ import annotations

import copy
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from answerdesk.retrieval.fusion import FusedHit, blend_faq, fuse, fuse_explained


def ranked(*ids: int) -> list[tuple[int, float]]:
    """A ranked list with made-up, decreasing scores (fusion must ignore them)."""
    return [(item, 100.0 - position) for position, item in enumerate(ids)]


def test_scores_are_weighted_reciprocal_ranks() -> None:
    hits = fuse_explained([ranked(1, 2), ranked(2, 3)], [0.7, 0.3], k=60, limit=10)
    assert [(hit.id, hit.ranks) for hit in hits] == [(2, (2, 1)), (1, (1, None)), (3, (None, 2))]
    assert [hit.score for hit in hits] == pytest.approx([0.7 / 62 + 0.3 / 61, 0.7 / 61, 0.3 / 62])
    assert fuse([ranked(1, 2), ranked(2, 3)], [0.7, 0.3], k=60, limit=2) == [
        (h.id, h.score) for h in hits[:2]
    ]


def test_weights_decide_between_lists_that_disagree() -> None:
    dense, keyword = ranked(1, 2, 3), ranked(3, 2, 1)
    assert fuse([dense, keyword], [0.8, 0.2], limit=1)[0][0] == 1
    assert fuse([dense, keyword], [0.2, 0.8], limit=1)[0][0] == 3


def test_ties_break_by_first_appearance_rank_by_rank() -> None:
    # 5 and 7 tie exactly (each rank 1 in one list, equal weights); 5 is read first.
    assert [item for item, _ in fuse([ranked(5, 8), ranked(7, 9)], [1.0, 1.0], limit=4)] == [5, 7, 8, 9]
    assert [item for item, _ in fuse([ranked(7, 9), ranked(5, 8)], [1.0, 1.0], limit=4)] == [7, 5, 9, 8]


def test_repeated_id_counts_once_at_its_best_rank() -> None:
    hits = fuse_explained([ranked(4, 6, 4)], [1.0], k=0, limit=5)
    assert hits == [FusedHit(4, 1.0, (1,)), FusedHit(6, 0.5, (2,))]


def test_ids_only_in_zero_weight_lists_are_left_out() -> None:
    assert fuse([ranked(1), ranked(2)], [1.0, 0.0]) == [(1, 1 / 61)]


def test_empty_inputs() -> None:
    assert fuse([], []) == []
    assert fuse([[], []], [0.5, 0.5]) == []
    assert fuse([ranked(1, 2)], [1.0], limit=0) == []


@pytest.mark.parametrize(
    ("weights", "k", "limit"),
    [
        ([1.0], 60, 10),
        ([0.5, -0.1], 60, 10),
        ([0.5, float("nan")], 60, 10),
        ([1, 1], -1, 10),
        ([1, 1], 60, -1),
    ],
)
def test_rejects_bad_arguments(weights: list[float], k: int, limit: int) -> None:
    with pytest.raises(ValueError):
        fuse([ranked(1), ranked(2)], weights, k=k, limit=limit)


id_lists = st.lists(st.lists(st.integers(0, 40), unique=True, max_size=25), min_size=1, max_size=4)
rrf_k = st.integers(0, 100)


@st.composite
def lists_and_weights(draw: st.DrawFn) -> tuple[list[list[tuple[int, float]]], list[float]]:
    lists = [ranked(*ids) for ids in draw(id_lists)]
    weights = draw(st.lists(st.floats(0.0, 1.0), min_size=len(lists), max_size=len(lists)))
    return lists, weights


@given(lists_and_weights(), rrf_k, st.integers(1, 60))
def test_fusion_is_pure_sorted_unique_and_limited(
    case: tuple[list[list[tuple[int, float]]], list[float]], k: int, limit: int
) -> None:
    lists, weights = case
    before = copy.deepcopy((lists, weights))
    first = fuse_explained(lists, weights, k=k, limit=limit)
    assert (lists, weights) == before
    assert fuse_explained(lists, weights, k=k, limit=limit) == first
    assert len(first) <= limit
    assert len({hit.id for hit in first}) == len(first)
    assert all(a.score >= b.score > 0 for a, b in itertools.pairwise(first))
    for hit in first:
        for rank, source in zip(hit.ranks, lists, strict=True):
            if rank is None:
                assert hit.id not in [item for item, _ in source]
            else:
                assert source[rank - 1][0] == hit.id


@given(id_lists, st.data(), rrf_k)
def test_an_id_first_in_every_list_is_first(ids: list[list[int]], data: st.DataObject, k: int) -> None:
    winner = 1000
    lists = [ranked(winner, *others) for others in ids]
    weights = data.draw(st.lists(st.floats(0.0, 1.0), min_size=len(lists), max_size=len(lists)))
    weights[data.draw(st.integers(0, len(lists) - 1))] = data.draw(st.floats(0.01, 1.0))
    assert fuse(lists, weights, k=k, limit=5)[0][0] == winner


@given(id_lists, st.data(), rrf_k)
def test_one_hot_weights_reproduce_that_list(ids: list[list[int]], data: st.DataObject, k: int) -> None:
    chosen = data.draw(st.integers(0, len(ids) - 1))
    weights = [1.0 if i == chosen else 0.0 for i in range(len(ids))]
    fused = fuse([ranked(*each) for each in ids], weights, k=k, limit=100)
    assert [item for item, _ in fused] == ids[chosen]


def test_blend_faq_mixes_question_and_entry_cosines_and_keeps_plain_chunks() -> None:
    chunks = [(1, 0.50), (2, 0.45), (3, 0.30)]
    questions = [(3, 0.90), (4, 0.80)]  # 4: found by its question only (entry cosine unknown: 0)
    blended = dict(blend_faq(chunks, questions, 0.4))
    assert blended[1] == 0.50 and blended[2] == 0.45
    assert blended[3] == pytest.approx(0.4 * 0.90 + 0.6 * 0.30)
    assert blended[4] == pytest.approx(0.4 * 0.80)
    assert [i for i, _ in blend_faq(chunks, questions, 1.0)][:2] == [3, 4]
    assert blend_faq(chunks, [], 0.4) == chunks
    with pytest.raises(ValueError):
        blend_faq(chunks, questions, 1.5)


def test_item_weights_override_the_list_weights_for_their_ids() -> None:
    meaning = [(1, 0.9), (2, 0.8)]
    keyword = [(2, 9.0), (1, 1.0)]
    # Keywords lift 2 over 1 at the usual weights ...
    assert [h.id for h in fuse_explained([meaning, keyword], [0.4, 0.6], k=20)] == [2, 1]
    # ... but not when both are FAQ entries, whose keyword weight is a trace.
    faq = {1: (0.4, 0.01), 2: (0.4, 0.01)}
    assert [h.id for h in fuse_explained([meaning, keyword], [0.4, 0.6], k=20, item_weights=faq)] == [1, 2]
    with pytest.raises(ValueError):
        fuse_explained([meaning, keyword], [0.5, 0.5], item_weights={1: (0.5,)})
