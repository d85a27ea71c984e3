"""``MailSender``: the periodic job of the worker (``serve`` or ``worker``) that sends what
is queued. Each pass claims the due messages in a short transaction, sends them outside any
transaction (in a thread: SMTP blocks), then records each outcome. A worker that dies while
sending loses nothing: the lease runs out and the message is tried again."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session, sessionmaker

from fedi.db import transaction
from fedi.db_faults import Backoff, run_woken
from fedi.mail.queue import Claimed, claim_due, mark_failed, mark_sent
from fedi.mail.settings import MailSettings
from fedi.mail.transport import SendFailed, Transport, build_message

log = logging.getLogger("voisins.mail")


class MailSender:
    def __init__(self, sessions: sessionmaker[Session], settings: MailSettings,
                 transport: Transport) -> None:
        self.sessions = sessions
        self.settings = settings
        self.transport = transport
        self.sent = 0
        self.failed = 0
        self._wake = asyncio.Event()
        self.backoff = Backoff()  # the hub's shares one DatabaseStatus (fedi.app)

    def wake(self) -> None:
        self._wake.set()

    def _claim(self) -> list[Claimed]:
        with transaction(self.sessions) as session:
            return claim_due(session)

    def _send(self, mail: Claimed) -> None:
        try:
            try:
                message = build_message(self.settings.sender, mail.recipient, mail.subject,
                                        mail.text, mail.html, mail.language)
            except (ValueError, TypeError) as exc:  # an address no message can carry
                raise SendFailed(f"cannot build the message: {exc}", permanent=True) from None
            self.transport.send(message)
        except SendFailed as exc:
            self.failed += 1
            log.warning("mail %s to %s not sent (attempt %d): %s", mail.id, mail.recipient,
                        mail.attempts, exc)
            with transaction(self.sessions) as session:
                mark_failed(session, mail.id, str(exc), permanent=exc.permanent,
                            base=self.settings.retry_base, cap=self.settings.retry_cap,
                            max_attempts=self.settings.max_attempts)
            return
        self.sent += 1
        with transaction(self.sessions) as session:
            mark_sent(session, mail.id)

    def run_once(self) -> int:
        """One pass; the number of messages tried."""
        claimed = self._claim()
        for mail in claimed:
            self._send(mail)
        return len(claimed)

    async def run_forever(self, stop: asyncio.Event) -> None:
        await run_woken(self.run_once, stop, self._wake, self.settings.interval, self.backoff, log,
                        "the mail sender")
