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
from fedi.services.events import send_reminders

log = logging.getLogger("voisins.events")


class Reminders:
    def __init__(self, sessions: sessionmaker[Session], *, interval: float = 300.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.interval = interval
        self.clock = clock

    def run_once(self) -> int:
        with transaction(self.sessions) as session:
            return send_reminders(session, self.clock())

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                sent = await asyncio.to_thread(self.run_once)
                if sent:
                    log.info("%d event reminders sent", sent)
            except Exception:  # a database hiccup must not end the job
                log.exception("event reminders failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.interval)
            except TimeoutError:
                pass
