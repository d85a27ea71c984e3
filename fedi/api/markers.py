"""Read markers (``/api/v1/markers``) and posting/reading preferences."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.entities import default_privacy
from fedi.api.errors import unprocessable
from fedi.api.params import parse_id
from fedi.convert.model_to_api import marker
from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Marker, UserSettings

TIMELINES = ("home", "notifications")


async def get_markers(call: Call) -> Any:
    wanted = [t for t in call.params.list("timeline") if t in TIMELINES]
    rows = call.session.scalars(select(Marker).where(Marker.user_id == call.user.id,
                                                     Marker.timeline.in_(wanted)))
    return {m.timeline: marker(m.last_read_id, m.version, m.updated_at) for m in rows}


async def set_markers(call: Call) -> Any:
    out = {}
    for timeline in TIMELINES:
        sub = call.params.sub(timeline)
        last = sub.str("last_read_id", max_len=32)
        if last is None:
            continue
        if parse_id(last) is None:
            raise unprocessable(f"{timeline}[last_read_id] must be an id")
        row = call.session.scalar(select(Marker).where(Marker.user_id == call.user.id,
                                                       Marker.timeline == timeline))
        if row is None:
            row = Marker(id=new_id(), user_id=call.user.id, timeline=timeline,
                         last_read_id=last, version=1, updated_at=utcnow())
            call.session.add(row)
        else:
            row.last_read_id, row.version, row.updated_at = last, row.version + 1, utcnow()
        out[timeline] = marker(row.last_read_id, row.version, row.updated_at)
    return out


async def preferences(call: Call) -> Any:
    settings = call.session.get(UserSettings, call.user.id)
    return {"posting:default:visibility": default_privacy(call.user),
            "posting:default:sensitive": bool(settings and settings.default_sensitive),
            "posting:default:language": settings.default_language if settings else None,
            "reading:expand:media": "default", "reading:expand:spoilers": False,
            "reading:autoplay:gifs": False}


routes = [
    Route("/api/v1/markers", endpoint("read:statuses", body=False)(get_markers),
          methods=["GET"]),
    Route("/api/v1/markers", endpoint("write:statuses")(set_markers), methods=["POST"]),
    Route("/api/v1/preferences", endpoint("read:accounts", body=False)(preferences)),
]
