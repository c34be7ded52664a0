"""Retrieval quality on the demo knowledge base: golden queries must find their document in the top 3."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.demo.seed import demo_files, seed_demo_knowledge
from answerdesk.runtime import Runtime
from tests.knowledge.ingest_support import make_kb

GOLDEN = json.loads(Path(__file__).with_name("golden_queries.json").read_text(encoding="utf-8"))
# A hit in the FAQ file answers a question as well as the guide it summarises.
ALSO_CORRECT = "faq.json"
MIN_TOP3 = 0.90


def summary(ranks: dict[str, list[int | None]]) -> str:
    """Top-1/top-3 per kind of query and overall, for the assertion message and the -v log."""
    lines = []
    everything = [r for kind in ranks.values() for r in kind]
    for kind, found in [*sorted(ranks.items()), ("all", everything)]:
        top1 = sum(r == 1 for r in found) / len(found)
        top3 = sum(r is not None for r in found) / len(found)
        lines.append(f"{kind:<11} n={len(found):>2}  top-1 {top1:.0%}  top-3 {top3:.0%}")
    return "\n".join(lines)


async def test_golden_queries_find_their_document(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    kb = await make_kb(client, db, runtime)
    # Seeded once, for every query below: the same uploads and ingest the demo organization gets.
    chunks = await seed_demo_knowledge(runtime, kb.organization_id)
    assert chunks > len(demo_files())
    assert {d["status"] for d in await kb.docs()} == {"ready"}

    ranks: dict[str, list[int | None]] = defaultdict(list)
    misses: list[str] = []
    for case in GOLDEN:
        if case["kind"] == "out_of_scope":
            continue  # whether to answer at all is decided elsewhere
        results: list[dict[str, Any]] = await kb.search(case["query"], k=3)
        sources = [r["source"] for r in results]
        rank = next((i for i, s in enumerate(sources, 1) if s in (case["expected"], ALSO_CORRECT)), None)
        ranks[case["kind"]].append(rank)
        if rank is None:
            misses.append(f"  {case['query']!r}: expected {case['expected']}, got {sources}")
    report = summary(ranks) + ("\nmissed:\n" + "\n".join(misses) if misses else "")
    print(report)
    found = [r for kind in ranks.values() for r in kind]
    assert len(found) >= 40, "the golden set shrank"
    assert sum(r is not None for r in found) / len(found) >= MIN_TOP3, report
