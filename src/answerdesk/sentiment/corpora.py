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


# GoEmotions' 28 emotions (original_labels.txt order) mapped to the three support classes. Curiosity and
# realization are how plain questions and "oh I see" replies read, so they count as neutral; confusion and
# surprise go either way and are dropped with the rows that carry them.
GOEMOTIONS_GROUPS: dict[str, str | None] = {
    **dict.fromkeys(
        ("admiration", "amusement", "approval", "caring", "desire", "excitement", "gratitude", "joy"),
        "positive",
    ),
    **dict.fromkeys(("love", "optimism", "pride", "relief"), "positive"),
    **dict.fromkeys(
        ("anger", "annoyance", "disappointment", "disapproval", "disgust", "embarrassment", "fear"),
        "negative",
    ),
    **dict.fromkeys(("grief", "nervousness", "remorse", "sadness"), "negative"),
    **dict.fromkeys(("neutral", "curiosity", "realization"), "neutral"),
    **dict.fromkeys(("confusion", "surprise"), None),
}


@dataclass(frozen=True, slots=True)
class GroupedText:
    """A text with its grouped label, or None when its emotions disagree or are ambiguous."""

    text: str
    label: str | None


def read_goemotions(folder: Path, split: str) -> list[GroupedText]:
    """`original_<split>.tsv` (`text<TAB>emotion ids<TAB>id`) with the emotions grouped into one class."""
    names = (folder / "original_labels.txt").read_text(encoding="utf-8").split()
    rows: list[GroupedText] = []
    for line in (folder / f"original_{split}.tsv").read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) != 3 or not parts[0].strip():
            continue
        groups = {GOEMOTIONS_GROUPS[names[int(i)]] for i in parts[1].split(",")}
        rows.append(GroupedText(parts[0].strip(), groups.pop() if len(groups) == 1 else None))
    return rows


@dataclass(frozen=True, slots=True)
class Complaint:
    """A tweet from the complaints corpus: `complaint` True when annotators judged that it complains."""

    text: str
    complaint: bool
    domain: str


def read_complaints(path: Path) -> list[Complaint]:
    """`tweet id,text,label,domain` without a header (Preoțiuc-Pietro et al., ACL 2019)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [
            Complaint(text=row[1].strip(), complaint=row[2] == "1", domain=row[3])
            for row in csv.reader(handle)
            if len(row) == 4 and row[1].strip()
        ]


def read_labelled_tsv(path: Path) -> list[LabelledText]:
    """Our hand-written support messages: `label<TAB>text` lines; blank lines and `#` comments are skipped."""
    rows: list[LabelledText] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        if not sep or label not in TWEETEVAL_LABELS or not text.strip():
            raise ValueError(f"{path.name}:{number}: expected 'label<TAB>text' with a known label")
        rows.append(LabelledText(text=text.strip(), label=label))
    return rows


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
