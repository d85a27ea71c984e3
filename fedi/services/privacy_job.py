"""The privacy job, a periodic job of the worker (``serve`` or ``worker``): erases deleted
accounts whose grace period is over, deletes the media files of deleted actors, and removes
login records past their 30 days. Each pass is one transaction; running it twice, or in
several workers at once, erases nothing twice (rows are marked or gone)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from fedi.db import transaction, utcnow
from fedi.db_faults import Backoff
from fedi.services.erasure import erase_due, purge_media
from fedi.services.periodic import run_periodically
from fedi.services.retention import prune_logins

log = logging.getLogger("voisins.privacy")


@dataclass(frozen=True)
class PassResult:
    erased: int
    media: int
    logins: int


class PrivacyJob:
    def __init__(self, sessions: sessionmaker[Session], delete_file: Callable[[str], None], *,
                 interval: float = 300.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.delete_file = delete_file
        self.interval = interval
        self.clock = clock
        self.backoff = Backoff()  # the hub's shares one DatabaseStatus (fedi.app)

    def run_once(self) -> PassResult:
        now = self.clock()
        with transaction(self.sessions) as session:
            erased = erase_due(session, now)
        with transaction(self.sessions) as session:
            media = purge_media(session, self.delete_file)
        with transaction(self.sessions) as session:
            logins = prune_logins(session, now)
        return PassResult(erased, media, logins)

    async def run_forever(self, stop: asyncio.Event) -> None:
        async def run_pass() -> int:
            done = await asyncio.to_thread(self.run_once)
            if done.erased or done.media:
                log.info("privacy job: %d accounts erased, %d media files deleted",
                         done.erased, done.media)
            return done.erased + done.media

        await run_periodically(run_pass, stop, self.interval, log, "privacy job",
                               backoff=self.backoff)
