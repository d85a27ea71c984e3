"""The job that ends polls when their time is up, run beside the inbox and delivery
workers (``voisins serve`` and ``voisins worker``), not as a daemon of its own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from fedi.config import ConfigError, Settings
from fedi.db import transaction, utcnow
from fedi.services.polls import close_due_polls
from outbox.context import PublishContext

log = logging.getLogger("voisins.polls")


class PollCloser:
    """Ends due polls every ``interval`` seconds; ``run_once()`` is the test entry point."""

    def __init__(self, sessions: sessionmaker[Session], ctx: PublishContext, *,
                 interval: float = 5.0, clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.ctx = ctx
        self.interval = interval
        self.clock = clock

    def run_once(self) -> int:
        with transaction(self.sessions) as session:
            return close_due_polls(session, self.ctx, self.clock())

    async def run_forever(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                done = await asyncio.to_thread(self.run_once)
            except Exception:  # a service loop must outlive a database outage
                log.exception("poll closing cycle failed")
                done = 0
            if done == 0:
                try:
                    await asyncio.wait_for(stop.wait(), timeout=self.interval)
                except TimeoutError:
                    pass


def closer_options(settings: Settings) -> dict[str, Any]:
    """``[polls] close_interval_seconds`` (default 5): how often ended polls are looked for."""
    table = settings.extra.get("polls", {})
    if not isinstance(table, Mapping):
        raise ConfigError("polls", "must be a table")
    if "close_interval_seconds" not in table:
        return {}
    value = table["close_interval_seconds"]
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ConfigError("polls.close_interval_seconds",
                          f"expected a number, got {value!r}") from None
    if isinstance(value, bool) or not 0.05 <= seconds <= 3600:
        raise ConfigError("polls.close_interval_seconds",
                          f"must be between 0.05 and 3600, got {value!r}")
    return {"interval": seconds}
