from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from answerdesk.knowledge.chunk import Chunk, chunk_document, content_hash, dedupe
from answerdesk.knowledge.sentences import split_sentences
from answerdesk.knowledge.tokens import count_tokens
from tests.knowledge.factories import make_doc, make_faq_doc, sentences

LONG_ANSWER = " ".join(["The refund policy covers every plan and every add-on in detail."] * 60)


def test_faq_pairs_are_one_chunk_each_and_never_split() -> None:
    doc = make_faq_doc([("How do refunds work?", LONG_ANSWER), ("Can I pay by card?", "Yes.")])

    chunks = chunk_document(doc, max_tokens=400)

    assert [c.text for c in chunks] == [
        f"Q: How do refunds work?\nA: {LONG_ANSWER}",
        "Q: Can I pay by card?\nA: Yes.",
    ]
    assert chunks[0].token_count > 400
    assert {c.kind for c in chunks} == {"faq"}
    assert [c.position for c in chunks] == [0, 1]
    assert chunks[1].tags == ("billing",)
    assert chunks[1].section == ""
    assert chunks[1].embed_text == chunks[1].text


def test_long_section_chunks_stay_within_bounds_and_near_the_target() -> None:
    doc = make_doc([(["Guide", "Setup"], [" ".join(sentences(120))])])

    chunks = chunk_document(doc, target_tokens=300, max_tokens=400, overlap_tokens=50)

    assert len(chunks) > 5
    assert all(c.token_count <= 400 for c in chunks)
    assert all(c.token_count >= 200 for c in chunks[:-1])
    assert all(c.token_count == count_tokens(c.text) for c in chunks)
    assert {c.section for c in chunks} == {"Guide > Setup"}
    assert all(c.embed_text == f"Guide > Setup\n{c.text}" for c in chunks)


def test_consecutive_chunks_of_a_section_overlap_by_whole_sentences() -> None:
    doc = make_doc([(["Guide"], [" ".join(sentences(80))])])

    chunks = chunk_document(doc, target_tokens=200, max_tokens=300, overlap_tokens=50)

    assert len(chunks) > 3
    for previous, current in itertools.pairwise(chunks):
        current_sentences = split_sentences(current.text)
        shared = [
            " ".join(current_sentences[:n])
            for n in range(1, len(current_sentences))
            if previous.text.endswith(" ".join(current_sentences[:n]))
        ]
        assert shared, "no overlap"
        assert 0 < count_tokens(shared[-1]) <= 50


def test_no_overlap_when_asked_for_none() -> None:
    source = sentences(80)
    chunks = chunk_document(make_doc([(["Guide"], [" ".join(source)])]), overlap_tokens=0)

    assert " ".join(c.text for c in chunks) == " ".join(source)


def test_big_sections_are_never_merged_and_small_neighbours_are() -> None:
    doc = make_doc(
        [
            (["Email", "IMAP"], ["Server is imap.example.com.", "- Port 993\n- SSL on"]),
            (["Email", "SMTP"], ["Server is smtp.example.com."]),
            (["Billing"], [" ".join(sentences(40, topic="billing"))]),
            (["Domains"], [" ".join(sentences(40, topic="domains"))]),
        ]
    )

    chunks = chunk_document(doc)

    assert chunks[0].section == "Email"
    assert chunks[0].text == (
        "IMAP\nServer is imap.example.com.\n\n- Port 993\n- SSL on\n\nSMTP\nServer is smtp.example.com."
    )
    assert all("billing" not in c.text for c in chunks if c.section != "Billing")
    assert all("domains" not in c.text for c in chunks if c.section != "Domains")
    assert [c.section for c in chunks[1:]] == sorted(c.section for c in chunks[1:])
    assert [c.position for c in chunks] == list(range(len(chunks)))


def test_small_section_next_to_a_big_one_stays_alone() -> None:
    doc = make_doc([(["Intro"], ["Welcome."]), (["Setup"], [" ".join(sentences(40))])])

    chunks = chunk_document(doc)

    assert (chunks[0].section, chunks[0].text) == ("Intro", "Welcome.")
    assert all(c.section == "Setup" for c in chunks[1:])


def test_over_long_sentence_is_split_on_words() -> None:
    words = [f"word{i}" for i in range(600)]
    doc = make_doc([(["Log"], [" ".join(words)])])

    chunks = chunk_document(doc, target_tokens=100, max_tokens=150, overlap_tokens=20)

    assert all(c.token_count <= 150 for c in chunks)
    assert all(w in " ".join(c.text for c in chunks).split() for w in words)


def test_word_longer_than_the_budget_is_cut() -> None:
    blob = "QUJD" * 400
    chunks = chunk_document(
        make_doc([([], [f"Key: {blob}"])]), target_tokens=100, max_tokens=150, overlap_tokens=20
    )

    assert all(c.token_count <= 150 for c in chunks)
    assert "".join("".join(c.text.split()) for c in chunks).count("QUJD") >= 400


def test_lines_of_lists_and_tables_are_kept_on_their_own_lines() -> None:
    table = "Plan: Basic; Price: 5\nPlan: Pro; Price: 10"
    chunks = chunk_document(make_doc([(["Plans"], ["Our plans:", table])]))

    assert chunks[0].text == f"Our plans:\n\n{table}"


def test_dedupe_keeps_the_first_and_renumbers() -> None:
    doc = make_doc(
        [
            (["A"], ["Contact support if the problem persists."]),
            (["B"], [" ".join(sentences(40))]),
            (["C"], ["contact  SUPPORT if the problem persists."]),
        ]
    )

    chunks = chunk_document(doc)
    unique = dedupe(chunks)

    assert len(unique) == len(chunks) - 1
    assert unique[0].section == "A"
    assert all(c.section != "C" for c in unique)
    assert [c.position for c in unique] == list(range(len(unique)))


def test_content_hash_ignores_case_whitespace_and_unicode_form() -> None:
    assert content_hash("Caf\u00e9  Menu\n") == content_hash("cafe\u0301 menu")
    assert content_hash("Cafe menu") != content_hash("Café menu")


def test_dedupe_on_chunks_built_elsewhere() -> None:
    chunk = Chunk("x", "", 0, 1, content_hash("x"), "text")

    assert dedupe([chunk, replace(chunk, position=1, section="other")]) == [chunk]


@pytest.mark.parametrize(
    "kwargs",
    [{"target_tokens": 0}, {"target_tokens": 500, "max_tokens": 400}, {"overlap_tokens": 300}],
)
def test_invalid_budgets_are_rejected(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        chunk_document(make_doc([([], ["x"])]), **kwargs)
