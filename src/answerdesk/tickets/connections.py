"""The organization's WHMCS connection: save it (secrets sealed), test it, and build a client for it."""

from __future__ import annotations

import hashlib
import ipaddress
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.billing.models import Feature
from answerdesk.billing.service import BillingService
from answerdesk.integrations.whmcs import WhmcsClient, WhmcsConnectionCheck, api_endpoint, server_timezone
from answerdesk.kit.db import utcnow
from answerdesk.kit.errors import NotFound, ValidationFailed
from answerdesk.runtime import Runtime
from answerdesk.tickets.crypto import SecretBox
from answerdesk.tickets.models import WhmcsConnection
from answerdesk.tickets.repository import ConnectionRepository
from answerdesk.tickets.schemas import ConnectionTestRead, WhmcsConnectionRead, WhmcsConnectionUpdate

log = structlog.get_logger(__name__)
NO_CONNECTION = "This organization has no WHMCS connection; connect one first."
# Attributed to replies when neither the approving staff member nor the connection names an admin.
FALLBACK_ADMIN_USERNAME = "Answerdesk"


@dataclass(frozen=True)
class ClientSpec:
    """What is needed to build a WHMCS client, lifted out of a DB session (secrets already opened)."""

    organization_id: uuid.UUID
    url: str
    identifier: str | None
    secret: str | None
    legacy_username: str | None
    legacy_password_md5: str | None
    accesskey: str | None
    timeout: float
    # IANA name of the WHMCS server's zone: its zone-less dates are read in it.
    timezone: str = "UTC"

    def __repr__(self) -> str:
        return f"ClientSpec(organization_id={self.organization_id}, url={self.url!r})"

    def build(self) -> WhmcsClient:
        return WhmcsClient(
            self.url,
            self.identifier,
            self.secret,
            accesskey=self.accesskey,
            legacy_username=self.legacy_username,
            legacy_password_md5=self.legacy_password_md5,
            timeout=self.timeout,
            tz=server_timezone(self.timezone),
        )


class ConnectionService:
    def __init__(self, db: AsyncSession, runtime: Runtime) -> None:
        self.db = db
        self.runtime = runtime
        self.repo = ConnectionRepository(db)
        self.box = SecretBox(runtime.secret)

    async def get(self, organization_id: uuid.UUID, *, for_update: bool = False) -> WhmcsConnection:
        connection = await self.repo.get(organization_id, for_update=for_update)
        if connection is None:
            raise NotFound(NO_CONNECTION)
        return connection

    async def find(self, organization_id: uuid.UUID) -> WhmcsConnection | None:
        return await self.repo.get(organization_id)

    async def save(self, organization_id: uuid.UUID, body: WhmcsConnectionUpdate) -> WhmcsConnection:
        """Create or replace the connection; secrets not given keep their stored values."""
        await BillingService(self.db, self.runtime.settings).require_feature(organization_id, Feature.whmcs)
        url = self._check_url(body.url)
        connection = await self.repo.get(organization_id, for_update=True)
        if connection is None:
            connection = self.repo.add(WhmcsConnection(organization_id=organization_id, url=url))
        connection.url = url
        api_mode = bool(body.identifier or body.secret)
        legacy_mode = bool(body.legacy_username or body.legacy_password)
        if api_mode and legacy_mode:
            raise ValidationFailed(
                "Give either an API identifier and secret, or a legacy admin login, not both."
            )
        if api_mode:
            identifier = body.identifier or self._open(connection.identifier_sealed, "identifier")
            secret = body.secret or self._open(connection.secret_sealed, "secret")
            if not identifier or not secret:
                raise ValidationFailed("Both the API identifier and the API secret are needed.")
            connection.identifier_sealed = self.box.seal(identifier, field="identifier")
            connection.secret_sealed = self.box.seal(secret, field="secret")
            connection.legacy_username = connection.legacy_password_md5_sealed = None
            connection.credential_hint = (
                f"identifier …{identifier[-4:]}" if len(identifier) > 8 else "identifier"
            )
        elif legacy_mode:
            if not body.legacy_username or not (
                body.legacy_password or connection.legacy_password_md5_sealed
            ):
                raise ValidationFailed("Both the admin username and the admin password are needed.")
            if body.legacy_password:
                digest = hashlib.md5(body.legacy_password.encode(), usedforsecurity=False).hexdigest()
                connection.legacy_password_md5_sealed = self.box.seal(digest, field="legacy_password_md5")
            connection.legacy_username = body.legacy_username
            connection.identifier_sealed = connection.secret_sealed = None
            connection.credential_hint = f"admin {body.legacy_username}"
        elif connection.secret_sealed is None and connection.legacy_password_md5_sealed is None:
            raise ValidationFailed("Give the WHMCS API identifier and secret (or a legacy admin login).")
        previous_timezone = connection.timezone
        if body.accesskey is not None:
            connection.accesskey_sealed = (
                self.box.seal(body.accesskey, field="accesskey") if body.accesskey else None
            )
        for name in (
            "default_admin_username",
            "admin_usernames",
            "watched_department_ids",
            "ticket_status",
            "poll_interval_minutes",
            "timezone",
            "timeout_seconds",
            "enabled",
            "auto_update_ticket",
            "save_approved_as_faq",
            "auto_send",
        ):
            value = getattr(body, name)
            if value is not None:
                setattr(connection, name, value)
        if body.admin_usernames is not None:
            connection.admin_usernames = {
                k.strip().lower(): v.strip() for k, v in body.admin_usernames.items()
            }
        await self.db.flush()
        if previous_timezone and connection.timezone != previous_timezone:
            # Nothing to rewrite here: the zone is part of each ticket's sync fingerprint, so the next
            # sync re-reads the listed tickets and stores their times read in the new zone.
            log.info(
                "whmcs.timezone_changed",
                organization_id=str(organization_id),
                previous=previous_timezone,
                timezone=connection.timezone,
            )
        log.info("whmcs.connection_saved", organization_id=str(organization_id), url=url)
        return connection

    def spec(self, connection: WhmcsConnection) -> ClientSpec:
        return ClientSpec(
            organization_id=connection.organization_id,
            url=connection.url,
            identifier=self._open(connection.identifier_sealed, "identifier"),
            secret=self._open(connection.secret_sealed, "secret"),
            legacy_username=connection.legacy_username,
            legacy_password_md5=self._open(connection.legacy_password_md5_sealed, "legacy_password_md5"),
            accesskey=self._open(connection.accesskey_sealed, "accesskey"),
            timeout=connection.timeout_seconds,
            timezone=_checked_timezone(connection.timezone),
        )

    def _open(self, sealed: str | None, field: str) -> str | None:
        return self.box.open(sealed, field=field) if sealed else None

    def _check_url(self, url: str) -> str:
        try:
            api_endpoint(url)
        except ValueError as exc:
            raise ValidationFailed(str(exc), details=[{"loc": ["body", "url"]}]) from None
        parts = urlsplit(url.strip())
        if (
            parts.scheme == "http"
            and self.runtime.settings.env == "production"
            and not _is_loopback(parts.hostname)
        ):
            raise ValidationFailed(
                "Use https:// for WHMCS: the API credentials travel with every request.",
                details=[{"loc": ["body", "url"]}],
            )
        return url.strip().rstrip("/")


