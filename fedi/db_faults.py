"""The database going away: which errors mean "unavailable", and how loops live through it.

One classification for every layer: the web answers 503 with ``Retry-After`` for these
errors (``fedi.web.outage``), and the background loops back off (``Backoff``) instead of
writing a traceback every cycle; ``DatabaseStatus`` writes one line when the database goes
away and ``DatabaseProbe`` one when it takes writes again. "Unavailable" means the database cannot be reached or
cannot store anything right now, and trying again later is the right answer:

- PostgreSQL stopped, restarting or unreachable: connection refused, the server closing the
  connection, ``57P01``-``57P03`` (admin/crash shutdown, starting up), class ``08``
  (connection exceptions), class ``53`` (disk full, out of memory, too many connections);
- a connection SQLAlchemy had to invalidate, a pool that cannot hand out a connection;
- SQLite: ``SQLITE_FULL`` (disk full), ``SQLITE_IOERR*`` (disk I/O error),
  ``SQLITE_CANTOPEN`` (the file cannot be opened).

Anything else (a constraint violation, a lock timeout, a bug) is not an outage and keeps
its normal path (a 500 with a traceback in the log, where it must be seen).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, text
from sqlalchemy import exc as sa_exc

log = logging.getLogger("voisins.database")

# Seconds a client, an app or a remote hub is asked to wait before trying again.
RETRY_AFTER_SECONDS = 10
# PostgreSQL SQLSTATEs (or their classes) that mean "not now" rather than "never".
_PG_CLASSES = ("08", "53")
_PG_STATES = frozenset({"57P01", "57P02", "57P03"})
_SQLITE_NAMES = ("SQLITE_FULL", "SQLITE_IOERR", "SQLITE_CANTOPEN")
_SQLITE_MESSAGES = ("database or disk is full", "disk i/o error", "unable to open database file")


def _one_is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.DisconnectionError | sa_exc.TimeoutError):
        return True  # a dead pooled connection; no connection free before the pool timeout
    if isinstance(exc, sqlite3.Error):
        name = getattr(exc, "sqlite_errorname", "") or ""
        return name.startswith(_SQLITE_NAMES) or str(exc).lower().startswith(_SQLITE_MESSAGES)
    if type(exc).__module__.startswith("psycopg"):
        import psycopg  # only PostgreSQL deployments get here, and they have it

        if not isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            return False
        state = getattr(exc, "sqlstate", None)
        # No SQLSTATE: the failure is on the client side of the socket (refused, closed).
        return state is None or state in _PG_STATES or state[:2] in _PG_CLASSES
    return False


def is_unavailable(exc: BaseException) -> bool:
    """Does this error mean the database is unreachable or full (try again later)?"""
    todo: list[BaseException] = [exc]
    seen: set[int] = set()
    while todo and len(seen) < 20:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if _one_is_unavailable(current):
            return True
        if isinstance(current, sa_exc.DBAPIError) and isinstance(current.orig, BaseException):
            todo.append(current.orig)
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        # Raised from it, or while handling it (a rollback failing on the same lost socket).
        todo.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return False


def describe(exc: BaseException) -> str:
    """One short line for the log: the driver's message, without SQL or parameters."""
    inner = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    lines = str(inner).strip().splitlines()
    text = lines[0] if lines else type(inner).__name__
    return text[:200]


