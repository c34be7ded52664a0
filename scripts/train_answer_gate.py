"""Trains the answer gate (src/answerdesk/answers/gate_model.json) on our own labelled questions.

Run from the repo root:  .venv/bin/python scripts/train_answer_gate.py [--check]

Training material is written for this project and may train what ships (never Bitext or SciFact):
* the Northwind Hosting demo knowledge base (src/answerdesk/demo/content) with the labelled questions
  of tests/knowledge/golden_queries.json and bench/data/answer_threshold_cases.json (in scope: customer
  questions, FAQ paraphrases, near misses the guides answer; out of scope: general knowledge, other
  businesses, hosting topics it does not cover, chit-chat);
* the Velora cycle shop FAQ (bench/data/gate/cycleshop_*.json): paraphrases in, other domains and
  cycling topics it does not cover out;
* bench/data/gate/generic_out_of_scope.json, asked of both as out of scope.

Every question runs through the real retriever (hybrid search with FAQ-question vectors) and the gate's
features are read with ``answers.gate.evidence_of``, exactly as the pipeline does. A logistic regression
(class-balanced) over standardised features is fitted and written as JSON. ``--check`` only reports how
the shipped model does on this material. The two-page golden knowledge base (tests/answers/golden) and
the Bitext/SciFact sets of bench/answer_thresholds.py are kept out, to report on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydantic import SecretStr

from answerdesk.answers.gate import (
    MODEL_PATH,
    AnswerGate,
    Evidence,
    best_sentence_cosine,
    evidence_of,
    shipped_gate,
)
from answerdesk.answers.words import content_words
from answerdesk.config import Settings
from answerdesk.demo.seed import demo_files
from answerdesk.kit.db import session_scope
from answerdesk.kit.logging import configure_logging
from answerdesk.kit.migrate import upgrade_to_head
from answerdesk.knowledge.service import KnowledgeService
from answerdesk.knowledge.tasks import run_ingest
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "bench" / "data"
K = 5


@dataclass(frozen=True)
class LabelledKb:
    """A knowledge base (files as uploaded) and questions labelled in or out of its scope."""

    name: str
    files: list[tuple[str, bytes]]
    in_scope: list[str]
    out_of_scope: list[str]


@dataclass(frozen=True)
class Observed:
    kb: str
    query: str
    in_scope: bool
    evidence: Evidence


def _json(path: Path) -> dict[str, object] | list[object]:
    data: dict[str, object] | list[object] = json.loads(path.read_text(encoding="utf-8"))
    return data


def generic_out_of_scope() -> list[str]:
    data = _json(DATA / "gate" / "generic_out_of_scope.json")
    assert isinstance(data, dict) and isinstance(data["questions"], list)
    return [str(q) for q in data["questions"]]


def demo_kb() -> LabelledKb:
    golden = _json(REPO / "tests" / "knowledge" / "golden_queries.json")
    cases = _json(DATA / "answer_threshold_cases.json")
    assert isinstance(golden, list) and isinstance(cases, dict)
    inside = [g["query"] for g in golden if g["kind"] != "out_of_scope"]
    outside = [g["query"] for g in golden if g["kind"] == "out_of_scope"]
    inside += [*cases["in_scope"], *(p["query"] for p in cases["faq_positive"]), *cases["faq_negative"]]  # type: ignore[attr-defined]
    outside += [q for qs in cases["out_of_scope"].values() for q in qs]  # type: ignore[attr-defined]
    return LabelledKb("demo (Northwind Hosting)", demo_files(), inside, [*outside, *generic_out_of_scope()])


def cycleshop_kb() -> LabelledKb:
    questions = _json(DATA / "gate" / "cycleshop_questions.json")
    assert isinstance(questions, dict)
    faq = (DATA / "gate" / "cycleshop_faq.json").read_bytes()
    return LabelledKb(
        "cycle shop FAQ",
        [("cycleshop_faq.json", faq)],
        [p["query"] for p in questions["in_scope"]],  # type: ignore[attr-defined]
        [*questions["out_of_scope"], *generic_out_of_scope()],  # type: ignore[list-item]
    )


def training_kbs() -> list[LabelledKb]:
    return [demo_kb(), cycleshop_kb()]


async def seed(runtime: Runtime, files: Sequence[tuple[str, bytes]], name: str) -> uuid.UUID:
    """A new organization with ``files`` uploaded and ingested (documents or FAQ files, as staff would)."""
    async with session_scope(runtime.sessionmaker) as db:
        org_id = (await OrganizationService(db).create(name)).id
        service = KnowledgeService.of(db, runtime)
        ids = [(await service.upload(org_id, filename=n, data=d)).id for n, d in files]
    for doc_id in ids:
        await run_ingest(runtime, org_id, doc_id)
    return org_id


async def ask(runtime: Runtime, org_id: uuid.UUID, query: str, k: int = K) -> Evidence:
    """The gate's evidence for ``query``, searched the way the answer pipeline searches."""
    embedder = await runtime.embedder()
    vector = embedder.embed_query(query)
    async with runtime.sessionmaker() as db:
        found = await runtime.retriever.search(
            db, org_id, query, k=k, query_vector=vector, words=sorted(content_words(query))
        )
    return evidence_of(found, best_sentence_cosine(embedder, vector, found))


