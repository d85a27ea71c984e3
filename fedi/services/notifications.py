"""A member's notifications, as they may still see them: one whose status they can no longer
see is hidden, and so is one from an account they blocked or muted."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, exists, or_, select
from sqlalchemy.orm import Session

from fedi.models import Actor, Block, Follow, Notification, Status
from fedi.services.timelines import (
    VIEWER,
    Page,
    bound_visible,
    newest_first,
    paginate,
    visible_to,
)


def visible_notifications(viewer_id: int, linked: frozenset[str]) -> Select[Any]:
    """Notifications of ``viewer_id`` whose status (if any) the viewer may see."""
    return (select(Notification)
            .outerjoin(Status, Status.id == Notification.status_id)
            .outerjoin(Actor, Actor.id == Status.actor_id)
            .where(Notification.owner_id == viewer_id,
                   or_(Notification.status_id.is_(None), visible_to(viewer_id, linked)),
                   ~exists().where(Block.actor_id == viewer_id,
                                   Block.target_id == Notification.from_actor_id)))


@cache
def bound_notifications() -> Select[Any]:
    """``visible_notifications`` built once, as plain rows, with the viewer and the linked
    domains as parameters (``fedi.services.timelines.bound``): the API's hot path."""
    return (select(*Notification.__table__.c)
            .outerjoin(Status, Status.id == Notification.status_id)
            .outerjoin(Actor, Actor.id == Status.actor_id)
            .where(Notification.owner_id == VIEWER,
                   or_(Notification.status_id.is_(None), bound_visible()),
                   ~exists().where(Block.actor_id == VIEWER,
                                   Block.target_id == Notification.from_actor_id)))


def list_notifications(session: Session, viewer: Actor, linked: frozenset[str],
                       page: Page) -> list[Notification]:
    query = visible_notifications(viewer.id, linked)
    return newest_first(session.scalars(paginate(query, Notification.id, page)).all(), page)


def follow_requests(session: Session, viewer: Actor, *, limit: int = 200) -> list[Actor]:
    """Who asked to follow ``viewer`` and waits for an answer, oldest first."""
    return list(session.scalars(
        select(Actor).join(Follow, Follow.follower_id == Actor.id)
        .where(Follow.followee_id == viewer.id, Follow.state == "requested",
               Actor.deleted_at.is_(None))
        .order_by(Follow.created_at, Follow.id).limit(limit)))
