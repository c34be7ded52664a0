"""Answer feedback: thumbs up / down on bot answers through the chat API, one row per message, and counts."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.auth.models import ApiKeyKind
from answerdesk.chat.feedback import FeedbackService, accuracy
from answerdesk.kit.db import session_scope
from answerdesk.runtime import Runtime
from tests.chat.support import API, make_chat
from tests.factories import bearer, make_key, make_org

ORIGIN = "https://shop.example.com"


async def _answered(client: httpx.AsyncClient, headers: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """A conversation with one customer question and the bot's answer (the empty help centre refuses)."""
    started = await client.post(API, headers=headers)
    assert started.status_code == 201, started.text
    cid, token = started.json()["id"], started.json()["token"]
    headers = {**headers, "X-Conversation-Token": token}
    reply = await client.post(
        f"{API}/{cid}/messages", headers=headers, json={"content": "Do you sell boats?"}
    )
    assert reply.status_code == 200, reply.text
    return cid, {"headers": headers, **reply.json()}


async def test_visitor_rates_an_answer_and_changes_their_mind(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    public = {**bearer(await make_key(db, org, ApiKeyKind.public, origins=[ORIGIN])), "Origin": ORIGIN}
    cid, reply = await _answered(client, public)
    headers, answer_id = reply["headers"], reply["message"]["id"]

    up = await client.post(
        f"{API}/{cid}/feedback", headers=headers, json={"message_id": answer_id, "helpful": True}
    )
    assert up.status_code == 200, up.text
    assert up.json()["helpful"] is True and up.json()["reason"] is None

    down = await client.post(
        f"{API}/{cid}/feedback",
        headers=headers,
        json={
            "message_id": answer_id,
            "helpful": False,
            "reason": "outdated",
            "comment": "  Prices changed  ",
        },
    )
    assert down.status_code == 200, down.text
    assert down.json() == {**down.json(), "helpful": False, "reason": "outdated", "comment": "Prices changed"}

    # One row per message: the change replaced the first vote, and the transcript read shows it.
    read = (await client.get(f"{API}/{cid}", headers=headers)).json()
    by_sender = {m["sender"]: m for m in read["messages"]}
    assert by_sender["bot"]["feedback"]["helpful"] is False
    assert by_sender["bot"]["feedback"]["reason"] == "outdated"
    assert by_sender["customer"]["feedback"] is None
    async with session_scope(runtime.sessionmaker) as session:
        counts = await FeedbackService(session).counts(org.id)
    assert (counts.rated, counts.helpful) == (1, 0)
    assert accuracy(counts) == 0.0


async def test_feedback_refuses_what_cannot_be_rated(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    org = await make_org(db)
    public = {**bearer(await make_key(db, org, ApiKeyKind.public, origins=[ORIGIN])), "Origin": ORIGIN}
    cid, reply = await _answered(client, public)
    headers = reply["headers"]
    answer_id, question_id = reply["message"]["id"], reply["customer_message"]["id"]
    url = f"{API}/{cid}/feedback"

    own = await client.post(url, headers=headers, json={"message_id": question_id, "helpful": False})
    assert own.status_code == 422
    assert own.json()["error"]["code"] == "validation_error"

    # Another conversation's answer (same visitor's key, other token) and an unknown id are both 404s.
    _, other = await _answered(client, public)
    crossed = await client.post(
        url, headers=headers, json={"message_id": other["message"]["id"], "helpful": True}
    )
    assert crossed.status_code == 404
    unknown = await client.post(url, headers=headers, json={"message_id": str(uuid.uuid4()), "helpful": True})
    assert unknown.status_code == 404

    # Without the conversation's token a public key sees nothing; a wrong token is a 404 too.
    tokenless = {k: v for k, v in headers.items() if k != "X-Conversation-Token"}
    assert (
        await client.post(url, headers=tokenless, json={"message_id": answer_id, "helpful": True})
    ).status_code == 404
    wrong = {**headers, "X-Conversation-Token": other["headers"]["X-Conversation-Token"]}
    assert (
        await client.post(url, headers=wrong, json={"message_id": answer_id, "helpful": True})
    ).status_code == 404

    # A reason goes with "down" only; unknown reasons and fields are refused.
    for body in (
        {"message_id": answer_id, "helpful": True, "reason": "wrong"},
        {"message_id": answer_id, "helpful": False, "reason": "boring"},
        {"message_id": answer_id, "helpful": False, "stars": 5},
        {"message_id": answer_id},
    ):
        refused = await client.post(url, headers=headers, json=body)
        assert refused.status_code == 422, body
        assert refused.json()["error"]["code"] == "validation_error"

    # Another organization's key cannot reach this conversation at all.
    stranger = await make_org(db)
    foreign = bearer(await make_key(db, stranger))
    assert (
        await client.post(url, headers=foreign, json={"message_id": answer_id, "helpful": True})
    ).status_code == 404
    async with session_scope(runtime.sessionmaker) as session:
        assert (await FeedbackService(session).counts(org.id)).rated == 0


async def test_counts_cover_customers_not_the_playground(
    client: httpx.AsyncClient, db: AsyncSession, runtime: Runtime
) -> None:
    chat = await make_chat(client, db, runtime, seed=False)
    for helpful in (True, True, False):
        cid, reply = await _answered(client, chat.headers)
        response = await client.post(
            f"{API}/{cid}/feedback",
            headers=chat.headers,
            json={"message_id": reply["message"]["id"], "helpful": helpful},
        )
        assert response.status_code == 200, response.text
    async with session_scope(runtime.sessionmaker) as session:
        counts = await FeedbackService(session).counts(chat.organization_id)
        assert (counts.rated, counts.helpful) == (3, 2)
        assert accuracy(counts) == 2 / 3
        other = await FeedbackService(session).counts(uuid.uuid4())
        assert other.rated == 0 and accuracy(other) is None
