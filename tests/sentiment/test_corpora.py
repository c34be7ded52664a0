from __future__ import annotations

from pathlib import Path

from answerdesk.sentiment.corpora import normalise_for_overlap, read_sst2, read_tweeteval, read_vader


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
