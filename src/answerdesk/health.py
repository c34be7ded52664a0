"""Liveness and readiness probes (public: they reveal nothing about tenants)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from answerdesk.auth.deps import RuntimeDep
from answerdesk.kit.errors import error_body
from answerdesk.kit.migrate import is_at_head

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(runtime: RuntimeDep) -> JSONResponse:
    try:
        async with runtime.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))
            at_head = await conn.run_sync(is_at_head)
    except Exception as exc:  # any driver error means "not ready"
        return JSONResponse(error_body("unavailable", f"Database unreachable: {type(exc).__name__}"), 503)
    if not at_head:
        return JSONResponse(
            error_body("unavailable", "Database migrations are not at head; run 'answerdesk migrate'."), 503
        )
    return JSONResponse({"status": "ready", "database": "ok", "migrations": "head"})
