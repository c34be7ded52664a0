"""An organization with its originals in S3 (moto's server on 127.0.0.1): uploads are encrypted at rest,
a full export is made by a job and downloaded by admins, and deleting the organization leaves no row,
no stored object and no index behind."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import Role, Scope
from answerdesk.auth.service import MemberService
from answerdesk.config import Settings
from answerdesk.models import Base
from answerdesk.runtime import Runtime
from tests.conftest import make_settings
from tests.factories import bearer, make_key, make_member, make_org
from tests.fakes.s3 import APP_PREFIX as PREFIX
from tests.fakes.s3 import app_s3_settings, new_bucket, raw_s3_client
from tests.knowledge.ingest_support import drain
from tests.privacy.support import API, org_rows
from tests.tickets.native import native_ticket

KNOWLEDGE = "/api/v1/knowledge/documents"
GUIDE = b"# Backups\n\nNightly backups are kept for fourteen days and can be restored from the panel.\n"


@pytest.fixture
def bucket(moto_endpoint: str) -> tuple[Any, str]:
    s3 = raw_s3_client(moto_endpoint)
    return s3, new_bucket(s3)


@pytest.fixture
def settings(database_url: str, tmp_path: Path, moto_endpoint: str, bucket: tuple[Any, str]) -> Settings:
    return make_settings(database_url, tmp_path / "data", **app_s3_settings(moto_endpoint, bucket[1]))


def keys(bucket: tuple[Any, str]) -> list[str]:
    s3, name = bucket
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=name).get("Contents", []))


async def table_counts(runtime: Runtime) -> dict[str, int]:
    async with runtime.sessionmaker() as db:
        return {
            t.name: int(await db.scalar(sa.select(sa.func.count()).select_from(t)) or 0)
            for t in Base.metadata.sorted_tables
        }


async def upload(client: httpx.AsyncClient, headers: dict[str, str], name: str, data: bytes) -> str:
    response = await client.post(KNOWLEDGE, headers=headers, files={"file": (name, data, "text/markdown")})
    assert response.status_code == 202, response.text
    doc_id: str = response.json()["id"]
    return doc_id


async def test_deleting_an_organization_leaves_no_row_object_or_index(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime, bucket: tuple[Any, str]
) -> None:
    # Another organization, whose data must all stay, and a user who belongs to both.
    other = await make_org(db, "Other Hosting")
    other_headers = bearer(await make_key(db, other))
    await upload(client, other_headers, "other.md", b"# Other\n\nThe other organization's own guide.\n")
    shared = await make_member(db, other, Role.staff)
    await drain(runtime)
    before = await table_counts(runtime)
    other_objects = keys(bucket)
    assert len(other_objects) == 1

    org = await make_org(db, "Acme Hosting")
    admin = await make_member(db, org, Role.admin)
    await MemberService(db).add_existing(org.id, shared.user.email, Role.staff)
    await db.commit()
    headers = bearer(await make_key(db, org))
    doc_id = await upload(client, headers, "backups.md", GUIDE)
    await drain(runtime)
    started = await client.post(
        "/api/v1/conversations", headers=headers, json={"customer": {"email": "c@x.org"}}
    )
    conversation_id = started.json()["id"]
    asked = await client.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        headers=headers,
        json={"content": "How long are backups kept?"},
    )
    assert asked.status_code == 200, asked.text
    await native_ticket(runtime, org.id, "Please restore yesterday's backup.", client_email="c@x.org")
    await runtime.retriever.wait_idle(org.id)

    # Uploaded originals are encrypted at rest (ANSWERDESK_S3_SSE, AES256 by default).
    s3, name = bucket
    original = f"{PREFIX}/org/{org.id}/documents/{doc_id}/original.md"
    assert original in keys(bucket)
    assert s3.head_object(Bucket=name, Key=original)["ServerSideEncryption"] == "AES256"

    # A full export: made by a job, stored encrypted, downloadable by admins only.
    requested = await client.post(f"{API}/organization-exports", headers=headers)
    assert requested.status_code == 202, requested.text
    export_id = requested.json()["id"]
    again = await client.post(f"{API}/organization-exports", headers=headers)
    assert again.status_code == 409  # one at a time
    await drain(runtime)
    state = (await client.get(f"{API}/organization-exports/{export_id}", headers=headers)).json()
    assert state["status"] == "ready" and state["expires_at"], state
    zip_key = f"{PREFIX}/org/{org.id}/exports/{export_id}.zip"
    assert s3.head_object(Bucket=name, Key=zip_key)["ServerSideEncryption"] == "AES256"
    staff_key = await make_key(db, org, scopes=[Scope.chat, Scope.tickets, Scope.knowledge])
    refused = await client.get(f"{API}/organization-exports/{export_id}/download", headers=bearer(staff_key))
    assert refused.status_code == 403
    elsewhere = await client.get(f"{API}/organization-exports/{export_id}/download", headers=other_headers)
    assert elsewhere.status_code == 404
    download = await client.get(f"{API}/organization-exports/{export_id}/download", headers=headers)
    assert download.status_code == 200 and download.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        names = set(zf.namelist())
        assert f"files/{doc_id}/original.md" in names
        assert zf.read(f"files/{doc_id}/original.md") == GUIDE
        conversations = json.loads(zf.read("tables/conversation.json"))
        assert [c["id"] for c in conversations] == [conversation_id]
        messages = json.loads(zf.read("tables/message.json"))
        assert "How long are backups kept?" in [m["content"] for m in messages]
        assert {m["email"] for m in json.loads(zf.read("members.json"))} == {
            admin.user.email,
            shared.user.email,
        }
        everything = b"".join(zf.read(n) for n in names)
        assert (
            b"key_hash" not in everything
            and b"password_hash" not in everything
            and b"embedding" not in everything
        )
        assert b"Other Hosting" not in everything

    index_dir = runtime.retriever.index_dir / str(org.id)
    assert index_dir.is_dir() and runtime.retriever.holds(org.id)

    wrong = await client.post(f"{API}/delete-organization", headers=headers, json={"confirm_name": "Acme"})
    assert wrong.status_code == 422 and wrong.json()["error"]["code"] == "confirmation_mismatch"
    assert await org_rows(runtime, org.id)

    # A key used for the first time: its last use is written in the same request that deletes it.
    fresh = bearer(await make_key(db, org))
    deleted = await client.post(
        f"{API}/delete-organization", headers=fresh, json={"confirm_name": "Acme Hosting"}
    )
    assert deleted.status_code == 200, deleted.text
    result = deleted.json()
    assert result["stored_objects"] == 2  # the original and the export
    assert (
        result["rows"]["conversation"] == 1 and result["rows"]["ticket"] == 1 and result["rows"]["user"] == 1
    )

    # No row of the organization in any table: every table is back to what it held before it existed,
    # but for the audit entry of its deletion (kept without an organization, naming who did it).
    after = await table_counts(runtime)
    assert {t: n for t, n in after.items() if n != before[t]} == {"audit_log": before["audit_log"] + 1}
    assert await org_rows(runtime, org.id) == {}
    assert keys(bucket) == other_objects
    assert not index_dir.exists() and not runtime.retriever.holds(org.id)
    # Its API key is gone with it; the shared user stays a member of the other organization.
    gone = await client.get("/api/v1/organization", headers=headers)
    assert gone.status_code == 401
    mine = await client.get("/api/v1/organization", headers=other_headers)
    assert mine.status_code == 200 and mine.json()["name"] == "Other Hosting"
    async with runtime.sessionmaker() as s:
        assert await MemberService(s).get(other.id, shared.user.id)
