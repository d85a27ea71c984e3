"""Which database errors mean "unavailable, try again later" (fedi.db_faults), the back-off
of the loops, and the 503 answers of the app, with real drivers and a real app."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy import exc as sa_exc
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from support.hubs import wait_for

from fedi.db_faults import Backoff, DatabaseStatus, describe, is_unavailable
from inbox.worker import InboxWorker


def wrapped(orig: BaseException) -> sa_exc.OperationalError:
    return sa_exc.OperationalError("SELECT 1", {}, orig)


@pytest.mark.parametrize(
    ("message", "name", "unavailable"),
    [
        ("database or disk is full", "SQLITE_FULL", True),
        ("disk I/O error", "SQLITE_IOERR_WRITE", True),
        ("unable to open database file", "SQLITE_CANTOPEN", True),
        ("database is locked", "SQLITE_BUSY", False),
        ("no such table: statuses", "SQLITE_ERROR", False),
    ],
)
def test_sqlite_errors(message: str, name: str, unavailable: bool) -> None:
    error = sqlite3.OperationalError(message)
    error.sqlite_errorname = name  # type: ignore[attr-defined]
    assert is_unavailable(wrapped(error)) is unavailable
    assert is_unavailable(error) is unavailable


def test_a_real_sqlite_file_that_cannot_be_opened(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'missing' / 'hub.db'}")
    with pytest.raises(sa_exc.OperationalError) as caught:
        engine.connect()
    assert is_unavailable(caught.value)
    assert describe(caught.value) == "unable to open database file"


def test_a_refused_postgresql_connection_and_other_errors() -> None:
    import psycopg

    engine = create_engine(
        "postgresql+psycopg://postgres@127.0.0.1:1/none", connect_args={"connect_timeout": 2}
    )
    with pytest.raises(sa_exc.OperationalError) as caught:
        engine.connect()
    assert is_unavailable(caught.value)
    assert "\n" not in describe(caught.value)
    assert is_unavailable(wrapped(psycopg.errors.AdminShutdown("terminating connection")))
    assert is_unavailable(wrapped(psycopg.errors.DiskFull("could not extend file")))
    # Not outages: a lock or statement timeout, a constraint, a pool that is not a disconnect.
    assert not is_unavailable(wrapped(psycopg.errors.LockNotAvailable("lock")))
    assert not is_unavailable(wrapped(psycopg.errors.QueryCanceled("statement timeout")))
    assert not is_unavailable(sa_exc.IntegrityError("INSERT", {}, Exception("unique")))
    assert not is_unavailable(ValueError("database or disk is full"))


def test_an_invalidated_connection_and_a_cause_chain() -> None:
    lost = sa_exc.OperationalError("SELECT 1", {}, Exception("gone"), connection_invalidated=True)
    assert is_unavailable(lost)
    try:
        try:
            raise wrapped(sqlite3.OperationalError("database or disk is full"))
        except sa_exc.OperationalError as exc:
            raise RuntimeError("while storing") from exc
    except RuntimeError as outer:
        assert is_unavailable(outer)
    assert is_unavailable(ExceptionGroup("tasks", [ValueError("x"), lost]))


def test_the_status_logs_once_per_outage(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    status = DatabaseStatus(clock=lambda: now[0], quiet_for=60)
    error = wrapped(sqlite3.OperationalError("database or disk is full"))
    with caplog.at_level(logging.INFO, logger="voisins.database"):
        for _ in range(50):
            now[0] += 0.1
            status.went_away(error, "test")
        status.came_back()
        status.came_back()
        # A request that began during the outage and failed just after the recovery.
        status.went_away(error, "test", began=now[0] - 1)
        now[0] += 1
        status.went_away(error, "test")  # a second outage: a second line
        now[0] += 100
        status.went_away(error, "test")  # a minute of quiet: a new outage nobody saw end
    lines = [r.getMessage() for r in caplog.records]
    assert [line.split(" (")[0] for line in lines] == [
        "database unavailable",
        "database available again after 4.9 s",
        "database unavailable",
        "database unavailable",
    ]
    assert not any(r.exc_info for r in caplog.records)
    assert status.outages == 3


def test_backoff_doubles_and_is_capped() -> None:
    backoff = Backoff(DatabaseStatus(), first=0.5, cap=30)
    error = wrapped(sqlite3.OperationalError("database or disk is full"))
    delays = [backoff.failed(error, "test") for _ in range(10)]
    assert delays == [0.5, 1, 2, 4, 8, 16, 30, 30, 30, 30]
    assert backoff.failed(ValueError("a bug"), "test") is None  # not an outage: not paced
    backoff.succeeded()
    assert backoff.failed(error, "test") == 0.5
    assert not backoff.status.down or backoff.status.outages == 2


def test_the_inbox_worker_backs_off_without_a_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database that cannot be opened: a few cycles in a second, not one every 0.5 s
    with a traceback each, and one line."""
    from sqlalchemy.orm import sessionmaker

    engine = create_engine(f"sqlite:///{tmp_path / 'gone' / 'hub.db'}")
    worker = InboxWorker(sessionmaker(engine), None)  # type: ignore[arg-type]  # nothing runs
    worker.backoff = Backoff(DatabaseStatus(), first=0.1, cap=0.4)
    calls = []
    original = worker.run_once

    def counted() -> int:
        calls.append(1)
        return original()

    worker.run_once = counted  # type: ignore[method-assign]

    async def run() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(worker.run_forever(stop))
        await asyncio.sleep(1.2)  # the duration under test, not a synchronisation
        stop.set()
        await asyncio.wait_for(task, 5)

    with caplog.at_level(logging.INFO):
        asyncio.run(run())
    assert 2 <= len(calls) <= 6  # 0.1 + 0.2 + 0.4 + 0.4 ...
    assert [r.getMessage().split(" (")[0] for r in caplog.records] == ["database unavailable"]
    assert not any(r.exc_info for r in caplog.records)


