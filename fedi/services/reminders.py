"""The day-before reminder of events, a periodic job of the worker (``serve`` or ``worker``).

Each pass reminds the participants of events starting within a day and marks the events,
in one transaction: running it again, or in several workers at once, reminds nobody twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from fedi.db import transaction, utcnow
from fedi.db_faults import Backoff, rest
from fedi.services.events import send_reminders

log = logging.getLogger("voisins.events")


class Reminders:
    def __init__(self, sessions: sessionmaker[Session], *, interval: float = 300.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.interval = interval
        self.clock = clock
        self.backoff = Backoff()  # the hub's shares one DatabaseStatus (fedi.app)

    def run_once(self) -> int:
        with transaction(self.sessions) as session:
            return send_reminders(session, self.clock())

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await asyncio.to_thread(self.run_once)
                self.backoff.succeeded()
                if sent:
                    log.info("%d event reminders sent", sent)
            except Exception as exc:  # a database hiccup must not end the job
                delay = self.backoff.failed(exc, "the event reminders")
                if delay is not None:
                    await rest(stop, min(delay, self.interval))
                    continue
                log.exception("event reminders failed")
            await rest(stop, self.interval)
