"""One pass of a periodic job at a time across processes, for jobs whose rows are not
claimed one by one (SKIP LOCKED) but changed in bulk.

On PostgreSQL, ``pg_try_advisory_xact_lock`` on a key derived from the job's name: held
until the transaction ends, never waited for (another process holds it: skip this pass, the
other process is doing the work). SQLite has a single writer: always granted.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import text
from sqlalchemy.orm import Session


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for ``name`` (advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(f"voisins:{name}".encode()).digest()[:8], "big",
                          signed=True)


def try_job_lock(session: Session, name: str) -> bool:
    """Take the job ``name``'s lock for this transaction; False if another holds it."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    return bool(session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"),
                               {"key": lock_key(name)}))
