"""SQLite on a disk that fills up (``SQLITE_FULL``), then gets space back (issue 14, Faults).

The hub's database lives on a tmpfs of a few megabytes mounted for this test (the tests run
as root, here and in CI). A filler file takes the free space; posting then answers 503 with
``Retry-After`` and a clear message instead of 500, the inbox answers 503, the log holds one
line, no traceback; ``PRAGMA integrity_check`` says ok; once the filler is removed, posting
works again and every post that was answered 200 is there, none that was answered 503.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.client import MemberClient
from support.hostile import create_note, hostile_world, wait_processed
from support.hubs import wait_for

pytestmark = pytest.mark.slow
SIZE = "8m"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of a few megabytes, unmounted after the test."""
    where = tmp_path / "disk"
    where.mkdir()
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(where)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mount.returncode != 0:
        pytest.fail(
            f"this fault test mounts a {SIZE} tmpfs and must run as root (or with "
            f"CAP_SYS_ADMIN): mount said {mount.stderr.strip()!r}"
        )
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True, check=False)


def fill(path: Path) -> int:
    """Write zeros to ``path`` until the filesystem is full; the bytes written."""
    written = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        for size in (65536, 4096, 512, 1):
            while True:
                try:
                    written += f.write(chunk[:size])
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return written


def integrity(db: Path) -> str:
    with sqlite3.connect(db, timeout=30) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


def test_sqlite_disk_full_answers_503_and_recovers(tmp_path: Path, small_disk: Path) -> None:
    db = small_disk / "hub.db"
    with hostile_world(tmp_path / "hub", "full", database_url=f"sqlite:///{db}") as world:
        hub = world.hub
        alice = MemberClient(hub, "alice")
        log_path = hub.workdir / "serve.log"
        offset = log_path.stat().st_size
        author = world.evil.add_actor("remote")
        filler = small_disk / "filler"
        assert fill(filler) > 0
        stored: list[str] = []
        refused: list[str] = []
        content = "x" * 400
        for n in range(400):  # the WAL has room for a few posts; then the disk is full
            r = alice.call(
                "POST",
                "/api/v1/statuses",
                json={"status": f"{n} {content}"},
                headers={"Accept-Language": "fr"},
            )
            assert r.status_code in (200, 503), (r.status_code, r.text[:300])
            if r.status_code == 200:
                stored.append(r.json()["id"])
                continue
            refused.append(f"{n} {content}")
            assert int(r.headers["retry-after"]) > 0
            assert "base de données" in r.json()["error"], r.text
            if len(refused) >= 5:
                break
        assert len(refused) >= 5, "the disk never filled up"

        note = create_note(author, to=[world.alice], mentions=[world.alice])
        inbox = world.evil.post(world.inbox, note, author)
        assert inbox.status_code == 503, (inbox.status_code, inbox.text[:300])
        assert "retry-after" in inbox.headers
        assert integrity(db) == "ok"

        os.unlink(filler)
        after = wait_for(
            lambda: (
                (
                    r := alice.call("POST", "/api/v1/statuses", json={"status": "space again"})
                ).status_code
                == 200
                and r
            ),
            timeout=60,
            what="posting to work again",
        )
        stored.append(after.json()["id"])
        again = world.evil.post(world.inbox, note, author)
        assert again.status_code == 202, again.text[:300]
        wait_processed(hub, note["id"], timeout=60)
        for status_id in stored:
            assert alice.get(f"/api/v1/statuses/{status_id}")["id"] == status_id
        # Exactly the posts answered 200 were stored: none answered 503 is half there.
        with sqlite3.connect(db, timeout=30) as conn:
            kept = {
                row[0]
                for row in conn.execute(
                    "SELECT source FROM statuses WHERE source LIKE ?", (f"% {content}",)
                )
            }
        assert len(kept) == len(stored) - 1
        assert not kept & set(refused)
        alice.close()
        wait_for(
            lambda: (
                "database available again"
                in log_path.read_bytes()[offset:].decode(errors="replace")
            ),
            timeout=60,
            what="the recovery line in the log",
        )
        log = log_path.read_bytes()[offset:].decode(errors="replace")
        assert "Traceback" not in log, log[-3000:]
        assert log.count("database unavailable") == 1, log[-3000:]
    assert integrity(db) == "ok"
