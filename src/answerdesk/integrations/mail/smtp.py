"""Sending e-mail over SMTP (the standard library's client, in a thread).

A failure says whether the message may have been delivered anyway: the server refusing the sender,
a recipient or the message is a clear "not sent", as is anything before the message was handed
over; a connection lost or timed out while handing it over is "unknown" (the server may have
queued it), and the caller must not send it again on its own.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid
from typing import Protocol

from answerdesk.config import Settings


class MailError(Exception):
    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.outcome_unknown = outcome_unknown


@dataclass(frozen=True)
class OutgoingMail:
    to_address: str
    to_name: str
    subject: str
    body: str
    # Stable per reply, so that a mail client can tell a resent copy from a new message.
    message_id: str = field(default_factory=make_msgid)


class Mailer(Protocol):
    async def send(self, mail: OutgoingMail) -> None: ...


@dataclass(frozen=True)
class SmtpMailer:
    host: str
    port: int
    from_address: str
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = True
    timeout: float = 20.0

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpMailer | None:
        """None when SMTP is not configured (no host, or nobody to send as)."""
        sender = settings.smtp_from or settings.smtp_username
        if not settings.smtp_host or not sender:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            from_address=sender,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            starttls=settings.smtp_starttls,
            timeout=settings.smtp_timeout_seconds,
        )

    def message(self, mail: OutgoingMail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.from_address
        message["To"] = formataddr((mail.to_name, mail.to_address)) if mail.to_name else mail.to_address
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = mail.message_id
        message.set_content(mail.body)
        return message

    async def send(self, mail: OutgoingMail) -> None:
        await asyncio.to_thread(self._send, self.message(mail), mail.to_address)

    def _send(self, message: EmailMessage, recipient: str) -> None:
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(
                f"Could not reach the mail server {self.host}:{self.port} ({_reason(exc)})."
            ) from exc
        try:
            try:
                smtp.ehlo()
                if self.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.username and self.password is not None:
                    smtp.login(self.username, self.password)
            except smtplib.SMTPAuthenticationError as exc:
                raise MailError(
                    f"The mail server refused the SMTP username or password ({_reason(exc)})."
                ) from exc
            except (OSError, smtplib.SMTPException) as exc:
                raise MailError(f"The mail server did not accept the connection ({_reason(exc)}).") from exc
            try:
                smtp.send_message(message, from_addr=self.from_address, to_addrs=[recipient])
            except (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
                raise MailError(f"The mail server refused the message ({_reason(exc)}).") from exc
            except (OSError, smtplib.SMTPException) as exc:
                raise MailError(
                    f"The connection to the mail server failed while sending ({_reason(exc)}); "
                    "the message may or may not have been delivered.",
                    outcome_unknown=True,
                ) from exc
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                # The message was handed over (or failed above): a failed goodbye changes nothing.
                smtp.close()


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [
            f"{addr}: {code} {msg.decode(errors='replace')}" for addr, (code, msg) in exc.recipients.items()
        ]
        return "; ".join(codes) or "recipients refused"
    if isinstance(exc, smtplib.SMTPResponseException):
        said = exc.smtp_error
        return f"{exc.smtp_code} {said.decode(errors='replace') if isinstance(said, bytes) else said}"
    return str(exc) or type(exc).__name__
