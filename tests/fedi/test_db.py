"""SQLite sessions: a read-then-write transaction must not fail because another connection
committed in between (a deferred BEGIN would get "database is locked" at once)."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import select

from fedi.config import load_settings, render_config
from fedi.db import make_engine, make_sessionmaker, reading
from fedi.ids import new_id
from fedi.migrate import upgrade
from fedi.models import Neighbour


def test_write_sessions__read_then_write_beside_another_writer(tmp_path: Path) -> None:
    """Two processes' worth of connections: the second writer waits for the first and then
    reads fresh data, instead of failing with SQLITE_BUSY_SNAPSHOT."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    first_read = threading.Event()
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            first_read.wait(5)
            with sessions() as s, s.begin():
                s.add(Neighbour(id=new_id(), domain="autre.example", territory=[]))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    thread = threading.Thread(target=other_writer)
    thread.start()
    with sessions() as s, s.begin():
        s.scalars(select(Neighbour.domain)).all()  # read first …
        first_read.set()
        s.add(Neighbour(id=new_id(), domain="douze.example", territory=[]))  # … then write
    thread.join(15)
    assert errors == []
    with reading(sessions)() as s:
        assert sorted(s.scalars(select(Neighbour.domain))) == ["autre.example", "douze.example"]
    engine.dispose()


def test_reading_sessions_inside_a_write_transaction(tmp_path: Path) -> None:
    """A deferred read inside another session's write transaction (same thread) does not
    wait on itself."""
    path = tmp_path / "voisins.toml"
    path.write_text(render_config(domain="hub.example", name="Hub",
                                  database_url=f"sqlite:///{tmp_path / 'h.db'}"))
    settings = load_settings(str(path), env={})
    upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    with sessions() as outer, outer.begin():
        outer.add(Neighbour(id=new_id(), domain="onze.example", territory=[]))
        outer.flush()
        with reading(sessions)() as inner:
            assert inner.scalars(select(Neighbour.domain)).all() == []  # not yet committed
    engine.dispose()


def test_migrations_have_one_head() -> None:
    """Branches of the schema are joined as they land: a new migration has one parent to name,
    and `alembic upgrade head` (singular) works for operators used to it."""
    from alembic.script import ScriptDirectory

    from fedi.migrate import alembic_config

    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, heads
