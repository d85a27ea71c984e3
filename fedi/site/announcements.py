"""The hub's announcements on the member site: a banner at the top of the timelines with
the ones the member has not dismissed, and the dismiss button (a plain form, no script)."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.db import utcnow
from fedi.models import Announcement
from fedi.services import announcements
from fedi.site.page import back, path_id, read_form, writing
from fedi.web.session import require_member


def unread(session: Session, user_id: int) -> list[Announcement]:
    """Active announcements this member has not dismissed, oldest first."""
    rows = announcements.active(session, utcnow())
    gone = announcements.dismissed_ids(session, user_id, [r.id for r in rows])
    return [r for r in rows if r.id not in gone]


@require_member
async def dismiss(request: Request) -> Response:
    row_id = path_id(request)
    form = await read_form(request, ("next",), limit=2000)
    with writing(request) as (session, _actor, user):
        row = announcements.find_active(session, row_id, utcnow())
        if row is None:
            raise HTTPException(404)
        announcements.dismiss(session, user.id, row)
    return back(form["next"] or "/")


routes = [
    Route("/announcements/{id}/dismiss", dismiss, methods=["POST"]),
]
