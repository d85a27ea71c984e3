"""``/settings/calendar``: the member's personal calendar feed (a secret ``.ics`` URL).

Only the token's hash is stored, so the address is shown once, right after it is made;
making a new one ends the old URL, and the member may also switch the feed off.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.models import CalendarToken
from fedi.services import calendar
from fedi.site.page import reading, show, writing
from fedi.web.session import require_member
from fedi.web.state import hub_of


def _page(request: Request, url: str | None, active: bool, done: str | None = None) -> Response:
    response = show(request, "site/pages/calendar_feed.html", {
        "nav": "settings", "url": url, "active": active, "done": done})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@require_member
async def feed_page(request: Request) -> Response:
    with reading(request) as (session, actor, _user):
        active = session.scalar(select(CalendarToken.actor_id).where(
            CalendarToken.actor_id == actor.id)) is not None
    return _page(request, None, active)


@require_member
async def regenerate(request: Request) -> Response:
    with writing(request) as (session, actor, _user):
        token = calendar.new_token(session, actor)
    return _page(request, f"{hub_of(request).urls.base}/calendar/{token}.ics", True, "new")


@require_member
async def switch_off(request: Request) -> Response:
    with writing(request) as (session, actor, _user):
        calendar.revoke_token(session, actor)
    return _page(request, None, False, "off")


routes = [
    Route("/settings/calendar", feed_page, methods=["GET"], name="calendar_feed_settings"),
    Route("/settings/calendar", regenerate, methods=["POST"]),
    Route("/settings/calendar/off", switch_off, methods=["POST"]),
]
