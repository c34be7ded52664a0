"""Per-process cache of API keys already verified, so that most API requests authenticate with no query.

An entry is what one database lookup established: the key exists, is not revoked, its organization is not
suspended (and, for the caller that asked, the plan includes API access). It is trusted for at most
``ANSWERDESK_API_KEY_CACHE_SECONDS`` (default 5 s). Revoking a key, suspending an organization or changing
its plan forgets the entries on the process that made the change (once its transaction commits), so there
it applies at once; other processes see it when their entry expires, within those few seconds.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from answerdesk.auth.service import Principal

# Enough for every key an instance's widgets and integrations use at once; the oldest go first past it.
MAX_ENTRIES = 10_000


@dataclass
class CachedKey:
    principal: Principal
    allowed_origins: list[str]
    last_used_at: datetime | None  # as this process last wrote or read it
    checked: bool  # the extra check of the caller that filled the entry passed (API access in the plan)
    expires_at: float  # time.monotonic()


class ApiKeyCache:
    def __init__(self, ttl_seconds: float, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, CachedKey] = OrderedDict()

    def get(self, key_hash: str) -> CachedKey | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if entry.expires_at <= time.monotonic():
            del self._entries[key_hash]
            return None
        return entry

    def put(
        self,
        key_hash: str,
        principal: Principal,
        *,
        allowed_origins: list[str],
        last_used_at: datetime | None,
        checked: bool,
    ) -> None:
        if self.ttl <= 0:
            return
        self._entries[key_hash] = CachedKey(
            principal, list(allowed_origins), last_used_at, checked, time.monotonic() + self.ttl
        )
        self._entries.move_to_end(key_hash)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def forget(self, *, key_id: uuid.UUID | None = None, organization_id: uuid.UUID | None = None) -> None:
        """Drops the entries of a key, or of every key of an organization."""
        gone = [
            h
            for h, e in self._entries.items()
            if (key_id is not None and e.principal.api_key_id == key_id)
            or (organization_id is not None and e.principal.organization_id == organization_id)
        ]
        for h in gone:
            del self._entries[h]

    def forget_on_commit(
        self,
        db: AsyncSession,
        *,
        key_id: uuid.UUID | None = None,
        organization_id: uuid.UUID | None = None,
    ) -> None:
        """Forgets now and again when ``db`` commits: a request that read the old row in between (and
        cached it) must not keep it once the change is visible."""
        self.forget(key_id=key_id, organization_id=organization_id)

        def forget_again(_session: Session, *_: Any) -> None:
            self.forget(key_id=key_id, organization_id=organization_id)

        event.listen(db.sync_session, "after_commit", forget_again, once=True)
