"""BEIR SciFact, read in place from ../shared/data (never copied into the repo): documents, claims, qrels."""

from __future__ import annotations

import ast
import csv
import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
# The abstract column is the repr of a numpy array of sentence strings.
_LITERAL = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"")


@dataclass(frozen=True)
class SciFact:
    doc_ids: list[int]
    doc_texts: list[str]
    queries: list[str]
    relevant: list[frozenset[int]]


def read_scifact(data: Path = DATA) -> SciFact:
    folder = data / "scifact"
    with zipfile.ZipFile(folder / "scifact.zip") as archive:
        corpus = list(csv.DictReader(io.TextIOWrapper(archive.open("corpus_train.csv"), encoding="utf-8")))
        claims = list(
            csv.DictReader(io.TextIOWrapper(archive.open("claims_validation.csv"), encoding="utf-8"))
        )
    qrels: dict[int, set[int]] = defaultdict(set)
    with (folder / "qrels-test.tsv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if int(row["score"]) > 0:
                qrels[int(row["query-id"])].add(int(row["corpus-id"]))
    claim_text: dict[int, str] = {}
    for row in claims:
        claim_text.setdefault(int(row["id"]), row["claim"])
    query_ids = sorted(qrels)
    return SciFact(
        doc_ids=[int(row["doc_id"]) for row in corpus],
        doc_texts=[f"{row['title']} {' '.join(_sentences(row['abstract']))}".strip() for row in corpus],
        queries=[claim_text[q] for q in query_ids],
        relevant=[frozenset(qrels[q]) for q in query_ids],
    )


def _sentences(abstract: str) -> list[str]:
    return [ast.literal_eval(m.group()) for m in _LITERAL.finditer(abstract)]
