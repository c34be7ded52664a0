"""JSON API: the organization's AI settings and the instance's answer mode."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from answerdesk.answers.service import AiSettingsService, answer_mode_info
from answerdesk.answers.settings import AiSettings
from answerdesk.auth.deps import AdminPrincipal, DbSession, RuntimeDep

router = APIRouter(prefix="/ai-settings", tags=["ai settings"])


class AiSettingsRead(BaseModel):
    settings: AiSettings
    mode: str
    provider_host: str
    default_model: str
    default_fallback_model: str | None


async def _read(db: DbSession, runtime: RuntimeDep, principal: AdminPrincipal) -> AiSettingsRead:
    info = answer_mode_info(runtime.settings)
    return AiSettingsRead(
        settings=await AiSettingsService(db).get(principal.organization_id),
        mode=info.mode,
        provider_host=info.provider_host,
        default_model=info.default_model,
        default_fallback_model=info.default_fallback_model,
    )


@router.get("", response_model=AiSettingsRead)
async def get_ai_settings(principal: AdminPrincipal, db: DbSession, runtime: RuntimeDep) -> AiSettingsRead:
    return await _read(db, runtime, principal)


@router.put("", response_model=AiSettingsRead)
async def put_ai_settings(
    body: AiSettings, principal: AdminPrincipal, db: DbSession, runtime: RuntimeDep
) -> AiSettingsRead:
    await AiSettingsService(db).replace(principal.organization_id, body)
    return await _read(db, runtime, principal)