async def run_test(runtime: Runtime, spec: ClientSpec) -> WhmcsConnectionCheck:
    async with spec.build() as client:
        return await client.test_connection()


async def record_test(db: AsyncSession, connection: WhmcsConnection, check: WhmcsConnectionCheck) -> None:
    connection.last_test_at = utcnow()
    connection.last_test_ok = check.ok
    connection.last_test_message = check.message
    await db.flush()


def check_read(check: WhmcsConnectionCheck) -> ConnectionTestRead:
    return ConnectionTestRead(
        ok=check.ok,
        failure=check.failure,
        message=check.message,
        ip=check.ip,
        action=check.action,
        missing_actions=list(check.missing_actions),
    )


def connection_read(connection: WhmcsConnection) -> WhmcsConnectionRead:
    return WhmcsConnectionRead(
        url=connection.url,
        auth_mode="legacy" if connection.legacy_username else "api_credentials",
        credential_hint=connection.credential_hint,
        has_accesskey=connection.accesskey_sealed is not None,
        default_admin_username=connection.default_admin_username,
        admin_usernames=dict(connection.admin_usernames or {}),
        watched_department_ids=list(connection.watched_department_ids or []),
        ticket_status=connection.ticket_status,
        poll_interval_minutes=connection.poll_interval_minutes,
        timezone=connection.timezone,
        timeout_seconds=connection.timeout_seconds,
        enabled=connection.enabled,
        auto_update_ticket=connection.auto_update_ticket,
        save_approved_as_faq=connection.save_approved_as_faq,
        auto_send={k: float(v) for k, v in (connection.auto_send or {}).items()},
        departments={str(k): str(v) for k, v in (connection.departments or {}).items()},
        last_sync_at=connection.last_sync_at,
        last_sync_error=connection.last_sync_error,
        last_sync_counts=dict(connection.last_sync_counts or {}),
        sync_in_progress=connection.sync_cursor is not None,
        last_test_at=connection.last_test_at,
        last_test_ok=connection.last_test_ok,
        last_test_message=connection.last_test_message,
    )


def admin_username_for(connection: WhmcsConnection, approver_email: str | None) -> str:
    """The WHMCS admin a reply is attributed to: the approver's mapped username, else the default."""
    mapping = connection.admin_usernames or {}
    if approver_email and approver_email.strip().lower() in mapping:
        return str(mapping[approver_email.strip().lower()])
    return connection.default_admin_username or connection.legacy_username or FALLBACK_ADMIN_USERNAME


def _checked_timezone(name: str) -> str:
    """The stored zone, refused readably if this machine's time zone data no longer knows it."""
    try:
        server_timezone(name)
    except ValueError:
        raise ValidationFailed(
            f"The WHMCS time zone {name!r} is not known on this server; choose it again on Connect WHMCS."
        ) from None
    return name


def _is_loopback(host: str | None) -> bool:
    if host in (None, "localhost"):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
