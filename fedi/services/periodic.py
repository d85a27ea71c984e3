"""The loop of the worker's periodic jobs (mesh sync, poll closing, event reminders).

Each job has ``run_once()`` for tests; ``serve`` and ``worker`` run it here until stopped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable


async def run_periodically(run_pass: Callable[[], Awaitable[int]], stop: asyncio.Event,
                           interval: float, log: logging.Logger, what: str) -> None:
    """Run passes until ``stop`` is set. After a pass that did nothing, or failed, wait
    ``interval`` seconds (less if stopped); after one that did work, go again at once."""
    while not stop.is_set():
        try:
            done = await run_pass()
        except Exception:  # a job must outlive a database outage
            log.exception("%s failed", what)
            done = 0
        if done == 0:
            try:
                await asyncio.wait_for(stop.wait(), timeout=interval)
            except TimeoutError:
                pass
