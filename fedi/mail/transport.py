"""How a message leaves the hub: ``Transport.send``. ``SmtpTransport`` speaks SMTP (STARTTLS,
implicit TLS or plain) with ``smtplib``; it blocks, so the sender runs it in a thread."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Protocol

from fedi.mail.settings import MailSettings


class SendFailed(Exception):
    """The message did not go out. ``permanent``: the server refused it for good (5xx)."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Transport(Protocol):
    def send(self, message: EmailMessage) -> None:
        """Hand ``message`` over, or raise ``SendFailed``."""


def build_message(sender: str, recipient: str, subject: str, text: str, html: str,
                  language: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2].strip("> ") or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    message["Content-Language"] = language  # after set_content, which drops Content-* headers
    return message


class SmtpTransport:
    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "tls":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout,
                                    context=ssl.create_default_context())
        client = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        if s.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        return client

    def send(self, message: EmailMessage) -> None:
        try:
            with self._connect() as client:
                if self.settings.user:
                    client.login(self.settings.user, self.settings.password)
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _msg in exc.recipients.values()]
            raise SendFailed(f"recipient refused: {codes}",
                             permanent=all(500 <= c < 600 for c in codes)) from None
        except smtplib.SMTPResponseException as exc:
            raise SendFailed(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}"[:900],
                             permanent=500 <= exc.smtp_code < 600
                             and not isinstance(exc, smtplib.SMTPAuthenticationError)) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}"[:900]) from None
