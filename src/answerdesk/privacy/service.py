"""GDPR: one customer's data exported or erased; retention; an organization exported in full or deleted.

What a customer's erasure removes (by their e-mail, within one organization):

* conversations whose contact e-mail is theirs, with every message, the retrieval traces in the messages'
  ``details``, the contact fields (name, e-mail, phone), the rating and its comment, and their thumbs up or
  down on the bot's answers (reason, comment);
* tickets whose client e-mail is theirs (native ones and local copies of WHMCS ones), with every reply and
  note, every AI draft and the drafts' retrieval traces;
* every row of any table pointing at those conversations, messages, tickets or drafts, even where the key
  is SET NULL (rows made from their words, such as approved replies kept as drafting examples);
* FAQs made from those tickets' replies (``tickets.faq``; found through the drafts' traces), with their
  chunks, vectors and index entries;
* then a sweep of every other text and JSON column of the organization's rows, in every table (found through
  the metadata, so tables added later are covered: feedback comments, analytics, examples, audit targets),
  replacing the e-mail, the phone number and every sentence the customer wrote with "[erased]". The
  knowledge base's own documents are left alone (they are the organization's published content).

WHMCS itself is never changed. The erased WHMCS tickets' ids are remembered (``ErasedTicket``: the id only),
so the sync does not import them again; a new ticket the customer opens later is imported as usual.
"""

from __future__ import annotations

import hashlib
import io
import json
import uuid
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.service import AuditService
from answerdesk.integrations.storage import ObjectNotFound
from answerdesk.kit.db import session_scope, utcnow
from answerdesk.kit.errors import Conflict, NotFound, ValidationFailed
from answerdesk.kit.jobs import enqueue_after_commit
from answerdesk.knowledge.phrasings import PhrasingService
from answerdesk.knowledge.repository import FaqPhrasingRepository
from answerdesk.knowledge.sentences import split_sentences
from answerdesk.knowledge.service import KnowledgeService
from answerdesk.privacy.models import ExportStatus, OrganizationExport
from answerdesk.privacy.repository import PrivacyRepository, customer_texts, jsonable, tenant_tables
from answerdesk.privacy.schemas import (
    SETTINGS_KEY,
    CustomerExport,
    ErasureRead,
    OrganizationDeleted,
    PrivacySettings,
    normalise_email,
)
from answerdesk.tenants.models import Organization
from answerdesk.tenants.service import OrganizationService
from answerdesk.tickets.faq import FAQ_TRACE_KEY

if TYPE_CHECKING:
    from answerdesk.runtime import Runtime

log = structlog.get_logger(__name__)

EXPORT_TASK = "privacy.export_organization"
REFRESH_INDEX_TASK = "privacy.refresh_index"
ERASED = "[erased]"
# Shorter texts ("thanks", "yes please") say nothing about anyone and would blank other people's words too.
MIN_QUOTE_CHARS = 20
MAX_QUOTES = 2_000
# Rows deleted per statement by the retention job: bounded IN lists on both databases.
RETENTION_BATCH = 500
EXPORT_FORMAT = 1
# An export still queued or running after this (the job's own limit is an hour) was interrupted.
STUCK_EXPORT_AFTER = timedelta(hours=2)


