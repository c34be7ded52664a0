"""Creating, finding and configuring organizations."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.kit.errors import Conflict, NotFound, ValidationFailed
from answerdesk.languages.names import LANGUAGE_NAMES, base_code
from answerdesk.tenants.models import Organization
from answerdesk.tenants.repository import OrganizationRepository
from answerdesk.tenants.schemas import SLUG_RE, OrganizationSettings, OrganizationUpdate


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:63].strip("-")


class OrganizationService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.repo = OrganizationRepository(db)

    async def create(self, name: str, slug: str | None = None) -> Organization:
        name = name.strip()
        if not name:
            raise ValidationFailed("Organization name must not be empty.")
        slug = (slug or slugify(name)).strip().lower()
        if not SLUG_RE.match(slug):
            raise ValidationFailed(
                f"Invalid slug {slug!r}: use lowercase letters, digits and dashes (1-63 characters)."
            )
        if await self.repo.by_slug(slug) is not None:
            raise Conflict(f"An organization with slug {slug!r} already exists.")
        org = self.repo.add(
            Organization(name=name, slug=slug, settings=OrganizationSettings().model_dump(mode="json"))
        )
        await self.db.flush()
        return org

    async def get(self, organization_id: uuid.UUID) -> Organization:
        org = await self.repo.get(organization_id)
        if org is None:
            raise NotFound("Organization not found.")
        return org

    async def by_slug(self, slug: str) -> Organization:
        org = await self.repo.by_slug(slug)
        if org is None:
            raise NotFound(f"No organization with slug {slug!r}.")
        return org

    async def list(self) -> Sequence[Organization]:
        return await self.repo.list()

    async def count(self) -> int:
        return await self.repo.count()

    def settings_of(self, org: Organization) -> OrganizationSettings:
        return OrganizationSettings.model_validate(org.settings or {})

    async def update(self, org: Organization, change: OrganizationUpdate) -> Organization:
        if change.name is not None:
            org.name = change.name.strip()
        if change.settings is not None:
            # Merge so that settings groups owned by other areas are kept.
            org.settings = {**(org.settings or {}), **change.settings.model_dump(mode="json")}
        await self.db.flush()
        return org


def org_language(org_settings: dict[str, Any] | None) -> str | None:
    """The organization's default language code, for customers whose language is unknown (None: not one
    we can name, so answers follow the customer's words)."""
    value = (org_settings or {}).get("default_language")
    code = base_code(value) if isinstance(value, str) else ""
    return code if code in LANGUAGE_NAMES else None
