"""Helpers for the privacy tests (no tests here): scanning every table and every index file for text."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from answerdesk.models import Base
from answerdesk.runtime import Runtime

API = "/api/v1/privacy"


async def tables_containing(runtime: Runtime, needles: list[str]) -> dict[str, list[str]]:
    """Every table's string and JSON columns (of every organization) that still hold one of the needles."""
    found: dict[str, list[str]] = {}
    async with runtime.sessionmaker() as db:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, (sa.String, sa.JSON)):
                    continue
                rows = (
                    await db.execute(sa.select(sa.cast(column, sa.Text)).where(column.is_not(None)))
                ).all()
                for (value,) in rows:
                    text = value.lower()
                    decoded = _json_text(value).lower()
                    for needle in needles:
                        if needle.lower() in text or needle.lower() in decoded:
                            found.setdefault(needle, []).append(f"{table.name}.{column.name}")
    return found


def files_containing(root: Path, needles: list[str]) -> dict[str, list[str]]:
    """Files under ``root`` whose bytes hold one of the needles (UTF-8, case-insensitive)."""
    found: dict[str, list[str]] = {}
    for path in root.rglob("*") if root.exists() else []:
        if not path.is_file():
            continue
        data = path.read_bytes().lower()
        for needle in needles:
            if needle.lower().encode() in data:
                found.setdefault(needle, []).append(str(path.relative_to(root)))
    return found


def _json_text(value: str) -> str:
    # JSON columns keep non-ASCII characters escaped: compare with the decoded text too.
    try:
        return json.dumps(json.loads(value), ensure_ascii=False)
    except ValueError:
        return value


async def org_rows(runtime: Runtime, organization_id: uuid.UUID) -> dict[str, int]:
    """Rows of every table whose organization_id (or id, for the organization) is this organization's."""
    found: dict[str, int] = {}
    async with runtime.sessionmaker() as db:
        for table in Base.metadata.sorted_tables:
            column: Any = table.c.get("organization_id")
            if table.name == "organization":
                column = table.c.id
            if column is None:
                continue
            n = int(
                await db.scalar(
                    sa.select(sa.func.count()).select_from(table).where(column == organization_id)
                )
                or 0
            )
            if n:
                found[table.name] = n
    return found
