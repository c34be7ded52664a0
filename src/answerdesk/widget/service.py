"""Reading and changing an organization's widget settings, and the public key its embed snippet shows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind
from answerdesk.auth.service import ApiKeyService
from answerdesk.kit.errors import NotFound
from answerdesk.tenants.models import Organization
from answerdesk.tenants.service import OrganizationService
from answerdesk.widget.schemas import WidgetConfigRead
from answerdesk.widget.settings import SETTINGS_KEY, WidgetSettings, widget_settings_of

# A public key is printed in every page that embeds the widget, so keeping the one the Widget page made is
# no disclosure; it lets that page show a snippet ready to copy (API keys are otherwise shown only once).
EMBED_KEY_SETTINGS_KEY = "widget_embed_key"
EMBED_KEY_NAME = "Website widget"


@dataclass(frozen=True)
class EmbedKey:
    id: uuid.UUID
    token: str
    allowed_origins: list[str]


class WidgetService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.orgs = OrganizationService(db)
        self.keys = ApiKeyService(db)

    async def get(self, organization_id: uuid.UUID) -> WidgetSettings:
        return widget_settings_of((await self.orgs.get(organization_id)).settings)

    async def config(self, organization_id: uuid.UUID) -> WidgetConfigRead:
        org = await self.orgs.get(organization_id)
        widget = widget_settings_of(org.settings)
        return WidgetConfigRead(**widget.model_dump(), organization_name=org.name)

    async def replace(self, organization_id: uuid.UUID, widget: WidgetSettings) -> WidgetSettings:
        org = await self.orgs.get(organization_id)
        self._store(org, SETTINGS_KEY, widget.model_dump(mode="json"))
        await self.db.flush()
        return widget

    async def embed_key(self, organization_id: uuid.UUID) -> EmbedKey | None:
        """The public key the Widget page made, while it is not revoked."""
        org = await self.orgs.get(organization_id)
        stored = (org.settings or {}).get(EMBED_KEY_SETTINGS_KEY) or {}
        try:
            key_id = uuid.UUID(str(stored.get("id")))
            key = await self.keys.get(organization_id, key_id)
        except (ValueError, NotFound):
            return None
        token = stored.get("key")
        if key.revoked_at is not None or not isinstance(token, str):
            return None
        return EmbedKey(id=key.id, token=token, allowed_origins=list(key.allowed_origins))

    async def create_embed_key(
        self,
        organization_id: uuid.UUID,
        origins: Sequence[str],
        *,
        actor_id: uuid.UUID | None = None,
        ip: str = "",
    ) -> EmbedKey:
        """A new public key for the listed origins, kept for the snippet; ``origins`` must be normalised."""
        key, token = await self.keys.create(
            organization_id,
            kind=ApiKeyKind.public,
            name=EMBED_KEY_NAME,
            allowed_origins=origins,
            actor_id=actor_id,
            ip=ip,
        )
        org = await self.orgs.get(organization_id)
        self._store(org, EMBED_KEY_SETTINGS_KEY, {"id": str(key.id), "key": token})
        await self.db.flush()
        return EmbedKey(id=key.id, token=token, allowed_origins=list(key.allowed_origins))

    async def ensure_embed_key(self, organization_id: uuid.UUID, origin: str) -> EmbedKey:
        """The kept key when it works from ``origin`` (normalised), else a new one for that origin."""
        current = await self.embed_key(organization_id)
        if current is not None and origin in current.allowed_origins:
            return current
        return await self.create_embed_key(organization_id, [origin])

    @staticmethod
    def _store(org: Organization, group: str, value: object) -> None:
        # A new dict, so SQLAlchemy sees the JSON column change; other settings groups are kept.
        org.settings = {**(org.settings or {}), group: value}
