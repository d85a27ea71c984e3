"""The durable delivery queue: Delivery rows, their leases and their state transitions.

Rows move pending → (leased) → sent | dead | dropped (reference/security-and-performance.md
§7). A lease is only a `locked_until` time on a pending row: a worker killed mid-delivery
leaves its rows pending, and they become claimable again when the lease runs out, so
nothing is lost and the receiver absorbs the rare duplicate (idempotent by activity id).

Every function works inside the caller's session and transaction; none commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, CursorResult, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.http import Signer
from fedi.ids import new_id
from fedi.models import Actor, Delivery, OutboxActivity
from outbox.retry import RetryDecision

STATES = ("pending", "sent", "dead", "dropped")

# The column is Text, but the operator page shows it on one line: keep it short.
MAX_ERROR_LEN = 500


class BadInbox(ValueError):
    """An inbox URL that no delivery could ever reach (not absolute http(s))."""


def inbox_domain(url: str) -> str:
    """The ``host[:port]`` of an inbox URL, lower-cased, as the breaker and peers compare it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.username:
        raise BadInbox(f"{url!r} is not an absolute http(s) inbox URL")
    return parts.netloc.lower()


def enqueue_deliveries(
    session: Session,
    activity: OutboxActivity,
    inboxes: Iterable[str],
    *,
    now: datetime | None = None,
) -> int:
    """Add one pending Delivery per distinct inbox of ``activity``; returns how many were added.

    Runs in the caller's transaction, the one that stores the post, so a post is never
    committed without its deliveries nor the other way round.
    """
    now = now or utcnow()
    wanted = {url: inbox_domain(url) for url in dict.fromkeys(inboxes)}
    if not wanted:
        return 0
    # Re-enqueueing the same activity (a retried request) must not trip the unique key
    # (activity_id, inbox_url) and abort the caller's whole transaction.
    existing = set(
        session.scalars(
            select(Delivery.inbox_url).where(
                Delivery.activity_id == activity.id, Delivery.inbox_url.in_(list(wanted))
            )
        )
    )
    rows = [
        Delivery(
            id=new_id(),
            activity_id=activity.id,
            actor_id=activity.actor_id,
            inbox_url=url,
            domain=domain,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for url, domain in wanted.items()
        if url not in existing
    ]
    session.add_all(rows)
    return len(rows)


def claim_due(session: Session, *, now: datetime, limit: int, lease: timedelta) -> list[Delivery]:
    """Lease up to ``limit`` due pending deliveries until ``now + lease``, oldest due first.

    The caller commits right after, before any HTTP work, so the lease is visible to other
    workers. One UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) … RETURNING: on
    PostgreSQL concurrent workers skip each other's rows instead of queueing behind them;
    on SQLite (which ignores FOR UPDATE) the UPDATE holds the single write lock, so the
    select and the lease are atomic there too.
    """
    due = (
        select(Delivery.id)
        .where(
            Delivery.state == "pending",
            Delivery.next_attempt_at <= now,
            or_(Delivery.locked_until.is_(None), Delivery.locked_until <= now),
        )
        .order_by(Delivery.next_attempt_at, Delivery.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    stmt = (
        update(Delivery)
        .where(Delivery.id.in_(due.scalar_subquery()))
        .values(locked_until=now + lease)
        .returning(Delivery)
        # The rows come back from RETURNING; no need to reconcile other loaded objects.
        .execution_options(synchronize_session=False)
    )
    rows = list(session.scalars(stmt))
    # RETURNING order is unspecified; keep the queue's order for fairness and for tests.
    rows.sort(key=lambda d: (d.next_attempt_at, d.id))
    return rows


def load_payloads(session: Session, activity_ids: Iterable[int]) -> dict[int, bytes]:
    """The JSON body to POST for each activity id, serialised once per batch."""
    ids = list(set(activity_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(OutboxActivity.id, OutboxActivity.payload).where(OutboxActivity.id.in_(ids))
    )
    return {
        aid: json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        for aid, payload in rows
    }


def load_signers(session: Session, actor_ids: Iterable[int]) -> dict[int, Signer]:
    """The signing key of each local actor id; actors without a key are left out."""
    ids = list(set(actor_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(Actor.id, Actor.key_id, Actor.private_key_pem).where(Actor.id.in_(ids))
    )
    return {aid: Signer(key_id, pem) for aid, key_id, pem in rows if key_id and pem}


def _pending(delivery_id: int) -> ColumnElement[bool]:
    # Transitions only apply to pending rows: a late answer from a worker whose lease ran
    # out must not resurrect a row another worker already settled or an admin dropped.
    return and_(Delivery.id == delivery_id, Delivery.state == "pending")


def _update(session: Session, where: ColumnElement[bool], values: dict[str, Any]) -> int:
    """One UPDATE of the deliveries matching ``where``; returns how many rows changed."""
    result = session.execute(
        update(Delivery)
        .where(where)
        .values(**values)
        # Rows are settled by id in bulk; no loaded objects need reconciling.
        .execution_options(synchronize_session=False)
    )
    return int(cast("CursorResult[Any]", result).rowcount)


def _clip(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_LEN else text[: MAX_ERROR_LEN - 1] + "…"


def mark_sent(session: Session, delivery_id: int, *, now: datetime, status: int) -> bool:
    """Record a delivery the remote accepted; False if the row was no longer pending."""
    values = {
        "state": "sent",
        "attempts": Delivery.attempts + 1,
        "sent_at": now,
        "locked_until": None,
        "last_status": status,
        "last_error": None,
    }
    return _update(session, _pending(delivery_id), values) > 0


def reschedule(
    session: Session,
    delivery_id: int,
    decision: RetryDecision,
    *,
    status: int | None,
) -> bool:
    """Count a failed attempt and schedule the next one, as a RETRY decision says."""
    if decision.next_attempt_at is None:
        raise ValueError(f"reschedule needs a RETRY decision with a time, got {decision!r}")
    values = {
        "attempts": Delivery.attempts + 1,
        "next_attempt_at": decision.next_attempt_at,
        "locked_until": None,
        "last_status": status,
        "last_error": _clip(decision.reason),
    }
    return _update(session, _pending(delivery_id), values) > 0


def postpone(session: Session, delivery_ids: Sequence[int], *, until: datetime) -> int:
    """Release leased rows untried (host's breaker is open): no attempt is counted."""
    if not delivery_ids:
        return 0
    where = and_(Delivery.id.in_(list(delivery_ids)), Delivery.state == "pending")
    return _update(session, where, {"next_attempt_at": until, "locked_until": None})


def mark_dead(
    session: Session,
    delivery_id: int,
    *,
    status: int | None,
    reason: str,
    count_attempt: bool = True,
) -> bool:
    """Dead-letter a delivery, keeping why in ``last_error`` for the operator."""
    values: dict[str, Any] = {
        "state": "dead",
        "locked_until": None,
        "last_status": status,
        "last_error": _clip(reason),
    }
    if count_attempt:
        values["attempts"] = Delivery.attempts + 1
    return _update(session, _pending(delivery_id), values) > 0


def drop_for_domain(session: Session, domain: str, *, reason: str | None = None) -> int:
    """Drop every pending delivery to ``domain`` (an unlinked hub); returns how many."""
    domain = domain.lower()
    values = {
        "state": "dropped",
        "locked_until": None,
        "last_error": _clip(reason or f"{domain} is no longer a linked or allowed hub"),
    }
    return _update(session, and_(Delivery.domain == domain, Delivery.state == "pending"), values)


def requeue_dead(session: Session, ids: Iterable[int], *, now: datetime | None = None) -> int:
    """Give dead deliveries a fresh start (an operator's "retry"); returns how many."""
    wanted = list(ids)
    if not wanted:
        return 0
    now = now or utcnow()
    # The retry horizon is counted from created_at (see outbox.worker), so a requeued row
    # gets a whole new horizon instead of dying on its first failure.
    values = {
        "state": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "locked_until": None,
        "created_at": now,
    }
    return _update(session, and_(Delivery.id.in_(wanted), Delivery.state == "dead"), values)


def discard_dead(session: Session, ids: Iterable[int]) -> int:
    """Delete dead deliveries an operator gave up on; returns how many (live rows stay)."""
    wanted = list(ids)
    if not wanted:
        return 0
    result = session.execute(
        delete(Delivery)
        .where(Delivery.id.in_(wanted), Delivery.state == "dead")
        .execution_options(synchronize_session=False)
    )
    return int(cast("CursorResult[Any]", result).rowcount)


def stats(session: Session) -> dict[str, int]:
    """How many deliveries are in each state (every state present, zero included)."""
    counts = dict.fromkeys(STATES, 0)
    for state, count in session.execute(
        select(Delivery.state, func.count()).group_by(Delivery.state)
    ):
        counts[state] = int(count)
    return counts
