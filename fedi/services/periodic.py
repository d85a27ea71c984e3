"""The loop of the worker's periodic jobs (mesh sync, poll closing, event reminders).

Each job has ``run_once()`` for tests; ``serve`` and ``worker`` run it here until stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from fedi.db_faults import Backoff, rest


async def run_periodically(run_pass: Callable[[], Awaitable[int]], stop: asyncio.Event,
                           interval: float, log: logging.Logger, what: str,
                           backoff: Backoff | None = None) -> None:
    """Run passes until ``stop`` is set. After a pass that did nothing, or failed, wait
    ``interval`` seconds (less if stopped); after one that did work, go again at once.
    While the database is away, ``backoff`` paces the passes (capped, growing waits) and
    the outage is one log line for the process, not a traceback per pass."""
    backoff = backoff or Backoff()
    while not stop.is_set():
        try:
            done = await run_pass()
        except Exception as exc:  # a job must outlive a database outage
            delay = backoff.failed(exc, what)
            if delay is not None:
                await rest(stop, delay)
                continue
            log.exception("%s failed", what)
            done = 0
        else:
            backoff.succeeded()
        if done == 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass
