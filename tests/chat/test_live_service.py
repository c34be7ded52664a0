"""Live chat service: take-over silences the bot, notes stay internal, assignment, closing, seen and typing,
handoff with and without staff online, rating, and one organization never reaching another's chats."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from answerdesk.chat.announce import conversation_channel, org_channel
from answerdesk.chat.live import HANDED_BACK, JOINED, WAITING_OFFLINE, WAITING_ONLINE
from answerdesk.chat.models import ConversationStatus, Sender
from answerdesk.chat.schemas import RatingCreate
from answerdesk.kit.db import session_scope
from answerdesk.kit.errors import Conflict, NotFound
from answerdesk.runtime import Runtime
from tests.chat.live_support import (
    ORIGIN,
    add_staff,
    collecting,
    customer_says,
    live,
    live_org,
    start_conversation,
)
from tests.chat.support import API, stored_messages
from tests.factories import bearer


async def test_take_over_silences_the_bot_and_tells_the_customer(db: AsyncSession, runtime: Runtime) -> None:
    org = await live_org(db, "Anna")
    cid, token = await start_conversation(runtime, org)
    async with collecting(runtime.events, conversation_channel(cid)) as customer:
        async with session_scope(runtime.sessionmaker) as s:
            conversation = await live(runtime).take_over(s, org.id, cid, org.staff)
            assert conversation.status == ConversationStatus.human
            assert conversation.assigned_user_id == org.staff.user_id
        reply = await customer_says(runtime, org, cid, token, "Hello, is anyone there?")
        assert reply.read.message is None  # the bot stayed silent
        await customer.wait_for(lambda e: len([x for x in e if x["type"] == "message"]) == 2)
    joined, said = (e["message"] for e in customer.of_type("message"))
    assert joined["sender"] == Sender.system and joined["content"] == JOINED.format(name="Anna")
    assert said["sender"] == Sender.customer
    status = customer.of_type("status")
    assert status and status[0]["status"] == "human" and status[0]["agent"] == "Anna"
    senders = [m.sender for m in await stored_messages(runtime, str(cid))]
    assert senders == [Sender.system, Sender.customer]


async def test_hand_back_lets_the_bot_answer_again(db: AsyncSession, runtime: Runtime) -> None:
    org = await live_org(db)
    cid, token = await start_conversation(runtime, org)
    async with session_scope(runtime.sessionmaker) as s:
        await live(runtime).take_over(s, org.id, cid, org.staff)
    async with session_scope(runtime.sessionmaker) as s:
        conversation = await live(runtime).hand_back(s, org.id, cid, org.staff)
        assert conversation.status == ConversationStatus.bot and conversation.assigned_user_id is None
    reply = await customer_says(runtime, org, cid, token, "What is the capital of France?")
    assert reply.read.message is not None and reply.read.message.sender == Sender.bot
    contents = [m.content for m in await stored_messages(runtime, str(cid))]
    assert HANDED_BACK in contents


async def test_notes_never_reach_the_customer(
    db: AsyncSession, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    org = await live_org(db)
    cid, token = await start_conversation(runtime, org)
    secret_note = "Customer owes us 3 invoices, be careful"
    async with (
        collecting(runtime.events, conversation_channel(cid)) as customer,
        collecting(runtime.events, org_channel(org.id)) as staff,
    ):
        async with session_scope(runtime.sessionmaker) as s:
            note = await live(runtime).add_note(s, org.id, cid, org.staff, secret_note)
            assert note.sender == Sender.note
        async with session_scope(runtime.sessionmaker) as s:
            await live(runtime).reply(s, org.id, cid, org.staff, "Hi, I'm here to help.")
        # The reply is published after the note: once the customer has it, the note would have come first.
        await customer.wait_for(lambda e: any(x.get("message", {}).get("sender") == "staff" for x in e))
        await staff.wait_for(lambda e: any(x.get("message", {}).get("sender") == "note" for x in e))
    assert secret_note not in str(customer.events)
    assert all(e.get("message", {}).get("sender") != "note" for e in customer.events)

    # Not in the API read, with either key…
    for headers in (
        bearer(org.public_key, Origin=ORIGIN, **{"X-Conversation-Token": token}),
        bearer(org.secret_key),
    ):
        body = (await client.get(f"{API}/{cid}", headers=headers)).json()
        assert secret_note not in str(body)
        assert "staff" in [m["sender"] for m in body["messages"]]
    # …nor in the live stream's replay.
    async with session_scope(runtime.sessionmaker) as s:
        conversation = await live(runtime).locked(s, org.id, cid)
    replayed = []
    async for event in live(runtime).customer_stream(conversation, 0):
        if event["type"] == "status":
            break
        replayed.append(event)
    assert [e["message"]["sender"] for e in replayed] == ["system", "staff"]


async def test_assign_only_to_members_of_the_organization(db: AsyncSession, runtime: Runtime) -> None:
    org = await live_org(db)
    colleague = await add_staff(db, org.org, "Ben")
    other = await live_org(db, "Mallory")
    cid, _ = await start_conversation(runtime, org)
    async with session_scope(runtime.sessionmaker) as s:
        with pytest.raises(NotFound):
            await live(runtime).assign(s, org.id, cid, org.staff, other.staff.user_id)
    async with session_scope(runtime.sessionmaker) as s:
        conversation = await live(runtime).assign(s, org.id, cid, org.staff, colleague.user_id)
        assert conversation.assigned_user_id == colleague.user_id
    notes = [m for m in await stored_messages(runtime, str(cid)) if m.sender == Sender.note]
    assert len(notes) == 1 and "Ben" in notes[0].content


async def test_closing_blocks_the_customer_from_posting(
    db: AsyncSession, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    org = await live_org(db)
    cid, token = await start_conversation(runtime, org)
    async with session_scope(runtime.sessionmaker) as s:
        conversation = await live(runtime).close(s, org.id, cid, org.staff)
        assert conversation.status == ConversationStatus.closed and conversation.closed_at is not None
    headers = bearer(org.public_key, Origin=ORIGIN, **{"X-Conversation-Token": token})
    response = await client.post(f"{API}/{cid}/messages", headers=headers, json={"content": "Hello?"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    async with session_scope(runtime.sessionmaker) as s:
        with pytest.raises(Conflict):
            await live(runtime).reply(s, org.id, cid, org.staff, "Too late")


async def test_seen_and_typing_reach_the_other_side(db: AsyncSession, runtime: Runtime) -> None:
    org = await live_org(db)
    cid, token = await start_conversation(runtime, org)
    async with session_scope(runtime.sessionmaker) as s:
        await live(runtime).reply(s, org.id, cid, org.staff, "Hello from staff")  # seq 1 joined, 2 reply
    async with (
        collecting(runtime.events, conversation_channel(cid)) as customer,
        collecting(runtime.events, org_channel(org.id)) as staff,
    ):
        async with session_scope(runtime.sessionmaker) as s:
            await live(runtime).customer_seen(s, org.public(), cid, token, 99)  # clamped to the last seq
            conversation = await live(runtime).locked(s, org.id, cid)
        await live(runtime).typing(conversation, "customer", True)
        await live(runtime).typing(conversation, "staff", True, "Anna")
        await staff.wait_for(lambda e: any(x["type"] == "typing" and x["side"] == "customer" for x in e))
        await customer.wait_for(lambda e: any(x["type"] == "typing" and x["side"] == "staff" for x in e))
    seen = [e for e in staff.events if e["type"] == "seen"]
    assert seen[0]["side"] == "customer" and seen[0]["seq"] == 2 and seen[0]["conversation_id"] == str(cid)
    assert {"type": "typing", "side": "staff", "typing": True, "name": "Anna"} in customer.events
    async with session_scope(runtime.sessionmaker) as s:
        assert (await live(runtime).locked(s, org.id, cid)).customer_seen_seq == 2


async def test_handoff_says_whether_anyone_is_online(db: AsyncSession, runtime: Runtime) -> None:
    org = await live_org(db)
    cid, token = await start_conversation(runtime, org)
    async with session_scope(runtime.sessionmaker) as s:
        offline = await live(runtime).handoff(s, org.public(), cid, token)
    assert offline.waiting and not offline.staff_online
    assert offline.message is not None and offline.message.content == WAITING_OFFLINE
    async with session_scope(runtime.sessionmaker) as s:
        again = await live(runtime).handoff(s, org.public(), cid, token)
    assert again.message is None  # already waiting: nothing posted twice

    await live(runtime).staff_present(org.id, str(org.staff.user_id))
    assert await live(runtime).staff_online(org.id)
    cid2, token2 = await start_conversation(runtime, org)
    async with session_scope(runtime.sessionmaker) as s:
        online = await live(runtime).handoff(s, org.public(), cid2, token2)
    assert online.staff_online and online.message is not None and online.message.content == WAITING_ONLINE
    async with session_scope(runtime.sessionmaker) as s:
        rows = await live(runtime).live_list(s, org.id, "waiting", None)
    assert {c.id for c, _ in rows} == {cid, cid2}
    async with session_scope(runtime.sessionmaker) as s:
        await live(runtime).take_over(s, org.id, cid, org.staff)
    async with session_scope(runtime.sessionmaker) as s:
        rows = await live(runtime).live_list(s, org.id, "waiting", None)
    assert [c.id for c, _ in rows] == [cid2]


async def test_rating_is_validated_and_the_latest_one_kept(
    db: AsyncSession, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    org = await live_org(db)
    cid, token = await start_conversation(runtime, org)
    headers = bearer(org.public_key, Origin=ORIGIN, **{"X-Conversation-Token": token})
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": "great"}, {}, {"rating": 3, "comment": "x" * 2001}):
        response = await client.post(f"{API}/{cid}/rating", headers=headers, json=bad)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"] == "validation_error"
    response = await client.post(f"{API}/{cid}/rating", headers=headers, json={"rating": 2})
    assert response.json() == {"rating": 2, "comment": None}
    response = await client.post(
        f"{API}/{cid}/rating", headers=headers, json={"rating": 5, "comment": " Great "}
    )
    assert response.status_code == 200 and response.json() == {"rating": 5, "comment": "Great"}
    wrong = bearer(org.public_key, Origin=ORIGIN, **{"X-Conversation-Token": "nope"})
    assert (await client.post(f"{API}/{cid}/rating", headers=wrong, json={"rating": 1})).status_code == 404
    async with session_scope(runtime.sessionmaker) as s:
        assert (await live(runtime).rate(s, org.public(), cid, token, RatingCreate(rating=4))).rating == 4


async def test_another_organization_gets_404_everywhere(
    db: AsyncSession, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    org = await live_org(db)
    other = await live_org(db, "Mallory")
    cid, token = await start_conversation(runtime, org)
    service = live(runtime)
    for action in (
        lambda s: service.take_over(s, other.id, cid, other.staff),
        lambda s: service.hand_back(s, other.id, cid, other.staff),
        lambda s: service.add_note(s, other.id, cid, other.staff, "hi"),
        lambda s: service.reply(s, other.id, cid, other.staff, "hi"),
        lambda s: service.close(s, other.id, cid, other.staff),
        lambda s: service.handoff(s, other.public(), cid, token),
    ):
        async with session_scope(runtime.sessionmaker) as s:
            with pytest.raises(NotFound):
                await action(s)
    headers = bearer(other.secret_key, **{"X-Conversation-Token": token})
    for path, body in (("handoff", None), ("rating", {"rating": 5}), ("seen", {"seq": 1}), ("typing", None)):
        response = await client.post(f"{API}/{cid}/{path}", headers=headers, json=body)
        assert response.status_code == 404, path
    assert (await client.get(f"{API}/{cid}/events", headers=headers)).status_code == 404


async def test_events_are_published_only_after_commit(db: AsyncSession, runtime: Runtime) -> None:
    org = await live_org(db)
    cid, _ = await start_conversation(runtime, org)
    async with collecting(runtime.events, conversation_channel(cid)) as customer:
        async with runtime.sessionmaker() as s:
            await live(runtime).reply(s, org.id, cid, org.staff, "rolled back")
            await s.rollback()
        async with session_scope(runtime.sessionmaker) as s:
            await live(runtime).reply(s, org.id, cid, org.staff, "committed")
        await customer.wait_for(lambda e: any(x.get("message", {}).get("content") == "committed" for x in e))
    assert "rolled back" not in str(customer.events)


async def test_staff_api_needs_a_logged_in_member(
    db: AsyncSession, runtime: Runtime, client: httpx.AsyncClient
) -> None:
    org = await live_org(db)
    cid, _ = await start_conversation(runtime, org)
    response = await client.post(f"{API}/{cid}/takeover", headers=bearer(org.secret_key))
    assert response.status_code == 403