def email_hash(email: str) -> str:
    """How audits name a customer: their e-mail would otherwise outlive its erasure in the audit log."""
    return "sha256:" + hashlib.sha256(normalise_email(email).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Actor:
    """Who asked: a logged-in user or an API key, from which address (for the audit log)."""

    user_id: uuid.UUID | None
    api_key_id: uuid.UUID | None = None
    ip: str = ""

    def details(self) -> dict[str, Any]:
        return {"api_key_id": str(self.api_key_id)} if self.api_key_id else {}


def quotes_of(texts: Sequence[str]) -> list[str]:
    """The customer's texts as the sweep looks for them: whole, and sentence by sentence."""
    found: list[str] = []
    for text in texts:
        for piece in (text.strip(), *split_sentences(text)):
            piece = piece.strip()
            if len(piece) >= MIN_QUOTE_CHARS:
                found.append(piece)
    return list(dict.fromkeys(found))[:MAX_QUOTES]


def _faq_of(trace: Any) -> uuid.UUID | None:
    """The FAQ document a sent reply was saved as (tickets.faq keeps its id in the draft's trace)."""
    raw = trace.get(FAQ_TRACE_KEY) if isinstance(trace, dict) else None
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


class CustomerPrivacyService:
    """One customer's data within one organization, found by their e-mail address."""

    def __init__(self, db: AsyncSession, runtime: Runtime) -> None:
        self.db = db
        self.runtime = runtime
        self.repo = PrivacyRepository(db)

    async def export(self, organization_id: uuid.UUID, email: str, actor: Actor) -> CustomerExport:
        email = normalise_email(email)
        org = await OrganizationService(self.db).get(organization_id)
        conversations = await self.repo.conversations_of(organization_id, email)
        tickets = await self.repo.tickets_of(organization_id, email)
        messages = await self.repo.messages_of(organization_id, [c.id for c in conversations])
        ticket_messages = await self.repo.ticket_messages_of(organization_id, [t.id for t in tickets])
        feedback = await self.repo.feedback_of(organization_id, [c.id for c in conversations])
        seq_of = {m.id: m.seq for m in messages}
        by_conversation: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for m in messages:
            by_conversation.setdefault(m.conversation_id, []).append(
                {
                    "seq": m.seq,
                    "sender": m.sender,
                    "content": m.content,
                    "language": m.language,
                    "created_at": jsonable(m.created_at),
                }
            )
        by_ticket: dict[uuid.UUID, list[dict[str, Any]]] = {}
        for tm in ticket_messages:
            by_ticket.setdefault(tm.ticket_id, []).append(
                {
                    "author": tm.author,
                    "author_name": tm.author_name,
                    "content": tm.content,
                    "created_at": jsonable(tm.created_at),
                }
            )
        names = [c.customer_name for c in conversations] + [t.client_name for t in tickets]
        phones = [c.customer_phone for c in conversations]
        AuditService(self.db).record(
            "privacy.customer_exported",
            organization_id=organization_id,
            actor_id=actor.user_id,
            target=email_hash(email),
            ip=actor.ip,
            details={**actor.details(), "conversations": len(conversations), "tickets": len(tickets)},
        )
        await self.db.flush()
        return {
            "format": EXPORT_FORMAT,
            "email": email,
            "organization": {"id": str(org.id), "name": org.name},
            "exported_at": jsonable(utcnow()),
            "contact": {
                "names": sorted({n for n in names if n}),
                "emails": sorted(
                    {
                        e
                        for e in [
                            *(c.customer_email for c in conversations),
                            *(t.client_email for t in tickets),
                        ]
                        if e
                    }
                ),
                "phones": sorted({p for p in phones if p}),
            },
            "conversations": [
                {
                    "id": str(c.id),
                    "channel": c.channel,
                    "status": c.status,
                    "created_at": jsonable(c.created_at),
                    "last_message_at": jsonable(c.last_message_at),
                    "customer_name": c.customer_name,
                    "customer_email": c.customer_email,
                    "customer_phone": c.customer_phone,
                    "language": c.language,
                    "rating": c.rating,
                    "rating_comment": c.rating_comment,
                    "messages": by_conversation.get(c.id, []),
                }
                for c in conversations
            ],
            "ratings": [
                {"conversation_id": str(c.id), "rating": c.rating, "comment": c.rating_comment}
                for c in conversations
                if c.rating is not None or c.rating_comment
            ],
            # Thumbs up or down on the bot's answers, with the reason and comment they gave.
            "answer_feedback": [
                {
                    "conversation_id": str(f.conversation_id),
                    "message_seq": seq_of.get(f.message_id),
                    "helpful": f.helpful,
                    "reason": f.reason,
                    "comment": f.comment,
                    "created_at": jsonable(f.created_at),
                }
                for f in feedback
            ],
            "tickets": [
                {
                    "id": str(t.id),
                    "source": t.source,
                    "number": t.tid,
                    "subject": t.subject,
                    "status": t.status,
                    "priority": t.priority,
                    "department": t.department,
                    "client_name": t.client_name,
                    "client_email": t.client_email,
                    "created_at": jsonable(t.created_at),
                    "messages": by_ticket.get(t.id, []),
                }
                for t in tickets
            ],
        }

    async def erase(self, organization_id: uuid.UUID, email: str, actor: Actor) -> ErasureRead:
        """Deletes or irreversibly rewrites everything held about the customer (see the module docstring)."""
        email = normalise_email(email)
        await OrganizationService(self.db).get(organization_id)
        conversations = await self.repo.conversations_of(organization_id, email)
        tickets = await self.repo.tickets_of(organization_id, email)
        conversation_ids = [c.id for c in conversations]
        ticket_ids = [t.id for t in tickets]
        messages = await self.repo.messages_of(organization_id, conversation_ids)
        ticket_messages = await self.repo.ticket_messages_of(organization_id, ticket_ids)
        drafts = await self.repo.drafts_of(organization_id, ticket_ids)

        texts = customer_texts(messages, ticket_messages)
        texts += [c.rating_comment for c in conversations if c.rating_comment]
        texts += [t.subject for t in tickets if t.subject]
        needles = [email, *quotes_of(texts)]
        needles += [p.strip() for c in conversations if (p := c.customer_phone) and len(p.strip()) >= 7]
        faq_ids = {doc_id for d in drafts if (doc_id := _faq_of(d.trace)) is not None}
        ratings = sum(1 for c in conversations if c.rating is not None or c.rating_comment)

        knowledge = KnowledgeService.of(self.db, self.runtime)
        deleted_faqs = 0
        for doc_id in sorted(faq_ids):
            try:
                await knowledge.delete(organization_id, doc_id)
                deleted_faqs += 1
            except NotFound:
                pass  # deleted by staff since
        # FAQ phrasings learned from their questions go too; their FAQs are re-ingested without them.
        relearn = await FaqPhrasingRepository(self.db).documents_of_messages(
            organization_id, [m.id for m in messages]
        )
        # Rows made from theirs (examples kept from an approved reply, feedback, phrasings) go with them.
        await self.repo.delete_conversations(organization_id, conversation_ids, derived=True)
        await self.repo.delete_tickets(organization_id, ticket_ids, derived=True)
        self.repo.remember_erased(organization_id, tickets)
        scrubbed = await self.repo.scrub(organization_id, needles, ERASED)
        phrasings = PhrasingService(self.db, self.runtime)
        for doc_id in sorted(relearn - faq_ids):
            await phrasings.reingest(organization_id, doc_id)
        result = ErasureRead(
            email_hash=email_hash(email),
            conversations=len(conversations),
            messages=len(messages),
            ratings=ratings,
            tickets=len(tickets),
            ticket_messages=len(ticket_messages),
            drafts=len(drafts),
            faq_documents=deleted_faqs,
            scrubbed=scrubbed,
        )
        AuditService(self.db).record(
            "privacy.customer_erased",
            organization_id=organization_id,
            actor_id=actor.user_id,
            target=result.email_hash,
            ip=actor.ip,
            details={**actor.details(), **result.model_dump(exclude={"email_hash"})},
        )
        await self.db.flush()
        if deleted_faqs:
            # The saved index files still hold the FAQs' words until a refresh writes the next snapshot.
            enqueue_after_commit(
                self.db, self.runtime.jobs, REFRESH_INDEX_TASK, organization_id=str(organization_id)
            )
        log.info("privacy.customer_erased", organization_id=str(organization_id), **result.model_dump())
        return result


async def erased_ticket_ids(
    db: AsyncSession, organization_id: uuid.UUID, source: str, external_ids: Sequence[str]
) -> set[str]:
    """Which of these external tickets were erased with their customer (the WHMCS sync skips them)."""
    return await PrivacyRepository(db).erased_external_ids(organization_id, source, external_ids)


class PrivacySettingsService:
    def __init__(self, db: AsyncSession) -> None:
        self.db = db
        self.orgs = OrganizationService(db)

    @staticmethod
    def of(org_settings: dict[str, Any] | None) -> PrivacySettings:
        raw = (org_settings or {}).get(SETTINGS_KEY) or {}
        try:
            return PrivacySettings.model_validate(raw if isinstance(raw, dict) else {})
        except ValueError:
            return PrivacySettings()

    async def get(self, organization_id: uuid.UUID) -> PrivacySettings:
        return self.of((await self.orgs.get(organization_id)).settings)

    async def set_retention(
        self, organization_id: uuid.UUID, days: int | None, actor: Actor
    ) -> PrivacySettings:
        org = await self.orgs.get(organization_id)
        current = self.of(org.settings)
        updated = PrivacySettings.model_validate({**current.model_dump(), "retention_days": days})
        # Merge: other areas keep their own groups in the same JSON.
        org.settings = {**(org.settings or {}), SETTINGS_KEY: updated.model_dump(mode="json")}
        AuditService(self.db).record(
            "privacy.retention_changed",
            organization_id=organization_id,
            actor_id=actor.user_id,
            ip=actor.ip,
            details={**actor.details(), "from": current.retention_days, "to": days},
        )
        await self.db.flush()
        return updated


async def apply_retention(runtime: Runtime) -> dict[str, dict[str, int]]:
    """Deletes conversations and native tickets older than each organization's retention (the nightly job).

    One transaction per organization, so one failing organization does not keep the others' data.
    """
    now = utcnow()
    async with session_scope(runtime.sessionmaker) as db:
        orgs = await PrivacyRepository(db).organizations_with_settings()
    done: dict[str, dict[str, int]] = {}
    for org_id, org_settings in orgs:
        days = PrivacySettingsService.of(org_settings).retention_days
        if not days:
            continue
        before = now - timedelta(days=days)
        async with session_scope(runtime.sessionmaker) as db:
            repo = PrivacyRepository(db)
            conversations = list(await repo.old_conversation_ids(org_id, before))
            tickets = list(await repo.old_native_ticket_ids(org_id, before))
            for start in range(0, len(conversations), RETENTION_BATCH):
                await repo.delete_conversations(org_id, conversations[start : start + RETENTION_BATCH])
            for start in range(0, len(tickets), RETENTION_BATCH):
                await repo.delete_tickets(org_id, tickets[start : start + RETENTION_BATCH])
            if conversations or tickets:
                AuditService(db).record(
                    "privacy.retention_applied",
                    organization_id=org_id,
                    details={"days": days, "conversations": len(conversations), "tickets": len(tickets)},
                )
        if conversations or tickets:
            done[str(org_id)] = {"conversations": len(conversations), "tickets": len(tickets)}
            log.info("privacy.retention_applied", organization_id=str(org_id), days=days, **done[str(org_id)])
    return done


def export_key(organization_id: uuid.UUID, export_id: uuid.UUID) -> str:
    # Under the organization's prefix: deleting the organization deletes its exports too.
    return f"org/{organization_id}/exports/{export_id}.zip"


class OrganizationExportService:
    def __init__(self, db: AsyncSession, runtime: Runtime) -> None:
        self.db = db
        self.runtime = runtime
        self.repo = PrivacyRepository(db)

    async def request(self, organization_id: uuid.UUID, actor: Actor) -> OrganizationExport:
        await OrganizationService(self.db).get(organization_id)
        running = []
        for e in await self.repo.exports(organization_id):
            if e.status not in (ExportStatus.queued, ExportStatus.running):
                continue
            if e.created_at < utcnow() - STUCK_EXPORT_AFTER:  # its job died with a restart: let a new one go
                e.status, e.error, e.finished_at = ExportStatus.failed, "Interrupted.", utcnow()
            else:
                running.append(e)
        if running:
            raise Conflict("An export of this organization is already being made.", code="export_running")
        export = self.repo.add_export(
            OrganizationExport(organization_id=organization_id, requested_by_user_id=actor.user_id)
        )
        await self.db.flush()
        AuditService(self.db).record(
            "privacy.organization_export_requested",
            organization_id=organization_id,
            actor_id=actor.user_id,
            target=str(export.id),
            ip=actor.ip,
            details=actor.details(),
        )
        enqueue_after_commit(
            self.db,
            self.runtime.jobs,
            EXPORT_TASK,
            organization_id=str(organization_id),
            export_id=str(export.id),
        )
        return export

    async def list(self, organization_id: uuid.UUID) -> Sequence[OrganizationExport]:
        return await self.repo.exports(organization_id)

    async def get(self, organization_id: uuid.UUID, export_id: uuid.UUID) -> OrganizationExport:
        export = await self.repo.export(organization_id, export_id)
        if export is None:
            raise NotFound("Export not found.")
        return export

    async def download(
        self, organization_id: uuid.UUID, export_id: uuid.UUID, actor: Actor
    ) -> tuple[str, bytes]:
        export = await self.get(organization_id, export_id)
        if export.status != ExportStatus.ready or export.storage_key is None:
            raise Conflict("This export is not ready.", code="export_not_ready")
        if export.expires_at is not None and export.expires_at <= utcnow():
            raise NotFound("This export has expired.")
        try:
            data = await self.runtime.storage.get(export.storage_key)
        except ObjectNotFound:
            raise NotFound("This export has expired.") from None
        AuditService(self.db).record(
            "privacy.organization_export_downloaded",
            organization_id=organization_id,
            actor_id=actor.user_id,
            target=str(export.id),
            ip=actor.ip,
            details=actor.details(),
        )
        await self.db.flush()
        stamp = export.created_at.strftime("%Y%m%d-%H%M")
        return f"answerdesk-export-{stamp}.zip", data


async def build_organization_export(
    runtime: Runtime, organization_id: uuid.UUID, export_id: uuid.UUID
) -> None:
    """The export job: every row of the organization as JSON, one file per table, and the originals."""
    async with session_scope(runtime.sessionmaker) as db:
        export = await PrivacyRepository(db).export(organization_id, export_id)
        if export is None or export.status not in (ExportStatus.queued, ExportStatus.running):
            return
        export.status = ExportStatus.running
    try:
        data = await _export_zip(runtime, organization_id)
        key = export_key(organization_id, export_id)
        await runtime.storage.put(key, data, content_type="application/zip")
    except Exception as exc:
        log.warning("privacy.export_failed", organization_id=str(organization_id), error=str(exc))
        async with session_scope(runtime.sessionmaker) as db:
            export = await PrivacyRepository(db).export(organization_id, export_id)
            if export is not None:
                export.status, export.error, export.finished_at = (
                    ExportStatus.failed,
                    str(exc)[:2000],
                    utcnow(),
                )
        return
    async with session_scope(runtime.sessionmaker) as db:
        export = await PrivacyRepository(db).export(organization_id, export_id)
        if export is None:  # the organization was deleted meanwhile
            await runtime.storage.delete(key)
            return
        now = utcnow()
        export.status, export.storage_key, export.size_bytes = ExportStatus.ready, key, len(data)
        export.finished_at = now
        export.expires_at = now + timedelta(hours=runtime.settings.privacy_export_expiry_hours)
    log.info("privacy.export_ready", organization_id=str(organization_id), bytes=len(data))


async def _export_zip(runtime: Runtime, organization_id: uuid.UUID) -> bytes:
    buffer = io.BytesIO()
    originals: list[tuple[str, str]] = []
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        async with session_scope(runtime.sessionmaker) as db:
            repo = PrivacyRepository(db)
            org = await db.get(Organization, organization_id)
            if org is None:
                raise NotFound("Organization not found.")
            about = {"format": EXPORT_FORMAT, "id": str(org.id), "name": org.name, "slug": org.slug}
            about |= {"settings": org.settings, "created_at": jsonable(org.created_at)}
            zf.writestr("organization.json", _json({**about, "exported_at": jsonable(utcnow())}))
            zf.writestr("members.json", _json(await repo.members(organization_id)))
            for tenant in tenant_tables():
                if tenant.detach_only or tenant.table.name in {"auth_session", "organization_export"}:
                    continue
                rows = await repo.rows_of_table(tenant, organization_id)
                zf.writestr(f"tables/{tenant.table.name}.json", _json(rows))
                if tenant.table.name == "document":
                    originals = [(str(r["id"]), str(r["storage_key"])) for r in rows if r.get("storage_key")]
        for document_id, key in originals:
            try:
                content = await runtime.storage.get(key)
            except ObjectNotFound:
                continue  # a document deleted while the export ran
            zf.writestr(f"files/{document_id}/{PurePosixPath(key).name}", content)
    return buffer.getvalue()


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str)


