"""The job that ends polls when their time is up, run beside the inbox and delivery
workers (``voisins serve`` and ``voisins worker``), not as a daemon of its own."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from fedi.config import ConfigError, Settings
from fedi.db import transaction, utcnow
from fedi.ids import new_id
from fedi.models import Actor, Notification, Poll, PollVote, Status
from fedi.services.periodic import run_periodically
from fedi.services.polls import publish_results
from outbox.context import PublishContext
from outbox.fanout import notify

log = logging.getLogger("voisins.polls")


def end_poll(session: Session, ctx: PublishContext, poll: Poll, status: Status,
             now: datetime) -> None:
    """A poll ended: its author and local voters get a ``poll`` notification (Mastodon's
    "your poll has ended" / "a poll you voted in has ended"); a local poll's final counts
    go to its audience with ``closed``."""
    poll.ended_at = now
    author = session.get(Actor, status.actor_id)
    if status.deleted_at is not None or author is None:
        return
    if author.local:
        session.add(Notification(id=new_id(), owner_id=author.id, type="poll",
                                 from_actor_id=author.id, status_id=status.id))
    voters = session.scalars(select(PollVote.actor_id).distinct().join(
        Actor, Actor.id == PollVote.actor_id).where(PollVote.poll_id == poll.id, Actor.local))
    for voter_id in voters:
        notify(session, voter_id, "poll", author.id, status.id)
    if status.local:
        publish_results(session, ctx, status, poll)


def close_due_polls(session: Session, ctx: PublishContext, now: datetime,
                    limit: int = 50) -> int:
    """End the polls whose time is up (claimed with SKIP LOCKED: several workers may run)."""
    rows = session.execute(
        select(Poll, Status).join(Status, Status.id == Poll.status_id)
        .where(Poll.ended_at.is_(None), Poll.expires_at.is_not(None), Poll.expires_at <= now)
        .order_by(Poll.expires_at).limit(limit).with_for_update(skip_locked=True, of=Poll)
    ).all()
    for poll, status in rows:
        end_poll(session, ctx, poll, status, now)
    return len(rows)


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
        await run_periodically(lambda: asyncio.to_thread(self.run_once), stop, self.interval,
                               log, "poll closing cycle")


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
