"""Dead deliveries (dead letters): activities whose delivery to one inbox gave up, either
refused for good (a 4xx) or still failing when the retry horizon ran out (outbox.retry).

The operator sees them per domain with the activity type, the last error and when
(console « Livraisons », ``voisins deliveries list``), and decides: **retry** (back to
pending, attempts and horizon reset, so the worker sends them at once) or **discard**
(the rows are deleted; the audit log keeps what was discarded). Both act on one delivery
or on every dead delivery to a domain, and both are written to the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fedi.models import Delivery, OutboxActivity
from fedi.services import audit
from fedi.services.membership import By
from outbox import queue

LIST_LIMIT = 500


@dataclass(frozen=True)
class DeadLetter:
    id: int
    domain: str
    inbox_url: str
    activity_type: str
    activity_uri: str
    attempts: int
    last_status: int | None
    last_error: str
    created_at: datetime


@dataclass(frozen=True)
class DomainDead:
    domain: str
    count: int


def dead_letters(session: Session, domain: str | None = None,
                 limit: int = LIST_LIMIT) -> list[DeadLetter]:
    """Dead deliveries, newest first (of one domain, or all)."""
    query = (select(Delivery, OutboxActivity.type, OutboxActivity.uri)
             .join(OutboxActivity, OutboxActivity.id == Delivery.activity_id)
             .where(Delivery.state == "dead")
             .order_by(Delivery.created_at.desc(), Delivery.id.desc()).limit(limit))
    if domain:
        query = query.where(Delivery.domain == domain)
    return [DeadLetter(row.id, row.domain, row.inbox_url, kind, uri, row.attempts,
                       row.last_status, row.last_error or "", row.created_at)
            for row, kind, uri in session.execute(query)]


def dead_by_domain(session: Session) -> list[DomainDead]:
    rows = session.execute(select(Delivery.domain, func.count()).where(Delivery.state == "dead")
                           .group_by(Delivery.domain).order_by(Delivery.domain))
    return [DomainDead(domain, int(count)) for domain, count in rows]


def _targets(session: Session, delivery_id: int | None, domain: str | None) -> list[Delivery]:
    query = select(Delivery).where(Delivery.state == "dead")
    if delivery_id is not None:
        query = query.where(Delivery.id == delivery_id)
    elif domain:
        query = query.where(Delivery.domain == domain)
    else:
        raise ValueError("a delivery id or a domain is needed")
    return list(session.scalars(query))


def retry(session: Session, by: By, *, delivery_id: int | None = None,
          domain: str | None = None) -> tuple[int, list[str]]:
    """Dead deliveries back to pending; returns how many, and the domains they go to."""
    rows = _targets(session, delivery_id, domain)
    count = queue.requeue_dead(session, [r.id for r in rows])
    domains = sorted({r.domain for r in rows})
    if count:
        audit.record(session, by.username, by.role, "delivery.retry",
                     str(delivery_id) if delivery_id is not None else str(domain),
                     {"count": count, "domains": domains})
    return count, domains if count else []


def discard(session: Session, by: By, *, delivery_id: int | None = None,
            domain: str | None = None) -> int:
    """Delete dead deliveries; returns how many."""
    rows = _targets(session, delivery_id, domain)
    kinds = dict(session.execute(select(OutboxActivity.id, OutboxActivity.type).where(
        OutboxActivity.id.in_({r.activity_id for r in rows}))).all()) if rows else {}
    what = [{"domain": r.domain, "type": kinds.get(r.activity_id, ""),
             "error": (r.last_error or "")[:200]} for r in rows[:20]]
    count = queue.discard_dead(session, [r.id for r in rows])
    if count:
        audit.record(session, by.username, by.role, "delivery.discard",
                     str(delivery_id) if delivery_id is not None else str(domain),
                     {"count": count, "deliveries": what})
    return count
