"""The numbers of the console's dashboard: members, activity, linked hubs, queues."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.models import Actor, Application, Delivery, Event, InboxItem, Neighbour, Status, User
from fedi.services.timelines import visible_to

WEEKS = 12


@dataclass(frozen=True)
class LinkHealth:
    domain: str
    state: str
    last_delivered: datetime | None
    failures: int  # deliveries pending after a failed attempt, or dead
    dead: int
    queued: int = 0  # deliveries pending (the domain's queue depth)


@dataclass(frozen=True)
class NextEvent:
    status_id: int
    title: str
    starts_at: datetime


@dataclass(frozen=True)
class Dashboard:
    active: int
    suspended: int
    pending: int
    new_this_month: int
    posts_this_week: int
    events_this_week: int
    next_event: NextEvent | None
    links: list[LinkHealth]
    queue_depth: int
    dead_letters: int
    inbox_backlog: int
    weekly_posts: list[int]  # oldest week first, WEEKS values


def _count(session: Session, query: object) -> int:
    return int(session.scalar(query) or 0)  # type: ignore[call-overload]


def domain_health(session: Session, domain: str, state: str) -> LinkHealth:
    """The delivery health of one domain (a linked hub or any other server)."""
    last = session.scalar(select(func.max(Delivery.sent_at)).where(
        Delivery.domain == domain, Delivery.state == "sent"))
    failing = _count(session, select(func.count()).select_from(Delivery).where(
        Delivery.domain == domain, Delivery.state == "pending", Delivery.attempts > 0))
    dead = _count(session, select(func.count()).select_from(Delivery).where(
        Delivery.domain == domain, Delivery.state == "dead"))
    queued = _count(session, select(func.count()).select_from(Delivery).where(
        Delivery.domain == domain, Delivery.state == "pending"))
    return LinkHealth(domain, state, last, failing + dead, dead, queued)


def link_health(session: Session) -> list[LinkHealth]:
    return [domain_health(session, row.domain, row.state)
            for row in session.scalars(select(Neighbour).where(Neighbour.state != "refused")
                                       .order_by(Neighbour.domain))]


def weekly_posts(session: Session, now: datetime) -> list[int]:
    """Local posts per week over the last ``WEEKS`` weeks (the last one ends now)."""
    start = now - timedelta(weeks=WEEKS)
    times = session.scalars(select(Status.created_at).where(
        Status.local, Status.created_at >= start, Status.deleted_at.is_(None),
        Status.reblog_of_id.is_(None)))
    counts = [0] * WEEKS
    for moment in times:
        index = int((moment - start) / timedelta(weeks=1))
        counts[min(max(index, 0), WEEKS - 1)] += 1
    return counts


def dashboard(session: Session, viewer_id: int, linked: frozenset[str],
              now: datetime | None = None) -> Dashboard:
    """The numbers for the staff member ``viewer_id``: counts for the whole hub, and the
    next event by its title only if they may see it (``visible_to``, as on /events)."""
    now = now or utcnow()
    week_ago = now - timedelta(days=7)
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    members = (select(func.count()).select_from(User).join(Actor, Actor.id == User.actor_id)
               .where(Actor.deleted_at.is_(None)))
    upcoming = session.execute(
        select(Event.status_id, Event.title, Event.starts_at)
        .join(Status, Status.id == Event.status_id).join(Actor, Actor.id == Status.actor_id)
        .where(Event.starts_at >= now, Event.state != "CANCELLED",
               visible_to(viewer_id, linked))
        .order_by(Event.starts_at).limit(1)).first()
    return Dashboard(
        active=_count(session, members.where(User.disabled.is_(False))),
        suspended=_count(session, members.where(User.disabled.is_(True))),
        pending=_count(session, select(func.count()).select_from(Application).where(
            Application.state.in_(("pending", "waitlisted")))),
        new_this_month=_count(session, members.where(User.created_at >= month_start)),
        posts_this_week=_count(session, select(func.count()).select_from(Status).where(
            Status.local, Status.created_at >= week_ago, Status.deleted_at.is_(None),
            Status.reblog_of_id.is_(None))),
        events_this_week=_count(session, select(func.count()).select_from(Event).where(
            Event.starts_at >= now, Event.starts_at < now + timedelta(days=7))),
        next_event=NextEvent(*upcoming) if upcoming else None,
        links=link_health(session),
        queue_depth=_count(session, select(func.count()).select_from(Delivery).where(
            Delivery.state == "pending")),
        dead_letters=_count(session, select(func.count()).select_from(Delivery).where(
            Delivery.state == "dead")),
        inbox_backlog=_count(session, select(func.count()).select_from(InboxItem).where(
            InboxItem.state == "pending")),
        weekly_posts=weekly_posts(session, now),
    )
