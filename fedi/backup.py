"""A consistent copy of a hub's SQLite database while the hub runs (SQLite's online backup).

PostgreSQL hubs use ``pg_dump`` instead (docs/deploy.md): the server already makes a
consistent snapshot, and its format restores into a newer PostgreSQL.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


class BackupError(Exception):
    """The backup cannot be made; the message says why."""


def sqlite_path(database_url: str) -> Path:
    """The file behind a ``sqlite:///…`` URL; BackupError for anything else."""
    if not database_url.startswith("sqlite:///"):
        raise BackupError("voisins backup copies SQLite databases; for PostgreSQL use pg_dump "
                          "(docs/deploy.md)")
    path = database_url[len("sqlite:///") :]
    if not path or path == ":memory:":
        raise BackupError("the database is in memory: there is nothing to copy")
    return Path(path)


def backup_sqlite(database_url: str, destination: Path) -> int:
    """Copy the database page by page into ``destination`` (a new file) and return its size.

    Writers go on meanwhile: SQLite restarts the copy of pages they change, and the result
    is the database as of one transaction. The copy is written next to ``destination``
    and renamed into place, so a failed backup leaves no half-written file.
    """
    source_path = sqlite_path(database_url)
    if not source_path.is_file():
        raise BackupError(f"the database {source_path} does not exist (run voisins migrate)")
    if destination.exists():
        raise BackupError(f"{destination} already exists: choose a new file name")
    if not destination.parent.is_dir():
        raise BackupError(f"the folder {destination.parent} does not exist")
    partial = destination.with_name(destination.name + ".partial")
    source = sqlite3.connect(source_path, timeout=30)
    try:
        target = sqlite3.connect(partial)
        try:
            source.backup(target, pages=1024)
            ok = target.execute("PRAGMA integrity_check").fetchone()
            if ok is None or ok[0] != "ok":
                raise BackupError(f"the copy failed its integrity check: {ok}")
        finally:
            target.close()
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"cannot copy {source_path}: {exc}") from None
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    os.replace(partial, destination)
    return destination.stat().st_size
