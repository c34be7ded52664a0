"""Readers for the public sentiment corpora that training and the benchmark use (files under shared/data)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

VADER_FILES: dict[str, str] = {
    "tweets": "tweets_GroundTruth.txt",
    "amazon": "amazonReviewSnippets_GroundTruth.txt",
    "movie": "movieReviewSnippets_GroundTruth.txt",
    "nyt": "nytEditorialSnippets_GroundTruth.txt",
}

TWEETEVAL_LABELS: tuple[str, str, str] = ("negative", "neutral", "positive")


@dataclass(frozen=True, slots=True)
class RatedText:
    """One human-rated snippet from the VADER ground truth: mean rating on the -4..+4 scale."""

    domain: str
    text: str
    rating: float


@dataclass(frozen=True, slots=True)
class LabelledText:
    text: str
    label: str


def read_vader(folder: Path, domains: tuple[str, ...] = tuple(VADER_FILES)) -> list[RatedText]:
    """Read `id<TAB>mean rating<TAB>text` lines; the files use CRLF and some carry stray non-UTF-8 bytes."""
    rows: list[RatedText] = []
    for domain in domains:
        path = folder / VADER_FILES[domain]
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            parts = line.split("\t", 2)
            if len(parts) != 3 or not parts[2].strip():
                continue
            rows.append(RatedText(domain=domain, text=parts[2].strip(), rating=float(parts[1])))
    return rows


def read_sst2(path: Path) -> list[LabelledText]:
    """GLUE SST-2 `sentence<TAB>label` with a header; label 1 is positive."""
    rows: list[LabelledText] = []
    with path.open(encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        next(reader)
        for sentence, label in reader:
            rows.append(LabelledText(text=sentence.strip(), label="positive" if label == "1" else "negative"))
    return rows


def read_tweeteval(folder: Path, split: str) -> list[LabelledText]:
    """TweetEval sentiment: `<split>_text.txt` and `<split>_labels.txt`, one item a line (0/1/2)."""
    texts = (folder / f"{split}_text.txt").read_text(encoding="utf-8").splitlines()
    labels = (folder / f"{split}_labels.txt").read_text(encoding="utf-8").split()
    if len(texts) != len(labels):
        raise ValueError(f"TweetEval {split}: {len(texts)} texts but {len(labels)} labels")
    return [
        LabelledText(text=t.strip(), label=TWEETEVAL_LABELS[int(lab)])
        for t, lab in zip(texts, labels, strict=True)
    ]


@dataclass(frozen=True, slots=True)
class SupportQuestion:
    text: str
    intent: str


def read_bitext_questions(path: Path) -> list[SupportQuestion]:
    """The customer questions (`instruction`) of the Bitext support sample with their `intent`."""
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle)
        return [
            SupportQuestion(r["instruction"].strip(), r["intent"]) for r in rows if r["instruction"].strip()
        ]


def normalise_for_overlap(text: str) -> str:
    """Letters and digits only, lower case: SST's tokenised `it 's` and the raw `it's` compare equal."""
    text = text.lower().replace("-lrb-", "").replace("-rrb-", "")
    return re.sub(r"[^a-z0-9]+", "", text)
