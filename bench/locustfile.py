"""Locust load test: widget visitors chatting with Answerdesk through the public chat API.

Each simulated visitor does what the widget does on a customer's site: loads the widget's config, opens a
conversation, asks 3 to 5 questions (streamed answers, `Accept: text/event-stream`) with think time
between them; one visitor in ten then asks for a human, and some rate the chat. Then the visitor leaves
and a new one arrives. Requests carry a public key and an allowed Origin, as a browser would.

Environment: ANSWERDESK_BENCH_PUBLIC_KEY (a public key of the organization), ANSWERDESK_BENCH_ORIGIN (one
of its allowed origins), optional ANSWERDESK_BENCH_THINK_SECONDS (think time range, default "2-6").
The "message (stream)" row times the response headers only; two more rows per streamed answer give what a
visitor sees: "first token" (time to the first `token` event) and "whole answer" (to the `done` event).
bench/load_test.py starts the server, the fake LLM and a headless, time-bounded locust run, and prints the
figures; to point it at a server you started yourself (e.g. `make run`):
`locust -f bench/locustfile.py --headless -u 50 -r 5 --run-time 60s --host http://127.0.0.1:8000`.
"""

from __future__ import annotations

import json
import os
import random
import time
from typing import Any

from locust import HttpUser, between, task

QUESTIONS = (
    "my website says 403 forbidden after i uploaded my files",
    "how to import a big database",
    "how do i make a new email adress for my staff member",
    "outlook wont send emails",
    "setting up my work email on iphone",
    "mailbox full what do i do",
    "the emails i send end up in peoples junk folder",
    "getting relay access denied when sending",
    "site keeps saying too many redirects since i turned on https",
    "how do i restore just one email account from a backup",
    "how do I point my domain to your nameservers",
    "can I get a refund for my hosting plan",
)
HUMAN_SHARE = 0.1  # visitors who ask for a person
RATING_SHARE = 0.3  # visitors who rate the chat


def _think_range() -> tuple[float, float]:
    low, _, high = os.environ.get("ANSWERDESK_BENCH_THINK_SECONDS", "2-6").partition("-")
    return float(low), float(high or low)


class WidgetVisitor(HttpUser):
    """One visitor's chat, start to end; Locust runs it again with a fresh conversation."""

    wait_time = between(*_think_range())

    def on_start(self) -> None:
        key = os.environ["ANSWERDESK_BENCH_PUBLIC_KEY"]
        self.client.headers.update(
            {"Authorization": f"Bearer {key}", "Origin": os.environ["ANSWERDESK_BENCH_ORIGIN"]}
        )

    @task
    def chat(self) -> None:
        self.client.get("/api/v1/widget/config", name="widget config")
        response = self.client.post("/api/v1/conversations", json={}, name="start conversation")
        if response.status_code != 201:
            return
        started = response.json()
        path = f"/api/v1/conversations/{started['id']}"
        headers = {"X-Conversation-Token": started["token"]}
        questions = random.sample(QUESTIONS, random.randint(3, 5))
        for number, question in enumerate(questions):
            if number:
                time.sleep(random.uniform(*_think_range()))  # reading the answer, typing the next question
            if not self._ask(path, headers, question):
                return
        if random.random() < HUMAN_SHARE:
            self.client.post(f"{path}/handoff", headers=headers, name="ask for a human")
        if random.random() < RATING_SHARE:
            body = {"rating": random.choice((3, 4, 5, 5, 5))}
            self.client.post(f"{path}/rating", json=body, headers=headers, name="rate chat")

    def _ask(self, path: str, headers: dict[str, str], question: str) -> bool:
        """Sends one message and reads the streamed answer to its end; False when it failed."""
        started = time.perf_counter()
        first_token: float | None = None
        done: dict[str, Any] | None = None
        error = None
        with self.client.post(
            f"{path}/messages",
            json={"content": question},
            headers={**headers, "Accept": "text/event-stream"},
            name="message (stream)",
            stream=True,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")
                return False
            event = ""
            for raw in response.iter_lines(decode_unicode=True):
                if raw.startswith("event:"):
                    event = raw[6:].strip()
                elif raw.startswith("data:"):
                    if event == "token" and first_token is None:
                        first_token = time.perf_counter()
                    elif event == "done":
                        done = json.loads(raw[5:])
                    elif event == "error":
                        error = json.loads(raw[5:])["error"]["code"]
            if error or done is None:
                response.failure(f"error event: {error}" if error else "stream ended without done")
                return False
            response.success()
        ended = time.perf_counter()
        if first_token is not None:
            self._record("first token", (first_token - started) * 1000)
        self._record("whole answer", (ended - started) * 1000)
        return True

    def _record(self, name: str, milliseconds: float) -> None:
        self.environment.events.request.fire(
            request_type="SSE",
            name=name,
            response_time=milliseconds,
            response_length=0,
            exception=None,
            context={},
        )
