"""The privacy job, a periodic job of the worker (``serve`` or ``worker``): erases deleted
accounts whose grace period is over, deletes the media files of deleted actors, removes
login records past their 30 days, and drops the cached posts and profiles of hubs whose
link ended long enough ago (``unlinked_cache_days``). Each pass is one transaction; running
it twice, or in several workers at once, erases nothing twice (rows are marked or gone)."""

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
from fedi.services.job_lock import try_job_lock
from fedi.services.periodic import run_periodically
from fedi.services.retention import prune_logins, prune_unlinked

log = logging.getLogger("voisins.privacy")


@dataclass(frozen=True)
class PassResult:
    erased: int
    media: int
    logins: int
    unlinked: int = 0


class PrivacyJob:
    def __init__(self, sessions: sessionmaker[Session], delete_file: Callable[[str], None], *,
                 interval: float = 300.0, clock: Callable[[], datetime] = utcnow,
                 keep_domain: Callable[[str], bool] | None = None) -> None:
        self.sessions = sessions
        # Domains whose cache stays even if their link ended (linked or allowed again):
        # the peers' ``is_allowed``; without it, none is kept.
        self.keep_domain = keep_domain or (lambda domain: False)
        self.delete_file = delete_file
        self.interval = interval
        self.clock = clock
        self.backoff = Backoff()  # the hub's shares one DatabaseStatus (fedi.app)

    def run_once(self) -> PassResult:
        now = self.clock()
        # Each step under its lock (fedi.services.job_lock): with several worker processes
        # on PostgreSQL, one erases or prunes while the others skip the step.
        with transaction(self.sessions) as session:
            erased = erase_due(session, now) if try_job_lock(session, "privacy.erase") else 0
        with transaction(self.sessions) as session:
            media = (purge_media(session, self.delete_file)
                     if try_job_lock(session, "privacy.media") else 0)
        with transaction(self.sessions) as session:
            logins = prune_logins(session, now) if try_job_lock(session, "privacy.logins") else 0
        with transaction(self.sessions) as session:
            unlinked = (prune_unlinked(session, now, self.keep_domain, self.delete_file)
                        if try_job_lock(session, "privacy.unlinked") else 0)
        return PassResult(erased, media, logins, unlinked)

    async def run_forever(self, stop: asyncio.Event) -> None:
        async def run_pass() -> int:
            done = await asyncio.to_thread(self.run_once)
            if done.erased or done.media or done.unlinked:
                log.info("privacy job: %d accounts erased, %d media files deleted, "
                         "%d posts of unlinked hubs dropped",
                         done.erased, done.media, done.unlinked)
            return done.erased + done.media

        await run_periodically(run_pass, stop, self.interval, log, "privacy job",
                               backoff=self.backoff)
