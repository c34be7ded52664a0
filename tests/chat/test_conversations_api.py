"""Chat API access rules and bad input: tokens, tenants, public keys, message limits."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind
from answerdesk.runtime import Runtime
from tests.chat.support import API, make_chat, stored_messages
from tests.factories import bearer, make_key, make_org

ORIGIN = "https://shop.example.com"


async def test_start_with_customer_and_read_back(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    cid, token = await chat.start(
        customer={"name": " Ana ", "email": "ana@example.com", "phone": "+44 20 7946 0000"}
    )
    assert len(token) >= 32
    body = (await chat.get(cid)).json()
    assert body["customer_name"] == "Ana"
    assert body["customer_email"] == "ana@example.com"
    assert body["status"] == "bot" and body["channel"] == "api" and body["messages"] == []


async def test_bad_customer_details_are_422(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    for customer in ({"email": "not-an-email"}, {"phone": "call me"}, {"shoe_size": 9}):
        response = await client.post(API, headers=chat.headers, json={"customer": customer})
        assert response.status_code == 422, customer
        assert response.json()["error"]["code"] == "validation_error"


async def test_empty_and_oversized_messages_are_422_and_store_nothing(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    cid, _ = await chat.start()
    limit = runtime.settings.max_message_chars
    for content in ("", "   \n ", "x" * (limit + 1)):
        response = await chat.send(cid, content)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "validation_error"
    missing = await client.post(f"{API}/{cid}/messages", headers=chat.headers, json={})
    assert missing.status_code == 422
    not_json = await client.post(
        f"{API}/{cid}/messages", headers={**chat.headers, "content-type": "application/json"}, content=b"{"
    )
    assert not_json.status_code in (400, 422)
    assert await stored_messages(runtime, cid) == []


async def test_unknown_and_foreign_conversations_are_404(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    ours = await make_chat(client, db, runtime, seed=False)
    theirs = await make_chat(client, db, runtime, seed=False)
    cid, token = await theirs.start()
    for response in (
        await ours.get(str(uuid.uuid4())),
        await ours.get(cid),
        await ours.get(cid, **{"X-Conversation-Token": token}),
        await ours.send(cid, "hello"),
        await ours.send(str(uuid.uuid4()), "hello"),
    ):
        assert response.status_code == 404, response.text
        assert response.json()["error"]["code"] == "not_found"
    assert await stored_messages(runtime, cid) == []


async def test_public_key_needs_the_conversation_token(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    public = bearer(await make_key(db, org, kind=ApiKeyKind.public, origins=[ORIGIN]), Origin=ORIGIN)
    started = await client.post(API, headers=public)
    assert started.status_code == 201
    cid, token = started.json()["id"], started.json()["token"]
    other = (await client.post(API, headers=public)).json()

    assert (await client.get(f"{API}/{cid}", headers=public)).status_code == 404
    assert (
        await client.get(f"{API}/{cid}", headers={**public, "X-Conversation-Token": "wrong"})
    ).status_code == 404
    # Another visitor's token opens only their own conversation.
    assert (
        await client.get(f"{API}/{cid}", headers={**public, "X-Conversation-Token": other["token"]})
    ).status_code == 404
    mine = await client.get(f"{API}/{cid}", headers={**public, "X-Conversation-Token": token})
    assert mine.status_code == 200 and mine.json()["channel"] == "widget"
    no_token = await client.post(f"{API}/{cid}/messages", headers=public, json={"content": "hi"})
    assert no_token.status_code == 404
    wrong = {**public, "X-Conversation-Token": other["token"]}
    assert (
        await client.post(f"{API}/{cid}/messages", headers=wrong, json={"content": "hi"})
    ).status_code == 404
    # The message is counted in the statement that reads the conversation, before the token is checked:
    # the refusal rolls that back, so the refused messages left no trace and took no seq.
    assert await stored_messages(runtime, cid) == []
    right = {**public, "X-Conversation-Token": token}
    sent = await client.post(f"{API}/{cid}/messages", headers=right, json={"content": "hi"})
    assert sent.status_code == 200 and sent.json()["customer_message"]["seq"] == 1


async def test_public_key_from_another_origin_is_refused(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    key = await make_key(db, org, kind=ApiKeyKind.public, origins=[ORIGIN])
    for headers in (bearer(key, Origin="https://evil.example.net"), bearer(key)):
        response = await client.post(API, headers=headers)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "origin_not_allowed"


async def test_key_without_chat_scope_is_refused(client: httpx.AsyncClient, db: AsyncSession) -> None:
    org = await make_org(db)
    key = await make_key(db, org, scopes=["knowledge"])
    response = await client.post(API, headers=bearer(key))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "insufficient_scope"


async def test_messages_since_a_seq(client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    cid, _ = await chat.start()
    for text in ("hello", "anyone there?"):
        assert (await chat.send(cid, text)).status_code == 200
    everything = (await chat.get(cid)).json()["messages"]
    assert [m["seq"] for m in everything] == [1, 2, 3, 4]
    assert [m["sender"] for m in everything] == ["customer", "bot", "customer", "bot"]
    later = (await client.get(f"{API}/{cid}?after=2", headers=chat.headers)).json()["messages"]
    assert [m["seq"] for m in later] == [3, 4]
