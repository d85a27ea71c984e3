"""docs/deploy.md's backups, followed: a backup taken while the hub runs, restored, gives
back the same posts (SQLite: `voisins backup`; PostgreSQL: pg_dump / pg_restore)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select
from support.hubs import HubProcess
from support.postgres import PostgresServer
from support.world import actor, hub_session

from fedi.db import make_engine, make_sessionmaker
from fedi.models import Status
from fedi.services.posting import Draft, create_status


def post(hub: HubProcess, username: str, text: str) -> None:
    with hub_session(hub) as (session, ctx):
        author = actor(session, f"{hub.base}/users/{username}")
        create_status(session, ctx, author, Draft(text=text, visibility="hub"))


def posts(database_url: str) -> list[tuple[str, str]]:
    if database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine)() as session:
            rows = session.execute(select(Status.uri, Status.content).order_by(Status.id)).all()
            return [(uri, content) for uri, content in rows]
    finally:
        engine.dispose()


def test_sqlite_online_backup__restore_gives_the_same_posts(
        make_hub: Callable[..., HubProcess], tmp_path: Path) -> None:
    """`voisins backup` while the hub serves; stop, put the copy in place, start: the posts
    as of the backup, not the one written after it."""
    hub = make_hub("onze")
    hub.add_user("alice")
    hub.start()
    for n in range(3):
        post(hub, "alice", f"avant la sauvegarde {n}")
    database_url = hub.settings().database_url
    before = posts(database_url)
    assert len(before) == 3
    copy = tmp_path / "onze-backup.db"
    result = hub.cli("backup", str(copy))
    assert "wrote" in result.stdout and copy.stat().st_size > 0
    again = hub.cli("backup", str(copy), check=False)  # never overwrites a backup
    assert again.returncode == 2 and "already exists" in again.stderr
    post(hub, "alice", "après la sauvegarde")
    hub.stop()

    db = Path(database_url[len("sqlite:///"):])
    for suffix in ("-wal", "-shm"):  # the restore steps of docs/deploy.md
        Path(str(db) + suffix).unlink(missing_ok=True)
    shutil.copyfile(copy, db)
    hub.start()
    assert posts(database_url) == before
    post(hub, "alice", "après la restauration")  # the restored hub works on
    assert len(posts(database_url)) == 4


@pytest.mark.postgres
def test_postgresql_pg_dump__restore_gives_the_same_posts(
        make_hub: Callable[..., HubProcess], pg_server: PostgresServer, tmp_path: Path) -> None:
    """pg_dump -Fc while the hub serves, pg_restore into a new database: the same posts."""
    hub = make_hub("onze", backend="postgresql")
    hub.add_user("alice")
    hub.start()
    for n in range(3):
        post(hub, "alice", f"avant la sauvegarde {n}")
    database_url = hub.settings().database_url.replace("postgresql+psycopg://", "postgresql://")
    before = posts(database_url)
    refused = hub.cli("backup", str(tmp_path / "x.db"), check=False)
    assert refused.returncode == 2 and "pg_dump" in refused.stderr
    dump = tmp_path / "voisins.dump"
    subprocess.run([str(pg_server.bindir / "pg_dump"), "--format=custom", "--no-owner",
                    f"--file={dump}", f"--dbname={database_url}"], check=True, timeout=120)
    post(hub, "alice", "après la sauvegarde")
    hub.stop()

    restored = pg_server.create_database("t_restored_onze")
    subprocess.run([str(pg_server.bindir / "pg_restore"), "--no-owner", "--exit-on-error",
                    f"--dbname={restored}", str(dump)], check=True, timeout=120)
    assert posts(restored) == before
