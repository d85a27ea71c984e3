"""Notifications: list (``types[]``, ``exclude_types[]``, ``account_id``), get, dismiss,
clear, unread count. A notification whose status the member may no longer see is hidden."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, delete, func, select
from starlette.routing import Route

from fedi.api.auth import Call, endpoint, json_response
from fedi.api.errors import not_found
from fedi.api.pagination import link_header, page_of
from fedi.convert.model_to_api import NOTIFICATION_TYPES
from fedi.models import Marker, Notification
from fedi.services.notifications import bound_notifications
from fedi.services.notifications import visible_notifications as notification_query
from fedi.services.timelines import bound, newest_first, paginate


def visible_notifications(call: Call) -> Select[Any]:
    return notification_query(call.actor.id, call.render.linked)


async def list_notifications(call: Call) -> Any:
    p = call.params
    page = page_of(p, default=40, maximum=80)
    query = bound_notifications()
    types = [t for t in p.list("types") if t in NOTIFICATION_TYPES]
    if p.list("types"):
        query = query.where(Notification.type.in_(types))
    excluded = p.list("exclude_types")
    if excluded:
        query = query.where(Notification.type.not_in(excluded))
    account_id = p.id("account_id")
    if account_id is not None:
        query = query.where(Notification.from_actor_id == account_id)
    rows = newest_first(call.session.connection().execute(
        paginate(query, Notification.id, page), bound(call.actor, call.render.linked)).all(),
        page)
    return json_response(call.render.notifications(rows), headers=link_header(
        call.hub.urls.base, call.request.url.path, p, [n.id for n in rows]))


def _one(call: Call) -> Notification:
    row = call.session.scalar(visible_notifications(call).where(
        Notification.id == call.path_id()))
    if row is None:
        raise not_found()
    return row


async def get_notification(call: Call) -> Any:
    rendered = call.render.notifications([_one(call)])
    if not rendered:
        raise not_found()
    return rendered[0]


async def dismiss(call: Call) -> Any:
    call.session.execute(delete(Notification).where(Notification.owner_id == call.actor.id,
                                                    Notification.id == call.path_id()))
    return {}


async def dismiss_by_param(call: Call) -> Any:
    target = call.params.id("id")
    if target is not None:
        call.session.execute(delete(Notification).where(
            Notification.owner_id == call.actor.id, Notification.id == target))
    return {}


async def clear(call: Call) -> Any:
    call.session.execute(delete(Notification).where(Notification.owner_id == call.actor.id))
    return {}


async def unread_count(call: Call) -> Any:
    marker = call.session.scalar(select(Marker).where(Marker.user_id == call.user.id,
                                                      Marker.timeline == "notifications"))
    query = visible_notifications(call).with_only_columns(func.count())
    if marker is not None and marker.last_read_id.isdigit():
        query = query.where(Notification.id > int(marker.last_read_id))
    return {"count": min(call.session.scalar(query) or 0, 1000)}


read = endpoint("read:notifications", body=False, read_only=True)
write = endpoint("write:notifications")
routes = [
    Route("/api/v1/notifications", read(list_notifications)),
    Route("/api/v1/notifications/", read(list_notifications)),
    Route("/api/v1/notifications/clear", write(clear), methods=["POST"]),
    Route("/api/v1/notifications/dismiss", write(dismiss_by_param), methods=["POST"]),
    Route("/api/v1/notifications/unread_count", read(unread_count)),
    Route("/api/v1/notifications/{id}", read(get_notification)),
    Route("/api/v1/notifications/{id}/dismiss", write(dismiss), methods=["POST"]),
]
