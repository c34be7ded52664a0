from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from answerdesk.sentiment.corpora import (
    GOEMOTIONS_GROUPS,
    normalise_for_overlap,
    read_complaints,
    read_goemotions,
    read_labelled_tsv,
    read_sst2,
    read_tweeteval,
    read_vader,
)

SUPPORT_DIR = Path(str(resources.files("answerdesk.sentiment").joinpath("data")))


def test_read_vader_handles_crlf_and_skips_broken_lines(tmp_path: Path) -> None:
    (tmp_path / "tweets_GroundTruth.txt").write_bytes(
        b"1\t2.5\tSo lucky today!\r\n2\t-1.25\tnot good\r\nbroken line\r\n3\t0.1\t \r\n"
    )
    rows = read_vader(tmp_path, domains=("tweets",))
    assert [(r.domain, r.text, r.rating) for r in rows] == [
        ("tweets", "So lucky today!", 2.5),
        ("tweets", "not good", -1.25),
    ]


def test_read_sst2_and_tweeteval(tmp_path: Path) -> None:
    (tmp_path / "dev.tsv").write_text('sentence\tlabel\nit \'s "fine" \t1\nbleak \t0\n', encoding="utf-8")
    assert [(r.text, r.label) for r in read_sst2(tmp_path / "dev.tsv")] == [
        ('it \'s "fine"', "positive"),
        ("bleak", "negative"),
    ]
    (tmp_path / "test_text.txt").write_text("a\nb\nc\n", encoding="utf-8")
    (tmp_path / "test_labels.txt").write_text("0\n1\n2\n", encoding="utf-8")
    assert [r.label for r in read_tweeteval(tmp_path, "test")] == ["negative", "neutral", "positive"]


def test_overlap_normalisation_ignores_tokenisation() -> None:
    assert normalise_for_overlap("it 's a -LRB- charming -RRB- journey .") == normalise_for_overlap(
        "It's a (charming) journey."
    )


def test_read_goemotions_groups_emotions_and_drops_ambiguous_rows(tmp_path: Path) -> None:
    names = ["gratitude", "annoyance", "neutral", "curiosity", "confusion", "joy"]
    (tmp_path / "original_labels.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    (tmp_path / "original_train.tsv").write_text(
        "Thanks a lot!\t0\ta1\n"
        "This is so annoying\t1\ta2\n"
        "How does that work?\t3\ta3\n"
        "Wait, what?\t4\ta4\n"
        "Love it but it broke\t5,1\ta5\n"
        "Great, thanks\t0,5\ta6\n"
        "\t2\ta7\n",
        encoding="utf-8",
    )
    rows = read_goemotions(tmp_path, "train")
    assert [(r.text, r.label) for r in rows] == [
        ("Thanks a lot!", "positive"),
        ("This is so annoying", "negative"),
        ("How does that work?", "neutral"),  # curiosity reads as a plain question
        ("Wait, what?", None),  # confusion goes either way
        ("Love it but it broke", None),  # two groups disagree
        ("Great, thanks", "positive"),
    ]


def test_every_goemotions_emotion_has_a_group() -> None:
    assert len(GOEMOTIONS_GROUPS) == 28
    assert set(GOEMOTIONS_GROUPS.values()) == {"negative", "neutral", "positive", None}


def test_read_complaints_keeps_domain_and_flag(tmp_path: Path) -> None:
    (tmp_path / "c.csv").write_text(
        '1,"@Help my order, again, is late",1,retail\n2,@Help do you ship to Spain?,0,retail\n3,,0,food\n',
        encoding="utf-8",
    )
    rows = read_complaints(tmp_path / "c.csv")
    assert [(r.text, r.complaint, r.domain) for r in rows] == [
        ("@Help my order, again, is late", True, "retail"),
        ("@Help do you ship to Spain?", False, "retail"),
    ]


def test_read_labelled_tsv_skips_comments_and_refuses_unknown_labels(tmp_path: Path) -> None:
    path = tmp_path / "m.tsv"
    path.write_text("# comment\n\nnegative\tSite down\nneutral\tHow do I log in?\n", encoding="utf-8")
    assert [(r.label, r.text) for r in read_labelled_tsv(path)] == [
        ("negative", "Site down"),
        ("neutral", "How do I log in?"),
    ]
    path.write_text("angry\tSite down\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"m\.tsv:1"):
        read_labelled_tsv(path)


def test_shipped_support_sets_are_well_formed_and_disjoint() -> None:
    train = read_labelled_tsv(SUPPORT_DIR / "support_train.tsv")
    evaluation = read_labelled_tsv(SUPPORT_DIR / "support_eval.tsv")
    assert len(train) >= 300 and len(evaluation) >= 100
    for rows in (train, evaluation):
        assert {r.label for r in rows} == {"negative", "neutral", "positive"}
    seen = {normalise_for_overlap(r.text) for r in train}
    assert not [r.text for r in evaluation if normalise_for_overlap(r.text) in seen]
