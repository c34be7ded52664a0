"""Helpers for the knowledge-gap tests (no tests here)."""

from __future__ import annotations

from typing import Any

from tests.chat.support import Chat

WINDOWS = ["Do you offer Windows VPS?", "Is Windows hosting available?", "do you have windows vps plans"]
PAYPAL = ["Can I pay with PayPal?", "Do you accept paypal payments"]


async def ask(chat: Chat, question: str, **customer: str) -> tuple[str, dict[str, Any]]:
    """A new conversation with one question, answered by the bot (an empty help centre refuses it)."""
    cid, _ = await chat.start(**({"customer": customer} if customer else {}))
    response = await chat.send(cid, question)
    assert response.status_code == 200, response.text
    return cid, response.json()


async def ask_all(chat: Chat, questions: list[str]) -> None:
    for question in questions:
        await ask(chat, question)
