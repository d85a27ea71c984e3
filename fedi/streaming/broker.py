"""Carries signals (small dicts: a kind and ids) from committed writes to every web process.

Two backends behind one interface:

- ``LocalBroker``: signals staged in the session wait for its commit, then go to this
  process's dispatcher (SQLite: one web process).
- ``PostgresBroker``: signals staged in the session are sent with ``pg_notify`` inside the
  same transaction; PostgreSQL delivers them at commit only (never for a rollback) to
  every process listening on the channel, this one included.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any, Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from fedi.db_faults import Backoff

Signal = dict[str, Any]
Deliver = Callable[[Signal], None]
CHANNEL = "voisins_stream"
STAGED = "stream_signals"
log = logging.getLogger("voisins.streaming")


class Broker(Protocol):
    def stage(self, session: Session, signals: list[Signal]) -> None:
        """Called while a transaction is open: deliver ``signals`` if and when it commits."""

    def committed(self, session: Session) -> None:
        """The outermost transaction of ``session`` committed."""

    def send(self, signal: Signal) -> None:
        """Deliver a signal now (for hooks outside a transaction)."""

    async def start(self, deliver: Deliver) -> None: ...

    async def stop(self) -> None: ...


class LocalBroker:
    """In-process: after commit, hand the signals to the dispatcher on the event loop."""

    def __init__(self) -> None:
        self._deliver: Deliver | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def stage(self, session: Session, signals: list[Signal]) -> None:
        session.info.setdefault(STAGED, []).extend(signals)

    def committed(self, session: Session) -> None:
        signals = session.info.pop(STAGED, [])
        if signals:
            self._send_all(signals)

    def send(self, signal: Signal) -> None:
        self._send_all([signal])

    def _send_all(self, signals: list[Signal]) -> None:
        loop, deliver = self._loop, self._deliver
        if loop is None or deliver is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            _deliver_each(deliver, signals)
        else:  # a worker thread committed: one wake-up of the loop for all its signals
            loop.call_soon_threadsafe(_deliver_each, deliver, signals)

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        self._loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        self._deliver = None


def _deliver_each(deliver: Deliver, signals: list[Signal]) -> None:
    for signal in signals:
        deliver(signal)


def forget_staged(session: Session) -> None:
    session.info.pop(STAGED, None)


class PostgresBroker:
    """``NOTIFY`` in the writing transaction; one ``LISTEN`` connection per web process."""

    def __init__(self, database_url: str) -> None:
        self.dsn = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
        self._task: asyncio.Task[None] | None = None
        self._conn: Any = None
        self._deliver: Deliver | None = None
        # While PostgreSQL is away: one line, then capped waits (the hub's DatabaseStatus).
        self.backoff = Backoff()

    def stage(self, session: Session, signals: list[Signal]) -> None:
        # One statement for a flush's signals (a batch of inbox posts flushes a hundred).
        session.connection().execute(
            text("SELECT pg_notify(:channel, payload) "
                 "FROM unnest(CAST(:payloads AS text[])) AS payload"),
            {"channel": CHANNEL, "payloads": [json.dumps(signal) for signal in signals]})

    def committed(self, session: Session) -> None:
        """PostgreSQL already delivers the NOTIFYs at commit."""

    def send(self, signal: Signal) -> None:
        if self._loop_ready():
            asyncio.get_running_loop().create_task(self._notify(signal))

    def _loop_ready(self) -> bool:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return False
        return self._conn is not None

    async def _notify(self, signal: Signal) -> None:
        import psycopg

        async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
            await conn.execute("SELECT pg_notify(%s, %s)", (CHANNEL, json.dumps(signal)))

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver
        await self._connect()
        self._task = asyncio.create_task(self._listen_forever(), name="streaming-listen")

    async def _connect(self) -> None:
        import psycopg

        self._conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        await self._conn.execute(f"LISTEN {CHANNEL}")

    async def _listen_forever(self) -> None:
        """Reads notifications; a lost connection is opened again (signals sent meanwhile
        are lost: the streams' clients catch up through the timelines, as after a drop)."""
        while True:
            try:
                if self._conn is None or self._conn.closed:
                    await self._connect()
                    self.backoff.succeeded()
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                delay = self.backoff.failed(exc, "the streaming listener")
                if delay is None:
                    log.warning("streaming: LISTEN connection lost, reconnecting", exc_info=True)
                    delay = 1.0
                with contextlib.suppress(Exception):
                    if self._conn is not None:
                        await self._conn.close()
                self._conn = None
                await asyncio.sleep(delay)

    async def _listen(self) -> None:
        assert self._conn is not None
        async for note in self._conn.notifies():
            try:
                signal = json.loads(note.payload)
            except ValueError:
                continue
            if isinstance(signal, dict) and self._deliver is not None:
                self._deliver(signal)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
        self._conn = None


def broker_for(database_url: str) -> Broker:
    if database_url.startswith("postgresql"):
        return PostgresBroker(database_url)
    return LocalBroker()