JUNK = {"Authorization": "Bearer not-a-token"}  # looked up in the database, then 401


def test_inside_the_app_an_outage_is_a_503(tmp_path: Path) -> None:
    """Every kind of answer, from a real app whose database file has gone."""
    from fedi.app import create_app
    from fedi.config import load_settings, render_config
    from fedi.migrate import upgrade

    db = tmp_path / "hub.db"
    config = tmp_path / "voisins.toml"
    config.write_text(
        render_config(
            domain="hub.test",
            name="Hub",
            scheme="http",
            territory=["75011"],
            database_url=f"sqlite:///{db}",
            allow_http=True,
            allow_private_addresses=True,
        ),
        encoding="utf-8",
    )
    settings = load_settings(str(config), env={})
    upgrade(settings.database_url)
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        assert client.get("/api/v1/timelines/home", headers=JUNK).status_code == 401
        hub = app.state.hub
        hub.engine.dispose()
        db.rename(tmp_path / "moved.db")
        (tmp_path / "hub.db").mkdir()  # "unable to open database file" from now on
        try:
            api = client.get("/api/v1/timelines/home", headers={**JUNK, "Accept-Language": "fr"})
            assert api.status_code == 503
            assert api.headers["retry-after"] == "10"
            assert api.json() == {
                "error": "La base de données du hub est momentanément "
                "indisponible ; réessayez dans un instant"
            }
            english = client.get(
                "/api/v1/timelines/home", headers={**JUNK, "Accept-Language": "en"}
            )
            assert english.json()["error"].startswith("The hub's database is unavailable")
            page = client.get("/", headers={"Accept": "text/html", "Accept-Language": "en"})
            assert page.status_code == 503
            assert "The hub is briefly unavailable" in page.text
            assert page.headers["retry-after"] == "10"
            french = client.get("/?lang=fr", headers={"Accept": "text/html"})
            assert "Le hub est momentanément indisponible" in french.text
            inbox = client.post(
                "/inbox", content=b"{}", headers={"Content-Type": "application/activity+json"}
            )
            assert inbox.status_code in (401, 503)  # unsigned: refused before any storage
            sse = client.get("/api/v1/streaming/user", headers=JUNK)
            assert sse.status_code == 503
            with pytest.raises(WebSocketDisconnect) as closed:  # noqa: SIM117
                with client.websocket_connect("/api/v1/streaming?access_token=junk") as ws:
                    ws.receive_text()
            assert closed.value.code == 1013  # try again later
            assert hub.database.down
        finally:
            (tmp_path / "hub.db").rmdir()
            (tmp_path / "moved.db").rename(db)
        assert client.get("/api/v1/timelines/home", headers=JUNK).status_code == 401
        # Only web requests met this outage; the probe sees the database take writes again.
        wait_for(lambda: not hub.database.down, timeout=30, what="the probe to see it back")