def bench_runtime(data: Path, model_cache: Path) -> Runtime:
    settings = Settings(
        env="test",
        data_dir=data,
        database_url=f"sqlite+aiosqlite:///{data / 'gate.db'}",
        secret_key=SecretStr("bench-" + "x" * 40),
        redis_url=None,
        model_cache_dir=model_cache,
    )
    upgrade_to_head(settings.database_url)
    return Runtime.build(settings)


async def observe(kbs: Sequence[LabelledKb], model_cache: Path) -> list[Observed]:
    rows: list[Observed] = []
    with tempfile.TemporaryDirectory() as tmp:
        runtime = await asyncio.to_thread(bench_runtime, Path(tmp), model_cache)
        try:
            for kb in kbs:
                org_id = await seed(runtime, kb.files, kb.name)
                for label, queries in ((True, kb.in_scope), (False, kb.out_of_scope)):
                    rows += [Observed(kb.name, q, label, await ask(runtime, org_id, q)) for q in queries]
        finally:
            await runtime.close()
    return rows


def fit(rows: Sequence[Observed]) -> AnswerGate:
    from sklearn.linear_model import LogisticRegression

    x = np.array([list(vars(r.evidence).values()) for r in rows], dtype=np.float64)
    y = np.array([r.in_scope for r in rows], dtype=np.int64)
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, class_weight="balanced", max_iter=1000)
    model.fit((x - mean) / scale, y)
    return AnswerGate(
        weights=tuple(round(float(w), 6) for w in model.coef_[0]),
        bias=round(float(model.intercept_[0]), 6),
        mean=tuple(round(float(m), 6) for m in mean),
        scale=tuple(round(float(s), 6) for s in scale),
    )


def report(rows: Sequence[Observed], gate: AnswerGate, cut: float = 0.5) -> None:
    for kb in dict.fromkeys(r.kb for r in rows):
        mine = [r for r in rows if r.kb == kb]
        inside = [r for r in mine if r.in_scope]
        outside = [r for r in mine if not r.in_scope]
        refused = sum(gate.probability(r.evidence) < cut for r in inside)
        answered = sum(gate.probability(r.evidence) >= cut for r in outside)
        print(
            f"  {kb:<26} in-scope refused {refused}/{len(inside)} ({refused / len(inside):.1%})"
            f"  out-of-scope answered {answered}/{len(outside)} ({answered / len(outside):.1%})"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report the shipped model; write nothing")
    parser.add_argument(
        "--model-cache",
        type=Path,
        default=Path(os.environ.get("ANSWERDESK_MODEL_CACHE_DIR", "var/models")),
        help="ONNX export of the embedding model (made on first use)",
    )
    args = parser.parse_args()
    configure_logging("WARNING")
    rows = asyncio.run(observe(training_kbs(), args.model_cache.resolve()))
    print(f"{len(rows)} labelled questions ({sum(r.in_scope for r in rows)} in scope)")
    if args.check:
        print("shipped gate on its training material (p >= 0.5 answers):")
        report(rows, shipped_gate())
        return
    gate = fit(rows)
    MODEL_PATH.write_text(json.dumps(gate.to_json(), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {MODEL_PATH.relative_to(REPO)}: {gate.to_json()}")
    print("fit on its training material (p >= 0.5 answers; optimistic, see bench/answer_thresholds.py):")
    report(rows, gate)


if __name__ == "__main__":
    main()