async def expire_exports(runtime: Runtime) -> int:
    """Deletes exports past their expiry: the zip, then the row."""
    async with session_scope(runtime.sessionmaker) as db:
        repo = PrivacyRepository(db)
        expired = list(await repo.expired_exports(utcnow()))
        for export in expired:
            if export.storage_key:
                await runtime.storage.delete(export.storage_key)
            await repo.delete_export(export)
    return len(expired)


@dataclass(frozen=True)
class DeletedRows:
    organization_id: uuid.UUID
    rows: dict[str, int]
    user_ids: list[uuid.UUID]


class OrganizationDeletionService:
    """Deleting an organization: every row, vector, index file and stored object, once its name is typed.

    Two steps around the caller's commit: :meth:`delete_rows` in the request's session (which may already hold
    locks on the organization's rows, such as its API key's last use), then :meth:`purge` once the rows are
    gone for good, so files and objects never go while the rows could still be rolled back.
    """

    def __init__(self, db: AsyncSession, runtime: Runtime) -> None:
        self.db = db
        self.runtime = runtime

    async def delete_rows(self, organization_id: uuid.UUID, confirm_name: str, actor: Actor) -> DeletedRows:
        org = await OrganizationService(self.db).get(organization_id)
        if confirm_name.strip() != org.name.strip():
            raise ValidationFailed(
                "Type the organization's name exactly to delete it.", code="confirmation_mismatch"
            )
        name, slug = org.name, org.slug
        repo = PrivacyRepository(self.db)
        users = await repo.users_only_in(organization_id)
        self.db.expunge_all()  # the ORM must not write back rows deleted below in bulk
        rows = await repo.delete_organization(organization_id, users)
        AuditService(self.db).record(
            "privacy.organization_deleted",
            actor_id=actor.user_id if actor.user_id not in users else None,
            target=f"{slug} ({organization_id})",
            ip=actor.ip,
            details={**actor.details(), "name": name, "rows": rows},
        )
        await self.db.flush()
        # Its API keys stop working on this process at once (other processes: within the key cache's TTL).
        self.runtime.api_keys.forget_on_commit(self.db, organization_id=organization_id)
        return DeletedRows(organization_id, rows, users)

    async def purge(self, deleted: DeletedRows) -> OrganizationDeleted:
        """After the commit: login sessions, stored objects (originals, exports) and index files."""
        organization_id = deleted.organization_id
        for user_id in deleted.user_ids:
            await self.runtime.session_store.delete_for_user(user_id)
        objects = await self.runtime.storage.delete_prefix(f"org/{organization_id}/")
        await self.runtime.retriever.drop(organization_id)
        self.runtime.knowledge_languages.forget(organization_id)
        log.info(
            "privacy.organization_deleted",
            organization_id=str(organization_id),
            rows=deleted.rows,
            objects=objects,
        )
        return OrganizationDeleted(organization_id=organization_id, rows=deleted.rows, stored_objects=objects)
