"""German questions against the English demo knowledge base: how much retrieval loses, and the LLM rewrite.

bench/data/german_questions.json holds German translations of 20 golden questions (tests/knowledge/
golden_queries.json gives each one's document). Three runs over the demo knowledge base (Northwind Hosting),
each counting hit@1 and hit@5 (the expected document among the top passages) and the best dense cosine
(what the relevance gate compares with its threshold):

1. the English originals (the reference);
2. the German questions searched as written: what an instance without an LLM does (all-MiniLM-L6-v2 is an
   English model; BM25 only matches words the languages share, like "MX", "IPS" or ".eu");
3. the German questions through the answer pipeline with an LLM: the standalone-query step is asked to
   translate into the knowledge base's language. The model is tests/fakes/openai_server.py on 127.0.0.1,
   scripted to reply with the golden English question: this measures the plumbing (the pipeline asks, the
   search uses the answer), not the quality of any real model's translation.

Run: `PYTHONPATH=src:. .venv/bin/python bench/cross_lingual.py`. The first run exports the ONNX model into
--model-cache (minutes); later runs take well under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.kb_fixture import DEFAULT_MODEL_CACHE
from pydantic import SecretStr
from tests.fakes.openai_server import FakeOpenAIServer

from answerdesk.answers.pipeline import AnswerPipeline, AnswerRequest, AnswerResult
from answerdesk.answers.settings import AiSettings
from answerdesk.config import Settings
from answerdesk.demo.seed import seed_demo_knowledge
from answerdesk.kit.db import session_scope
from answerdesk.kit.logging import configure_logging
from answerdesk.kit.migrate import upgrade_to_head
from answerdesk.runtime import Runtime
from answerdesk.tenants.service import OrganizationService

REPO = Path(__file__).resolve().parents[1]
QUESTIONS = Path(__file__).with_name("data") / "german_questions.json"
GOLDEN = REPO / "tests" / "knowledge" / "golden_queries.json"


@dataclass(frozen=True)
class Outcome:
    sources: list[str]  # the retrieved passages' documents, best first
    best_dense: float
    query: str


def cases() -> list[tuple[str, str, str]]:
    """(English question, German question, expected document)."""
    golden = {g["query"]: g["expected"] for g in json.loads(GOLDEN.read_text(encoding="utf-8"))}
    questions: list[dict[str, str]] = json.loads(QUESTIONS.read_text(encoding="utf-8"))["questions"]
    return [(q["en"], q["de"], golden[q["en"]]) for q in questions]


async def search(runtime: Runtime, org_id: Any, query: str, k: int) -> Outcome:
    async with runtime.sessionmaker() as db:
        found = await runtime.retriever.search(db, org_id, query, k=k)
    return Outcome(
        [r.hit.source for r in found], max((r.dense_score or 0.0 for r in found), default=0.0), query
    )


async def through_pipeline(
    runtime: Runtime, fake: FakeOpenAIServer, org_id: Any, german: str, english: str, k: int
) -> Outcome:
    fake.reset()
    fake.replies = [english, "Antwort [1]."]  # the "translation", then the answer
    request = AnswerRequest(
        organization_id=org_id,
        organization_name="Northwind Hosting",
        question=german,
        history=[],
        ai=AiSettings(model="fake/ok", retrieval_k=k),
        language="de",
    )
    result: AnswerResult | None = None
    async for event in AnswerPipeline(runtime).run(request):
        if isinstance(event, AnswerResult):
            result = event
    assert result is not None
    dense = [p.dense_score or 0.0 for p in result.passages]
    return Outcome([p.source for p in result.passages], max(dense, default=0.0), result.query)


def report(name: str, outcomes: Sequence[Outcome], expected: Sequence[str], threshold: float) -> None:
    n = len(outcomes)
    hit1 = sum(1 for o, e in zip(outcomes, expected, strict=True) if o.sources[:1] == [e])
    hit5 = sum(1 for o, e in zip(outcomes, expected, strict=True) if e in o.sources[:5])
    gated = sum(1 for o in outcomes if o.best_dense >= threshold)
    mean = sum(o.best_dense for o in outcomes) / n
    print(
        f"{name:<44} hit@1 {hit1:>2}/{n}  hit@5 {hit5:>2}/{n}  "
        f"best cosine mean {mean:.3f}, >= gate {threshold}: {gated:>2}/{n}"
    )


async def run(model_cache: Path, k: int) -> None:
    rows = cases()
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAIServer() as fake:
        data = Path(tmp)
        settings = Settings(
            env="test",
            data_dir=data,
            database_url=f"sqlite+aiosqlite:///{data / 'bench.db'}",
            secret_key=SecretStr("bench-" + "x" * 40),
            redis_url=None,
            model_cache_dir=model_cache,
            llm_base_url=fake.base_url,
            llm_api_key=SecretStr("bench"),
        )
        await asyncio.to_thread(upgrade_to_head, settings.database_url)
        runtime = Runtime.build(settings)
        try:
            async with session_scope(runtime.sessionmaker) as db:
                org_id = (await OrganizationService(db).create("Northwind Hosting (bench)")).id
            chunks = await seed_demo_knowledge(runtime, org_id)
            async with session_scope(runtime.sessionmaker) as db:
                language = await runtime.knowledge_languages.of(db, org_id)
            print(
                f"demo knowledge base: {chunks} chunks, language {language!r}; {len(rows)} questions, k={k}\n"
            )
            english = [await search(runtime, org_id, en, k) for en, _, _ in rows]
            german = [await search(runtime, org_id, de, k) for _, de, _ in rows]
            rewritten = [await through_pipeline(runtime, fake, org_id, de, en, k) for en, de, _ in rows]
        finally:
            await runtime.close()
    expected = [e for _, _, e in rows]
    threshold = AiSettings().relevance_threshold
    report("English originals (reference)", english, expected, threshold)
    report("German as written (no LLM)", german, expected, threshold)
    report("German, LLM rewrite to English (scripted)", rewritten, expected, threshold)
    used = sum(1 for o, (en, _, _) in zip(rewritten, rows, strict=True) if o.query == en)
    print(f"\nthe pipeline searched with the model's English query for {used}/{len(rows)} questions")
    print("German questions whose document was not in the top 5 when searched as written:")
    for o, (_, de, e) in zip(german, rows, strict=True):
        if e not in o.sources[:5]:
            print(f"  {de!r}: expected {e}, got {o.sources[:3]}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--k", type=int, default=5, help="retrieved chunks per question")
    parser.add_argument(
        "--model-cache",
        type=Path,
        default=DEFAULT_MODEL_CACHE,
        help="ONNX export of the embedding model (made on first use)",
    )
    args = parser.parse_args()
    configure_logging("WARNING")
    asyncio.run(run(args.model_cache.resolve(), args.k))


if __name__ == "__main__":
    main()
