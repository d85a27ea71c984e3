"""Password hashing off the event loop, a few at a time, never inside a transaction.

Argon2 takes about half a second of CPU and 64 MiB per hash here. Run on the event loop it
stops every other request; run inside a write transaction it holds SQLite's write lock the
whole time (one client with eight parallel wrong logins made the hub answer "database is
locked"). So callers read what they need, close the session, ``await`` the hash here, and
then write briefly. At most ``concurrency`` hashes run at once, in threads of their own
(argon2 releases the GIL), so a flood of logins leaves CPU to the event loop; past
``max_waiting`` queued callers,
``PasswordsBusy`` is raised at once instead of queueing without end.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from fedi.services.accounts import check_password, hash_password, password_needs_rehash


class PasswordsBusy(Exception):
    """Too many password checks are already waiting: try again in a moment."""


@dataclass(frozen=True)
class Verdict:
    ok: bool
    needs_rehash: bool = False


def default_concurrency() -> int:
    return max(1, (os.cpu_count() or 2) // 2)


class PasswordWork:
    """The one queue every password hash and check of a process goes through."""

    def __init__(self, concurrency: int | None = None, max_waiting: int = 32) -> None:
        self.concurrency = concurrency or default_concurrency()
        self.max_waiting = max_waiting
        self.pending = 0
        self._pool: ThreadPoolExecutor | None = None
        self._dummy: str | None = None

    async def _run(self, fn: Any, *args: Any) -> Any:
        if self.pending >= self.max_waiting:
            raise PasswordsBusy("too many password checks are waiting")
        if self._pool is None:  # threads start on first use, not at import or start-up
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="passwords")
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)
        finally:
            self.pending -= 1

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def hash(self, password: str) -> str:
        result: str = await self._run(hash_password, password)
        return result

    async def verify(self, stored: str, password: str) -> Verdict:
        def check() -> Verdict:
            if not check_password(stored, password):
                return Verdict(False)
            return Verdict(True, password_needs_rehash(stored))

        verdict: Verdict = await self._run(check)
        return verdict

    async def spend_like_a_check(self, password: str) -> None:
        """The same work as a real check, for logins that name no account (no timing
        difference tells whether an account exists)."""
        if self._dummy is None:
            dummy = await self.hash(secrets.token_hex(8))
            self._dummy = self._dummy or dummy
        await self.verify(self._dummy, password)


def password_work_of(extras: dict[str, Any]) -> PasswordWork:
    """The hub's queue (kept in ``Hub.extras``)."""
    work = extras.get("password_work")
    if work is None:
        work = extras["password_work"] = PasswordWork()
    return work
