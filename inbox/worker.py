"""The inbox worker: claim stored activities and run their handlers, one transaction each."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import inbox.handlers  # noqa: F401  (fills the dispatch table)
from fedi.db import utcnow
from fedi.db_faults import Backoff, is_unavailable, rest
from fedi.models import Actor, InboxItem
from inbox.dispatch import HandlerContext, dispatch
from inbox.prefetch import Prefetched, created_post_uri, prefetch
from inbox.queue import claim_due, mark_done, mark_failed
from inbox.writer import write_turn
from outbox.context import PublishContext

log = logging.getLogger("voisins.inbox")

SQLITE_BATCH_SECONDS = 0.05
MIN_CLAIM = 16


def _is_sqlite(sessions: sessionmaker[Session]) -> bool:
    bind = sessions.kw.get("bind")
    return bind is not None and bind.dialect.name == "sqlite"


class InboxWorker:
    """Processes inbox items; ``run_once()`` is the test entry point."""

    def __init__(self, sessions: sessionmaker[Session], ctx: PublishContext, *,
                 clock: Callable[[], datetime] = utcnow, batch: int = 100,
                 lease: timedelta = timedelta(seconds=60)) -> None:
        self.sessions = sessions
        self.ctx = ctx
        self.clock = clock
        self.batch = batch
        self.lease = lease
        self._wake = asyncio.Event()
        self.backoff = Backoff()  # the hub's shares one DatabaseStatus (fedi.app)
        # SQLite has one write lock, which the 202s wait for: a batch holds it this long at
        # most (seconds), the rest of its items waiting for the next batch.
        self.budget: float | None = SQLITE_BATCH_SECONDS if _is_sqlite(sessions) else None
        # How many items to claim: a batch cut short by the budget claims fewer next time
        # (claiming, parsing and looking up items that wait anyway costs as much as them).
        self._claim = batch

    def wake(self) -> None:
        self._wake.set()

    def run_once(self) -> int:
        """Process one batch in one transaction (commits are what an inbox spends its time
        on). Every item is expected to succeed: when one fails, the whole batch is undone and
        done again with a savepoint per item, so that one bad item cannot undo the others
        and is recorded for a retry."""
        try:
            return self._run_batch(careful=False)
        except Exception as exc:
            if is_unavailable(exc):
                raise  # not an item's fault: the whole batch waits for the database
            return self._run_batch(careful=True)

    def _run_batch(self, *, careful: bool) -> int:
        now = self.clock()
        failures: list[tuple[int, str]] = []
        deadline = time.monotonic() + self.budget if self.budget is not None else None
        with write_turn(self.sessions), self.sessions() as session, session.begin():
            # Claimed in the processing transaction: on PostgreSQL the rows stay locked (SKIP
            # LOCKED) until it commits, on SQLite the write lock is held; a crash undoes all.
            claimed = claim_due(session, now=now, limit=self._claim, lease=None)
            if not claimed:
                return 0
            senders = {a.uri: a for a in session.scalars(
                select(Actor).where(Actor.uri.in_({uri for _, uri, _ in claimed})))}
            known: Prefetched | None = prefetch(
                session, (payload for _, _, payload in claimed),
                (a.id for a in senders.values()))
            done: list[int] = []
            handled = 0
            for item_id, actor_uri, payload in claimed:
                if deadline is not None and handled and time.monotonic() > deadline:
                    break  # the rest stays pending (nothing was leased): the next batch
                handled += 1
                if known is not None and created_post_uri(payload) is None:
                    known = None  # this item may change what was looked up: ask again
                actor = senders.get(actor_uri)
                if not careful:
                    if actor is None:
                        raise LookupError(f"sender {actor_uri} is not stored")
                    dispatch(HandlerContext(session, self.ctx, actor, known), payload)
                    done.append(item_id)
                    continue
                try:
                    with session.begin_nested():
                        if actor is None:
                            raise LookupError(f"sender {actor_uri} is not stored")
                        dispatch(HandlerContext(session, self.ctx, actor, known), payload)
                        mark_done(session, [item_id])
                except Exception as exc:  # recorded on the row and retried
                    if is_unavailable(exc):
                        raise  # not the item's fault: the whole batch waits for the database
                    log.warning("inbox item %s failed: %r", item_id, exc)
                    failures.append((item_id, repr(exc)))
                    known = None  # it may hold what the undone item stored
            mark_done(session, done)
            for item_id, error in failures:
                row = session.get(InboxItem, item_id)
                if row is not None:
                    mark_failed(session, row, error, self.clock())
        self._claim = (max(MIN_CLAIM, handled * 2) if handled < len(claimed)
                       else min(self.batch, self._claim * 2))
        return handled

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await asyncio.to_thread(self.run_once)
            except Exception as exc:  # a database hiccup must not kill the loop
                delay = self.backoff.failed(exc, "the inbox worker")
                if delay is not None:  # the database is away: wait, claimed items keep a lease
                    await rest(stop, delay)
                    continue
                log.exception("inbox worker cycle failed")
                done = 0
            else:
                self.backoff.succeeded()
            if done == 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                except TimeoutError:
                    pass
