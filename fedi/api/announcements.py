"""``/api/v1/announcements``: the hub's published announcements, each with ``read`` for the
caller, and ``POST /api/v1/announcements/:id/dismiss`` (Mastodon 3.1). Reactions are not
kept: adding one is refused with 422, as Mastodon does for an unknown emoji."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.errors import not_found, unprocessable
from fedi.convert.announcement_to_api import announcement_entity
from fedi.db import utcnow
from fedi.services import announcements


async def list_announcements(call: Call) -> Any:
    rows = announcements.active(call.session, utcnow())
    read = announcements.dismissed_ids(call.session, call.user.id, [r.id for r in rows])
    # Mastodon's with_dismissed=false (the web app's default: only unread ones).
    if call.params.str("with_dismissed", "", max_len=8) in ("false", "0"):
        rows = [r for r in rows if r.id not in read]
    return [announcement_entity(r, r.id in read) for r in rows]


async def dismiss(call: Call) -> Any:
    row = announcements.find_active(call.session, call.path_id(), utcnow())
    if row is None:
        raise not_found()
    announcements.dismiss(call.session, call.user.id, row)
    return {}


async def react(call: Call) -> Any:
    if announcements.find_active(call.session, call.path_id(), utcnow()) is None:
        raise not_found()
    raise unprocessable("Reactions to announcements are not supported on this hub")


routes = [
    Route("/api/v1/announcements", endpoint(body=False)(list_announcements),
          methods=["GET"]),
    Route("/api/v1/announcements/{id}/dismiss",
          endpoint("write:accounts")(dismiss), methods=["POST"]),
    Route("/api/v1/announcements/{id}/reactions/{name}",
          endpoint("write:favourites")(react), methods=["PUT", "DELETE"]),
]
