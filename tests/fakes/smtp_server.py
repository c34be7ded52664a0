"""A real SMTP server on 127.0.0.1 (aiosmtpd) that records what it receives and can refuse on demand."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USERNAME = "mailer"
PASSWORD = "mail-secret"


@dataclass
class Received:
    sender: str
    recipients: list[str]
    message: EmailMessage
    login: str | None


@dataclass
class FakeSmtp:
    """What the server got; ``refuse_recipient``/``refuse_data`` make it answer 550/554 instead."""

    received: list[Received] = field(default_factory=list)
    refuse_recipient: bool = False
    refuse_data: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self._lock:
            self.received.clear()
            self.refuse_recipient = self.refuse_data = False

    # aiosmtpd finds its hooks by these names.
    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.refuse_recipient:
            return "550 5.1.1 No such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data:
            return "554 5.7.1 Message rejected as spam"
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        with self._lock:
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos), message, login))
        return "250 Message accepted"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USERNAME.encode(),
            PASSWORD.encode(),
        )
        # handled=False: aiosmtpd then answers 535 itself.
        return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)


@dataclass(frozen=True)
class SmtpServer:
    fake: FakeSmtp
    host: str
    port: int

    def settings(self, sender: str) -> dict[str, object]:
        """Answerdesk's SMTP settings for sending through this server as `sender`."""
        return {
            "smtp_host": self.host,
            "smtp_port": self.port,
            "smtp_starttls": False,  # the loopback server speaks plain SMTP
            "smtp_username": USERNAME,
            "smtp_password": PASSWORD,
            "smtp_from": sender,
            "smtp_timeout_seconds": 5.0,
        }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def serve_smtp() -> Iterator[SmtpServer]:
    fake = FakeSmtp()
    controller = Controller(
        fake,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=fake.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    try:
        yield SmtpServer(fake, "127.0.0.1", controller.port)
    finally:
        controller.stop()
