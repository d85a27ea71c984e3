"""Group the inbox's durable writes: many concurrent POSTs, one transaction.

Each accepted activity must be stored before its 202, and a commit costs far more than an
insert (SQLite takes its write lock, PostgreSQL waits for its WAL flush). Requests that
arrive while a commit runs wait together for the next one, in a thread, so the event loop
keeps accepting and verifying meanwhile.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from fedi.ids import new_id
from fedi.models import InboxItem
from inbox.queue import store_activity

MAX_BATCH = 256

_turns: weakref.WeakKeyDictionary[Any, threading.Lock] = weakref.WeakKeyDictionary()
_turns_lock = threading.Lock()


def write_turn(sessions: sessionmaker[Session]) -> Any:
    """On SQLite, the lock this process's inbox writer and worker take around their write
    transactions: they hand the database's single write lock to each other at once,
    instead of waiting in SQLite's busy handler, which sleeps up to 100 ms a time and lets
    the worker's next batch overtake the waiting 202s. A no-op on PostgreSQL."""
    engine = sessions.kw.get("bind")
    if engine is None or engine.dialect.name != "sqlite":
        return nullcontext()
    pool = engine.pool  # shared by an engine and its copies with other execution options
    with _turns_lock:
        turn = _turns.get(pool)
        if turn is None:
            turn = _turns[pool] = threading.Lock()
    return turn


@dataclass
class _Pending:
    activity_id: str
    doc: dict[str, Any]
    actor_uri: str
    key_id: str
    recipient_id: int | None
    done: asyncio.Future[bool]


class InboxWriter:
    """``await store(...)`` → True when stored, False for a replay already stored."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self._pending: list[_Pending] = []
        self._flushing = False

    async def store(self, activity_id: str, doc: dict[str, Any], actor_uri: str, key_id: str,
                    recipient_id: int | None) -> bool:
        loop = asyncio.get_running_loop()
        item = _Pending(activity_id, doc, actor_uri, key_id, recipient_id, loop.create_future())
        self._pending.append(item)
        if not self._flushing:
            self._flushing = True
            loop.create_task(self._flush_loop())
        return await item.done

    async def _flush_loop(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    results = await asyncio.to_thread(self._write, batch)
                except Exception as exc:  # noqa: BLE001 - handed to every waiting request
                    for item in batch:
                        if not item.done.done():
                            item.done.set_exception(exc)
                    continue
                for item, stored in zip(batch, results, strict=True):
                    if not item.done.done():
                        item.done.set_result(stored)
        finally:
            self._flushing = False

    def _write(self, batch: list[_Pending]) -> list[bool]:
        ids = [item.activity_id for item in batch]
        try:
            with write_turn(self.sessions), self.sessions() as session, session.begin():
                existing = set(session.scalars(
                    select(InboxItem.activity_uri).where(InboxItem.activity_uri.in_(ids))))
                results, rows = [], []
                for item in batch:
                    if item.activity_id in existing:
                        results.append(False)
                        continue
                    existing.add(item.activity_id)  # a replay inside the same batch
                    rows.append({"id": new_id(), "activity_uri": item.activity_id,
                                 "actor_uri": item.actor_uri, "key_id": item.key_id,
                                 "recipient_id": item.recipient_id, "payload": item.doc})
                    results.append(True)
                if rows:  # one INSERT for the batch (no ORM entities to track)
                    session.execute(insert(InboxItem), rows)
            return results
        except IntegrityError:
            # Another process stored one of them meanwhile: fall back to one at a time.
            return [store_activity(self.sessions, i.activity_id, i.doc, i.actor_uri, i.key_id,
                                   i.recipient_id) for i in batch]
