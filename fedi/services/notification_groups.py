"""Grouped notifications (Mastodon 4.3's ``/api/v2/notifications``): favourites and boosts of
one status, and follows, within a 12-hour span form one group; the rest are groups of one.
Built on the member's visible notifications (``visible_notifications``), so a group never
shows what the v1 list hides."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Select, delete, select
from sqlalchemy.orm import Session

from fedi.convert.model_to_api import (
    GROUP_SPAN_HOURS,
    GROUPABLE_NOTIFICATIONS,
    notification_group_key,
)
from fedi.models import Marker, Notification
from fedi.services.notifications import visible_notifications
from fedi.services.timelines import Page

SAMPLE_ACCOUNTS = 8
SCAN_BATCH = 200
SCAN_MAX = 4000


@dataclass
class Group:
    key: str
    type: str
    status_id: int | None
    rows: list[Notification] = field(default_factory=list)  # newest first

    @property
    def newest(self) -> Notification:
        return self.rows[0]

    def sample_account_ids(self) -> list[int]:
        return list(dict.fromkeys(n.from_actor_id for n in self.rows))[:SAMPLE_ACCOUNTS]


@dataclass(frozen=True)
class Filters:
    types: tuple[str, ...] | None = None
    exclude_types: tuple[str, ...] = ()
    account_id: int | None = None
    grouped: frozenset[str] = GROUPABLE_NOTIFICATIONS

    def apply(self, query: Select[Any]) -> Select[Any]:
        if self.types is not None:
            query = query.where(Notification.type.in_(self.types))
        if self.exclude_types:
            query = query.where(Notification.type.not_in(self.exclude_types))
        if self.account_id is not None:
            query = query.where(Notification.from_actor_id == self.account_id)
        return query


def _scan(session: Session, query: Select[Any], page: Page) -> Iterator[Notification]:
    """Rows of ``query`` in page order (newest first, or oldest first after ``min_id``)."""
    if page.max_id is not None:
        query = query.where(Notification.id < page.max_id)
    if page.since_id is not None:
        query = query.where(Notification.id > page.since_id)
    if page.min_id is not None:
        query = query.where(Notification.id > page.min_id)
    order = Notification.id.asc() if page.min_id is not None else Notification.id.desc()
    last: int | None = None
    for _ in range(0, SCAN_MAX, SCAN_BATCH):
        batch = query.order_by(order).limit(SCAN_BATCH)
        if last is not None:
            batch = batch.where(Notification.id > last if page.min_id is not None
                                else Notification.id < last)
        rows = session.scalars(batch).all()
        yield from rows
        if len(rows) < SCAN_BATCH:
            return
        last = rows[-1].id


def grouped_page(session: Session, viewer_id: int, linked: frozenset[str], page: Page,
                 filters: Filters) -> list[Group]:
    """Up to ``page.limit`` groups, newest first. A group holds the notifications of the
    page's window (the same group may continue on the next page, as in Mastodon)."""
    query = filters.apply(visible_notifications(viewer_id, linked))
    groups: dict[str, Group] = {}
    for row in _scan(session, query, page):
        key = notification_group_key(row, filters.grouped)
        group = groups.get(key)
        if group is None:
            if len(groups) >= page.limit:
                break
            group = groups[key] = Group(key, row.type, row.status_id)
        group.rows.append(row)
    out = list(groups.values())
    for group in out:
        group.rows.sort(key=lambda n: n.id, reverse=True)
    out.sort(key=lambda g: g.newest.id, reverse=True)
    return out


def _bounds(key: str) -> tuple[str, int | None, datetime, datetime] | None:
    kind, _, rest = key.partition("-")
    status, _, bucket = rest.partition("-")
    if (kind not in GROUPABLE_NOTIFICATIONS or not (bucket.isascii() and bucket.isdigit())
            or len(bucket) > 12):
        return None
    if status and (not (status.isascii() and status.isdigit()) or len(status) > 19):
        return None
    start = datetime.fromtimestamp(int(bucket) * 3600, UTC)
    return kind, int(status) if status else None, start, start + timedelta(
        hours=GROUP_SPAN_HOURS)


def group_query(viewer_id: int, linked: frozenset[str], key: str) -> Select[Any] | None:
    """The visible notifications of the group ``key``, or None for a malformed key."""
    query = visible_notifications(viewer_id, linked)
    if key.startswith("ungrouped-"):
        ident = key.removeprefix("ungrouped-")
        if not (ident.isascii() and ident.isdigit()) or len(ident) > 19:
            return None
        return query.where(Notification.id == int(ident))
    bounds = _bounds(key)
    if bounds is None:
        return None
    kind, status_id, start, end = bounds
    status_match = (Notification.status_id.is_(None) if status_id is None
                    else Notification.status_id == status_id)
    return query.where(Notification.type == kind, status_match,
                       Notification.created_at >= start, Notification.created_at < end)


def find_group(session: Session, viewer_id: int, linked: frozenset[str],
               key: str) -> Group | None:
    query = group_query(viewer_id, linked, key)
    if query is None:
        return None
    rows = list(session.scalars(query.order_by(Notification.id.desc()).limit(SCAN_MAX)))
    if not rows:
        return None
    return Group(key, rows[0].type, rows[0].status_id, rows)


def dismiss_group(session: Session, viewer_id: int, linked: frozenset[str], key: str) -> None:
    group = find_group(session, viewer_id, linked, key)
    if group is None:
        return
    session.execute(delete(Notification).where(
        Notification.owner_id == viewer_id,
        Notification.id.in_([n.id for n in group.rows])))


def unread_groups(session: Session, viewer_id: int, linked: frozenset[str], after: int | None,
                  filters: Filters, *, cap: int = 1000) -> int:
    """How many groups hold a notification newer than ``after`` (at most ``cap``)."""
    query = filters.apply(visible_notifications(viewer_id, linked))
    if after is not None:
        query = query.where(Notification.id > after)
    keys: set[str] = set()
    for row in session.scalars(query.order_by(Notification.id.desc()).limit(SCAN_MAX)):
        keys.add(notification_group_key(row, filters.grouped))
        if len(keys) >= cap:
            break
    return len(keys)


def unread_after(session: Session, user_id: int) -> int | None:
    marker = session.scalar(select(Marker).where(Marker.user_id == user_id,
                                                 Marker.timeline == "notifications"))
    if marker is not None and marker.last_read_id.isdigit():
        return int(marker.last_read_id)
    return None
