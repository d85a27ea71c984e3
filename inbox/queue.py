"""Store verified activities durably (unique by id), and claim them for processing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import InboxItem

MAX_ATTEMPTS = 5


def store_activity(sessions: sessionmaker[Session], activity_id: str, doc: dict[str, Any],
                   actor_uri: str, key_id: str, recipient_id: int | None) -> bool:
    """Store once; a replay of the same activity id is absorbed (returns False)."""
    with sessions() as session:
        if session.scalar(select(InboxItem.id).where(InboxItem.activity_uri == activity_id)):
            return False
        session.add(InboxItem(id=new_id(), activity_uri=activity_id, actor_uri=actor_uri,
                              key_id=key_id, recipient_id=recipient_id, payload=doc))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()
            return False
    return True


def claim_due(session: Session, *, now: datetime, limit: int,
              lease: timedelta | None) -> list[tuple[int, str, Any]]:
    """(id, sender URI, activity) of up to ``limit`` pending items, oldest first (SKIP LOCKED
    on PostgreSQL). With a ``lease`` they are also leased for that long, for a caller that
    processes them in another transaction; without, the caller processes them in this one."""
    query = (select(InboxItem.id, InboxItem.actor_uri, InboxItem.payload).where(
        InboxItem.state == "pending", InboxItem.next_attempt_at <= now,
        or_(InboxItem.locked_until.is_(None), InboxItem.locked_until < now))
        .order_by(InboxItem.id).limit(limit))
    if session.bind is not None and session.bind.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    items = [tuple(row) for row in session.execute(query)]
    if items and lease is not None:
        session.execute(update(InboxItem).where(InboxItem.id.in_([i[0] for i in items]))
                        .values(locked_until=now + lease))
    return items  # type: ignore[return-value]


def mark_done(session: Session, item_ids: list[int]) -> None:
    for start in range(0, len(item_ids), 500):
        session.execute(update(InboxItem).where(InboxItem.id.in_(item_ids[start:start + 500]))
                        .values(state="done", locked_until=None, last_error=None))


def mark_failed(session: Session, item: InboxItem, error: str, now: datetime) -> None:
    attempts = item.attempts + 1
    state = "failed" if attempts >= MAX_ATTEMPTS else "pending"
    session.execute(update(InboxItem).where(InboxItem.id == item.id).values(
        state=state, attempts=attempts, last_error=error[:2000], locked_until=None,
        next_attempt_at=now + timedelta(seconds=5 * 2 ** attempts)))


def pending_count(session: Session) -> int:
    return len(session.scalars(select(InboxItem.id).where(InboxItem.state == "pending")).all())


__all__ = ["claim_due", "mark_done", "mark_failed", "store_activity", "utcnow"]
