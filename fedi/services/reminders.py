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

from fedi.config import Settings
from fedi.db import transaction, utcnow
from fedi.db_faults import Backoff
from fedi.services.events import send_reminders
from fedi.services.periodic import run_periodically

log = logging.getLogger("voisins.events")


class Reminders:
    def __init__(self, sessions: sessionmaker[Session], *, interval: float = 300.0,
                 clock: Callable[[], datetime] = utcnow, settings: Settings | None = None) -> None:
        self.sessions = sessions
        self.settings = settings  # given: reminders by mail too (fedi.services.reminder_mail)
        self.interval = interval
        self.clock = clock
        self.backoff = Backoff()  # the hub's shares one DatabaseStatus (fedi.app)

    def run_once(self) -> int:
        with transaction(self.sessions) as session:
            return send_reminders(session, self.clock(), settings=self.settings)

    async def run_forever(self, stop: asyncio.Event) -> None:
        async def run_pass() -> int:
            sent = await asyncio.to_thread(self.run_once)
            if sent:
                log.info("%d event reminders sent", sent)
            return 0  # a pass reminds everyone due: wait the interval after every pass

        await run_periodically(run_pass, stop, self.interval, log, "event reminders",
                               backoff=self.backoff)
