"""Which questions are gaps (pure), and grouping by meaning over the real MiniLM vectors."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import numpy as np

from answerdesk.chat.models import AnswerMode, Sender
from answerdesk.gaps.cluster import cluster, medoid
from answerdesk.gaps.repository import Turn
from answerdesk.gaps.schemas import GapReason
from answerdesk.gaps.service import GapQuestion, find_gap_questions
from answerdesk.runtime import Runtime

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Conversation:
    """Builds one conversation's turns in order."""

    def __init__(self) -> None:
        self.id = uuid.uuid4()
        self.turns: list[Turn] = []
        self.at = T0

    def _add(self, sender: str, text: str, mode: str | None, citations: int, helpful: bool | None) -> Turn:
        self.at += timedelta(minutes=1)
        turn = Turn(
            uuid.uuid4(), self.id, len(self.turns) + 1, sender, mode, text, self.at, citations, helpful
        )
        self.turns.append(turn)
        return turn

    def ask(self, text: str) -> Turn:
        return self._add(Sender.customer, text, None, 0, None)

    def bot(self, mode: AnswerMode, citations: int = 1, helpful: bool | None = None) -> Turn:
        return self._add(Sender.bot, "…", mode, citations, helpful)


def _reasons(found: list[GapQuestion], turn: Turn) -> set[GapReason]:
    return next(g.reasons for g in found if g.message_id == turn.id)


def test_refused_unhelpful_and_handed_off_questions_are_gaps() -> None:
    a = Conversation()
    refused = a.ask("Do you offer Windows VPS?")
    a.bot(AnswerMode.no_answer, citations=0)
    answered = a.ask("How do I point my domain to your nameservers?")
    a.bot(AnswerMode.faq)
    unsourced = a.ask("What about Plesk licences?")
    a.bot(AnswerMode.llm, citations=0)  # the model said it does not know
    a.ask("thanks")
    a.bot(AnswerMode.no_answer, citations=0)  # "thanks" carries no topic: never a gap

    b = Conversation()
    rated_down = b.ask("How much is the reseller plan?")
    b.bot(AnswerMode.extractive, helpful=False)
    liked = b.ask("Where do I find my invoices?")
    b.bot(AnswerMode.extractive, helpful=True)
    b.ask("I want to talk to a person")
    b.bot(AnswerMode.handoff, citations=0)

    c = Conversation()  # answered, then the customer pressed "talk to a person" (no bot message)
    gave_up = c.ask("Can I move my site from Wix?")
    c.bot(AnswerMode.extractive)
    later = c.ask("ok and after that?")
    c.bot(AnswerMode.extractive)

    found = find_gap_questions(
        [*a.turns, *b.turns, *c.turns],
        {c.id: gave_up.created_at + timedelta(minutes=1, seconds=30)},
        since=T0,
    )
    assert {g.message_id for g in found} == {refused.id, unsourced.id, rated_down.id, liked.id, gave_up.id}
    assert answered.id not in {g.message_id for g in found} and later.id not in {g.message_id for g in found}
    assert _reasons(found, refused) == {GapReason.refused}
    assert _reasons(found, unsourced) == {GapReason.refused}
    assert _reasons(found, rated_down) == {GapReason.unhelpful}
    # The question before "a person, please" is the gap; one with a reason already keeps only that.
    assert _reasons(found, liked) == {GapReason.handed_off}
    assert _reasons(found, gave_up) == {GapReason.handed_off}
    # Most recent first; older than the window is out.
    assert [g.asked_at for g in found] == sorted((g.asked_at for g in found), reverse=True)
    assert find_gap_questions(a.turns, {}, since=T0 + timedelta(days=1)) == []


def test_questions_met_by_a_used_up_plan_are_not_gaps() -> None:
    d = Conversation()
    d.ask("How do I renew my SSL certificate?")
    d.bot(AnswerMode.quota, citations=0)  # no answers left this period: nothing was looked up
    # The quota reply offers a person, so the conversation has a handoff too.
    assert find_gap_questions(d.turns, {d.id: d.at + timedelta(seconds=5)}, since=T0) == []


async def test_paraphrases_group_together_and_grouping_is_deterministic(runtime: Runtime) -> None:
    questions = [
        "Do you offer Windows VPS?",
        "Can I pay with PayPal?",
        "Is Windows hosting available?",
        "do you have windows vps plans",
        "Do you accept paypal payments",
        "Is there a student discount?",
        "payment by paypal possible?",
        "Any discounts for students?",
        "Do you sell boats?",
    ]
    vectors = (await runtime.embedder()).embed(questions)
    groups = cluster(vectors)
    named = [sorted(questions[i] for i in g) for g in groups]
    assert named[:2] == [
        sorted(["Can I pay with PayPal?", "Do you accept paypal payments", "payment by paypal possible?"]),
        sorted(
            ["Do you offer Windows VPS?", "Is Windows hosting available?", "do you have windows vps plans"]
        ),
    ] or named[:2] == [
        sorted(
            ["Do you offer Windows VPS?", "Is Windows hosting available?", "do you have windows vps plans"]
        ),
        sorted(["Can I pay with PayPal?", "Do you accept paypal payments", "payment by paypal possible?"]),
    ]
    assert sorted(["Is there a student discount?", "Any discounts for students?"]) in named
    assert ["Do you sell boats?"] in named
    assert cluster(vectors) == groups  # same input, same groups
    paypal = next(g for g in groups if 1 in g)
    assert medoid(vectors, paypal) in paypal
    assert cluster(np.zeros((0, 384), dtype=np.float32)) == [] and cluster(vectors[:1]) == [[0]]