class DatabaseStatus:
    """Whether this process found the database reachable; logs each change once.

    Shared by the web answers and every background loop of one process, so an outage
    writes one line when it starts and one when it ends, however many requests and loops
    meet it. A process that runs no loop (nothing reports the recovery) logs a new outage
    again only after ``quiet_for`` seconds without a failure.
    """

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, quiet_for: float = 60.0
    ) -> None:
        self.clock = clock
        self.quiet_for = quiet_for
        self.down_since: float | None = None
        self.outages = 0
        self._last_failure = 0.0
        self._back_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def went_away(self, exc: BaseException, where: str, *, began: float | None = None) -> None:
        """``began``: when the failed work started (this clock); work that started before
        the last recovery failed in the outage already logged, not in a new one."""
        now = self.clock()
        with self._lock:
            if self.down_since is None and began is not None and began < self._back_at:
                return
            stale = self.down_since is not None and now - self._last_failure > self.quiet_for
            self._last_failure = now
            if self.down_since is not None and not stale:
                return
            self.down_since = now
            self.outages += 1
        log.error(
            "database unavailable (%s, seen by %s): answering 503 and retrying with "
            "back-off until it returns",
            describe(exc),
            where,
        )

    def came_back(self) -> None:
        with self._lock:
            since, self.down_since = self.down_since, None
            self._back_at = self.clock()
        if since is not None:
            log.warning("database available again after %.1f s", self.clock() - since)


class Backoff:
    """The pace of one background loop: capped exponential waits while the database is away."""

    def __init__(
        self, status: DatabaseStatus | None = None, *, first: float = 0.5, cap: float = 30.0
    ) -> None:
        self.status = status or DatabaseStatus()
        self.first = first
        self.cap = cap
        self.failures = 0

    def failed(self, exc: BaseException, where: str) -> float | None:
        """The seconds to wait if ``exc`` is an outage; None for any other error."""
        if not is_unavailable(exc):
            return None
        self.status.went_away(exc, where)
        delay = min(self.cap, self.first * 2 ** min(self.failures, 16))
        self.failures += 1
        return delay

    def succeeded(self) -> None:
        """After this loop's own failures only: a cycle that began before the outage and
        ended well says nothing about the database now."""
        if self.failures:
            self.failures = 0
            self.status.came_back()


async def rest(stop: asyncio.Event, seconds: float) -> None:
    """Wait ``seconds``, or less if ``stop`` is set meanwhile."""
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


async def run_woken(run_once: Callable[[], int], stop: asyncio.Event, wake: asyncio.Event,
                    interval: float, backoff: Backoff, log: logging.Logger, what: str) -> None:
    """Run ``run_once`` in a thread until ``stop``; between passes wait ``interval`` seconds,
    or less when ``wake`` is set (new work was queued). While the database is away,
    ``backoff`` paces the passes and the outage is one log line, not a traceback per pass."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(run_once)
            backoff.succeeded()
        except Exception as exc:  # a job must outlive a database hiccup
            delay = backoff.failed(exc, what)
            if delay is not None:
                await rest(stop, delay)
                continue
            log.exception("%s failed", what)
        wake.clear()
        stopped = asyncio.ensure_future(stop.wait())
        woken = asyncio.ensure_future(wake.wait())
        await asyncio.wait([stopped, woken], timeout=interval,
                           return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        woken.cancel()


def probe(engine: Engine) -> None:
    """Raise unless the database takes a write now: a full disk still answers reads, so
    only a committed write proves it can store again. Rewrites the one row of
    ``alembic_version`` with itself (every migrated database has it)."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = version_num"))


class DatabaseProbe:
    """Tells ``DatabaseStatus`` when the database is back, whoever saw it go.

    Idle (one attribute read a second) while the database is fine; while it is away, a
    write probe with capped, growing waits, so the recovery line is written even when
    only web requests met the outage (a full SQLite disk fails writes, not the loops'
    reads)."""

    def __init__(
        self,
        engine: Engine,
        status: DatabaseStatus,
        *,
        idle: float = 1.0,
        first: float = 0.5,
        cap: float = 30.0,
    ) -> None:
        self.engine = engine
        self.status = status
        self.idle = idle
        self.first = first
        self.cap = cap

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            if not self.status.down:
                await rest(stop, self.idle)
                continue
            delay = self.first
            while self.status.down and not stop.is_set():
                await rest(stop, delay)
                try:
                    await asyncio.to_thread(probe, self.engine)
                except Exception as exc:  # noqa: BLE001 - still away, or not yet: try later
                    if not is_unavailable(exc):
                        log.warning("database probe failed: %s", describe(exc))
                    delay = min(self.cap, delay * 2)
                else:
                    self.status.came_back()
