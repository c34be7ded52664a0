"""Stored AI settings keep their meaning after the relevance threshold became the gate's probability cut."""

from __future__ import annotations

from answerdesk.answers.settings import (
    DEFAULT_RELEVANCE_THRESHOLD,
    LEGACY_DEFAULT_RELEVANCE_THRESHOLD,
    ai_settings_of,
)


def test_the_old_cosine_default_reads_as_todays_default() -> None:
    # Every saved AI settings page stored the old default; it was never a choice to be stricter.
    stored = {"ai": {"relevance_threshold": LEGACY_DEFAULT_RELEVANCE_THRESHOLD, "retrieval_k": 7}}
    ai = ai_settings_of(stored)
    assert ai.relevance_threshold == DEFAULT_RELEVANCE_THRESHOLD
    assert ai.retrieval_k == 7
    assert stored["ai"]["relevance_threshold"] == LEGACY_DEFAULT_RELEVANCE_THRESHOLD  # not changed in place


def test_other_stored_thresholds_are_kept_as_the_cut() -> None:
    assert ai_settings_of({"ai": {"relevance_threshold": 0.6}}).relevance_threshold == 0.6
    assert ai_settings_of({"ai": {"relevance_threshold": 0.2}}).relevance_threshold == 0.2
    assert (
        ai_settings_of({"ai": {"relevance_threshold": 7}}).relevance_threshold == DEFAULT_RELEVANCE_THRESHOLD
    )
    assert ai_settings_of(None).relevance_threshold == DEFAULT_RELEVANCE_THRESHOLD
