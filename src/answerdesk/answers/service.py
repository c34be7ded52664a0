"""Reading and changing an organization's AI settings, and describing the instance's answer mode."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.answers.settings import SETTINGS_KEY, AiSettings, ai_settings_of
from answerdesk.config import Settings
from answerdesk.tenants.service import OrganizationService


@dataclass(frozen=True)
class AnswerModeInfo:
    """What the admin shows about how answers are produced on this instance."""

    mode: str  # "llm" or "extractive"
    provider_host: str
    default_model: str
    default_fallback_model: str | None

    @property
    def is_llm(self) -> bool:
        return self.mode == "llm"


def answer_mode_info(settings: Settings) -> AnswerModeInfo:
    has_key = settings.llm_api_key is not None and bool(settings.llm_api_key.get_secret_value())
    return AnswerModeInfo(
        mode="llm" if has_key else "extractive",
        provider_host=urlsplit(settings.llm_base_url).hostname or settings.llm_base_url,
        default_model=settings.llm_model,
        default_fallback_model=settings.llm_fallback_model,
    )


class AiSettingsService:
    def __init__(self, db: AsyncSession) -> None:
        self.orgs = OrganizationService(db)
        self.db = db

    async def get(self, organization_id: uuid.UUID) -> AiSettings:
        return ai_settings_of((await self.orgs.get(organization_id)).settings)

    async def replace(self, organization_id: uuid.UUID, ai: AiSettings) -> AiSettings:
        org = await self.orgs.get(organization_id)
        # A new dict, so SQLAlchemy sees the JSON column change; other settings groups are kept.
        org.settings = {**(org.settings or {}), SETTINGS_KEY: ai.model_dump(mode="json")}
        await self.db.flush()
        return ai
