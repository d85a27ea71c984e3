"""``/console/announcements``: admins and moderators write announcements for the members,
edit, publish, withdraw and delete them (fedi.services.announcements); each action is in
the audit log. Members see published ones on the site and in their apps."""

from __future__ import annotations

import json
from datetime import datetime

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.console.access import STAFF, by_of, done, page, reading, require_role, writing
from fedi.convert.announcement_to_api import announcement_entity
from fedi.db import utcnow
from fedi.i18n import N_, translate
from fedi.models import Announcement
from fedi.services import announcements, audit
from fedi.services.announcements import LOCAL, AnnouncementError, AnnouncementForm
from fedi.site.page import path_id, read_form
from fedi.web.state import hub_of
from fedi.web.templating import request_language

FIELDS = ("text", "starts_at", "ends_at", "all_day")
NOTICES = {"created": N_("The announcement is saved as a draft: publish it to show it."),
           "saved": N_("Your changes were saved."),
           "published": N_("The announcement is published: members see it now."),
           "unpublished": N_("The announcement is withdrawn."),
           "deleted": N_("The announcement is deleted.")}
# The streaming API's ``announcement`` event carries the entity; PostgreSQL notifications
# stop at 8000 bytes, so a longer one is left to the next poll of the apps.
MAX_STREAMED = 6000


def local_input(moment: datetime | None, all_day: bool) -> str:
    """A stored moment as the form's field shows it (the hub's local time)."""
    if moment is None:
        return ""
    local = moment.astimezone(LOCAL)
    return local.strftime("%Y-%m-%d") if all_day else local.strftime("%Y-%m-%dT%H:%M")


def values_of(row: Announcement) -> dict[str, str]:
    return {"text": row.text, "starts_at": local_input(row.starts_at, row.all_day),
            "ends_at": local_input(row.ends_at, row.all_day),
            "all_day": "on" if row.all_day else ""}


def _list_page(request: Request, error: str | None = None, status: int = 200,
               values: dict[str, str] | None = None) -> Response:
    lang = request_language(request)
    now = utcnow()
    with reading(request) as session:
        rows = [(row, announcements.is_active(row, now)) for row in announcements.list_all(session)]
    notice = NOTICES.get(request.query_params.get("done", ""))
    return page(request, "console/announcements.html", {
        "nav": "announcements", "rows": rows, "error": error, "values": values or {},
        "max_text": announcements.MAX_TEXT,
        "notice": translate(lang, notice) if notice else None}, status=status)


def _edit_page(request: Request, row_id: int, error: str | None = None, status: int = 200,
               values: dict[str, str] | None = None) -> Response:
    lang = request_language(request)
    with reading(request) as session:
        row = session.get(Announcement, row_id)
        if row is None:
            raise HTTPException(404)
        shown = values or values_of(row)
    notice = NOTICES.get(request.query_params.get("done", ""))
    return page(request, "console/announcement.html", {
        "nav": "announcements", "row": row, "values": shown, "error": error,
        "max_text": announcements.MAX_TEXT,
        "notice": translate(lang, notice) if notice else None}, status=status)


def form_of(values: dict[str, str]) -> AnnouncementForm:
    return AnnouncementForm(text=values["text"], starts_at=values["starts_at"][:32],
                            ends_at=values["ends_at"][:32], all_day=values["all_day"] == "on")


@require_role(*STAFF)
async def list_page(request: Request) -> Response:
    return _list_page(request)


@require_role(*STAFF)
async def create(request: Request) -> Response:
    values = await read_form(request, FIELDS, limit=announcements.MAX_TEXT + 1)
    by = by_of(request)
    try:
        with writing(request) as session:
            row = announcements.create(session, form_of(values), by.username)
            audit.record(session, by.username, by.role, "announcement.create", str(row.id),
                         {"text": row.text[:200]})
    except AnnouncementError as exc:
        return _list_page(request, exc.text(request_language(request)), 422, values)
    return done(f"/console/announcements/{row.id}?done=created")


@require_role(*STAFF)
async def edit_page(request: Request) -> Response:
    return _edit_page(request, path_id(request))


@require_role(*STAFF)
async def save(request: Request) -> Response:
    row_id = path_id(request)
    values = await read_form(request, FIELDS, limit=announcements.MAX_TEXT + 1)
    by = by_of(request)
    try:
        with writing(request) as session:
            row = session.get(Announcement, row_id)
            if row is None:
                raise HTTPException(404)
            announcements.update(session, row, form_of(values))
            audit.record(session, by.username, by.role, "announcement.update", str(row.id),
                         {"text": row.text[:200]})
    except AnnouncementError as exc:
        return _edit_page(request, row_id, exc.text(request_language(request)), 422, values)
    return done(f"/console/announcements/{row_id}?done=saved")


def _stream(request: Request, payload: str) -> None:
    """Tell connected apps (streaming ``announcement`` event), when streaming runs."""
    streaming = hub_of(request).extras.get("streaming")
    if streaming is not None and len(payload.encode()) <= MAX_STREAMED:
        streaming.publish({"k": "announcement", "payload": payload})


async def _switch(request: Request, action: str) -> Response:
    row_id = path_id(request)
    by = by_of(request)
    payload = None
    with writing(request) as session:
        row = session.get(Announcement, row_id)
        if row is None:
            raise HTTPException(404)
        if action == "publish":
            announcements.publish(session, row)
        elif action == "unpublish":
            announcements.unpublish(session, row)
        audit.record(session, by.username, by.role, f"announcement.{action}", str(row.id),
                     {"text": row.text[:200]})
        if action == "delete":
            announcements.remove(session, row)
        elif action == "publish":
            payload = json.dumps(announcement_entity(row, False))
    if payload is not None:
        _stream(request, payload)
    if action == "delete":
        return done("/console/announcements?done=deleted")
    return done(f"/console/announcements/{row_id}?done={action}ed")


@require_role(*STAFF)
async def publish(request: Request) -> Response:
    return await _switch(request, "publish")


@require_role(*STAFF)
async def unpublish(request: Request) -> Response:
    return await _switch(request, "unpublish")


@require_role(*STAFF)
async def delete(request: Request) -> Response:
    return await _switch(request, "delete")


routes = [
    Route("/console/announcements", list_page, methods=["GET"]),
    Route("/console/announcements", create, methods=["POST"]),
    Route("/console/announcements/{id}", edit_page, methods=["GET"]),
    Route("/console/announcements/{id}", save, methods=["POST"]),
    Route("/console/announcements/{id}/publish", publish, methods=["POST"]),
    Route("/console/announcements/{id}/unpublish", unpublish, methods=["POST"]),
    Route("/console/announcements/{id}/delete", delete, methods=["POST"]),
]
