"""Database engine, sessions and the declarative base shared by every model."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import BigInteger, DateTime, Engine, MetaData, TypeDecorator, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY; our ids come from fedi.ids anyway.
BigId = BigInteger().with_variant(sqlite.INTEGER(), "sqlite").with_variant(
    postgresql.BIGINT(), "postgresql"
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # We emit BEGIN ourselves (below): pysqlite's implicit transactions break SAVEPOINT
    # and cannot take the write lock up front.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL lets readers run beside the single writer; NORMAL sync is safe with WAL.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    """BEGIN, or BEGIN IMMEDIATE for write sessions (``sqlite_begin="IMMEDIATE"``).

    A deferred transaction that reads and then writes fails at once ("database is locked",
    SQLITE_BUSY_SNAPSHOT) when another connection committed in between: waiting cannot
    help it. Writers that read first take the write lock at BEGIN instead, and wait for it.
    """
    mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
    conn.exec_driver_sql(f"BEGIN {mode}")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for SQLite (WAL, foreign keys) or PostgreSQL (psycopg 3)."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 10}, **kwargs
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkin", _note_idle)
        event.listen(engine, "checkout", _ping_if_idle(engine))
    return engine


# A pooled PostgreSQL connection is pinged (one round trip) before use only when it sat
# idle this long: one in steady use has just worked, and pinging it on every checkout (
# ``pool_pre_ping``) cost a round trip per request, on the hub and on the server. A server
# restarted while connections were busy is caught by the failing statement instead:
# SQLAlchemy sees the disconnect, invalidates every pooled connection opened before it,
# and the request answers 503 (fedi.db_faults); the next ones get fresh connections.
IDLE_PING_SECONDS = 2.0


def _note_idle(_dbapi_conn: Any, record: Any) -> None:
    record.info["idle_since"] = time.monotonic()


def _ping_if_idle(engine: Engine) -> Any:
    def checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since < IDLE_PING_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:
            # The pool drops this connection and checks out another (a fresh one if
            # need be): the documented "pessimistic disconnect" recipe.
            raise DisconnectionError("idle connection lost") from exc

    return checkout




def make_sessionmaker(engine: Engine, *, deferred: bool = False) -> sessionmaker[Session]:
    """Sessions on ``engine``. On SQLite they take the write lock at BEGIN (and wait for it),
    unless ``deferred``: only for read paths that never write, or that retry on
    "database is locked" (see fedi.api.auth)."""
    if not deferred and engine.dialect.name == "sqlite":
        return sessionmaker(engine.execution_options(sqlite_begin="IMMEDIATE"),
                            expire_on_commit=False)
    return sessionmaker(engine, expire_on_commit=False)


def reading(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """A deferred twin of ``factory``, for reads that may run inside another session's
    write transaction in the same thread (an IMMEDIATE BEGIN there would wait on itself)."""
    bind = factory.kw.get("bind")
    if bind is None or bind.dialect.name != "sqlite":
        return factory
    return sessionmaker(bind.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False)


_AUTOCOMMIT: WeakKeyDictionary[sessionmaker[Session], sessionmaker[Session]] = (
    WeakKeyDictionary())


def autocommit_reads(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """On PostgreSQL, a twin of ``factory`` whose statements each run in their own implicit
    transaction: no BEGIN and COMMIT round trips, for requests that only read. READ
    COMMITTED (the default) already gives each statement its own snapshot, so reads see the
    same as in a transaction. Anything written through it would commit statement by
    statement: never use it where a handler writes. On SQLite, ``factory`` itself."""
    bind = factory.kw.get("bind")
    if bind is None or bind.dialect.name != "postgresql":
        return factory
    twin = _AUTOCOMMIT.get(factory)
    if twin is None:
        twin = sessionmaker(bind.execution_options(isolation_level="AUTOCOMMIT"),
                            expire_on_commit=False)
        _AUTOCOMMIT[factory] = twin
    return twin


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, on SQLite and PostgreSQL alike."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def run_after_commit(session: Session) -> None:
    """Call the callbacks queued in ``session.info["after_commit"]`` (e.g. wake a worker)."""
    for callback in session.info.pop("after_commit", []):
        callback()


def forget_after_commit(session: Session) -> None:
    session.info.pop("after_commit", None)


event.listen(Session, "after_commit", run_after_commit)
event.listen(Session, "after_soft_rollback", lambda session, _tx: forget_after_commit(session))
