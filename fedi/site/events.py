"""Events pages: upcoming list and month grid, the event page (RSVP buttons, participants for
the organiser, accept/reject of pending ones, comments as replies), the editor and cancel.

Thin over ``fedi.services.events`` and ``participation``: every event shown comes through
the timelines' visibility filter (``visible_to`` / ``find_visible``); refused input
re-displays the form with the service's message in the member's language, nothing saved.
"""

from __future__ import annotations

import calendar as monthly
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from babel.dates import format_date as babel_date
from babel.dates import get_day_names
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fedi.convert.events import remaining, where, zone
from fedi.db import utcnow
from fedi.models import Actor, Event, EventParticipant, Status
from fedi.services import timelines
from fedi.services.articles import render_body
from fedi.services.events import (
    DEFAULT_TZ,
    EventError,
    cancel_event,
    create_event,
    edit_event,
)
from fedi.services.participation import decide, participation, set_rsvp
from fedi.site.page import (
    Refused,
    back,
    linked,
    path_id,
    publish_ctx,
    read_form,
    reading,
    refusable,
    show,
    writing,
)
from fedi.site.posts import build_posts, safe_html
from fedi.web.session import require_member
from fedi.web.state import hub_of
from fedi.web.templating import request_language

AUDIENCES = ("followers", "hub", "neighbourhood")
FIELDS = ("title", "description", "start_time", "end_time", "place_name", "street",
          "postal_code", "locality", "online_url", "capacity", "join_mode", "audience",
          "comments_enabled")
LIST_LIMIT = 100
PARIS = zone(DEFAULT_TZ)


@dataclass(frozen=True)
class Item:
    status: Status
    event: Event
    organiser: Actor

    @property
    def place(self) -> str:
        return where(self.event)


def _rows(session: Session, viewer: Actor, nb: frozenset[str], start: datetime,
          end: datetime | None) -> list[Item]:
    """Events the viewer may see (the timelines' rule), soonest first."""
    query = (select(Status, Event, Actor).join(Event, Event.status_id == Status.id)
             .join(Actor, Actor.id == Status.actor_id)
             .where(timelines.visible_to(viewer.id, nb), Event.starts_at >= start))
    if end is not None:
        query = query.where(Event.starts_at < end)
    rows = session.execute(query.order_by(Event.starts_at, Status.id).limit(LIST_LIMIT)).all()
    return [Item(s, e, a) for s, e, a in rows]


def _month(value: str) -> date | None:
    parts = value.split("-")
    if len(parts) != 2 or not all(p.isascii() and p.isdigit() for p in parts) or len(parts[0]) != 4:
        return None
    year, month = int(parts[0]), int(parts[1])
    return date(year, month, 1) if 1970 <= year <= 2200 and 1 <= month <= 12 else None


def _shift(first: date, months: int) -> date:
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@require_member
async def events_page(request: Request) -> Response:
    """Upcoming events, or with ``?month=YYYY-MM`` that month's grid (Paris days)."""
    raw = request.query_params.get("month")
    lang = request_language(request)
    with reading(request) as (session, actor, _user):
        nb = linked(request)
        if raw is None:
            items = _rows(session, actor, nb, utcnow() - timedelta(hours=6), None)
            today = datetime.now(PARIS).date().replace(day=1)
            return show(request, "site/pages/events.html", {
                "nav": "events", "items": items, "this_month": today.strftime("%Y-%m")})
        first = _month(raw)
        if first is None:
            raise HTTPException(400, "month")
        start = datetime(first.year, first.month, 1, tzinfo=PARIS).astimezone(UTC)
        after = _shift(first, 1)
        end = datetime(after.year, after.month, 1, tzinfo=PARIS).astimezone(UTC)
        items = _rows(session, actor, nb, start, end)
    by_day: dict[date, list[Item]] = {}
    for item in items:
        by_day.setdefault(item.event.starts_at.astimezone(PARIS).date(), []).append(item)
    weeks = monthly.Calendar(firstweekday=0).monthdatescalendar(first.year, first.month)
    names = get_day_names("wide", locale=lang)
    short = get_day_names("abbreviated", locale=lang)
    return show(request, "site/pages/events_month.html", {
        "nav": "events", "weeks": weeks, "by_day": by_day, "first": first,
        "title": babel_date(first, "LLLL y", locale=lang).capitalize(),
        "day_names": [(names[i], short[i]) for i in range(7)],
        "previous": _shift(first, -1).strftime("%Y-%m"), "next": after.strftime("%Y-%m")})


def _visible(session: Session, viewer: Actor, request: Request) -> tuple[Status, Event, Actor]:
    status = timelines.find_visible(session, viewer, linked(request), path_id(request))
    event = session.get(Event, status.id) if status is not None else None
    organiser = session.get(Actor, status.actor_id) if status is not None else None
    if status is None or event is None or organiser is None:
        raise HTTPException(404)
    return status, event, organiser


def _event_view(request: Request, session: Session, viewer: Actor, status: Status,
                event: Event, organiser: Actor, error: str | None = None) -> dict[str, Any]:
    nb = linked(request)
    mine = participation(session, event.status_id, viewer.id)
    is_organiser = organiser.id == viewer.id
    people: list[tuple[EventParticipant, Actor]] = []
    if is_organiser:
        people = [(p, a) for p, a in session.execute(
            select(EventParticipant, Actor).join(Actor, Actor.id == EventParticipant.actor_id)
            .where(EventParticipant.event_id == event.status_id)
            .order_by(EventParticipant.id)).all()]
    _ancestors, replies = timelines.context(session, viewer, nb, status)
    return {
        "nav": "events", "status": status, "event": event, "organiser": organiser,
        "place": where(event, request_language(request)), "remaining": remaining(event),
        "mine": mine.state if mine else None, "is_organiser": is_organiser,
        "people": people, "replies": build_posts(session, viewer, nb, replies),
        "here": f"/events/{status.id}", "error": error,
        "description": Markup(render_body(event.source or "", hub_of(request).urls.base))
        if status.local else safe_html(status.content),
        "cancelled": event.state == "CANCELLED",
    }


@require_member
async def event_page(request: Request) -> Response:
    with reading(request) as (session, actor, _user):
        status, event, organiser = _visible(session, actor, request)
        values = _event_view(request, session, actor, status, event, organiser)
        return show(request, "site/pages/event.html", values)


@require_member
async def event_by_url(request: Request) -> Response:
    """``/@name/events/<id>``, the ``url`` the events service gives: the event page."""
    return RedirectResponse(f"/events/{path_id(request)}", status_code=303)


def _values(form: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {k: form[k] for k in FIELDS if k not in ("audience",
                                                                     "comments_enabled")}
    values["timezone"] = DEFAULT_TZ
    values["comments_enabled"] = form.get("comments_enabled") == "on"
    return values


def _editor(request: Request, form: dict[str, str], error: str | None, event_id: int | None,
            status: int = 200) -> Response:
    return show(request, "site/pages/event_edit.html", {
        "nav": "events", "form": form, "error": error, "event_id": event_id,
        "audiences": AUDIENCES}, status=status)


def _local_input(moment: datetime | None) -> str:
    return moment.astimezone(PARIS).strftime("%Y-%m-%dT%H:%M") if moment else ""


@require_member
async def new_event(request: Request) -> Response:
    return _editor(request, {"audience": "followers", "join_mode": "free",
                             "comments_enabled": "on"}, None, None)


async def _event_form(request: Request) -> dict[str, str]:
    form = await read_form(request, FIELDS, 20_001)  # over the limit: the service says so
    if form["audience"] not in AUDIENCES:
        form["audience"] = "followers"
    return form


@require_member
@refusable
async def create(request: Request) -> Response:
    form = await _event_form(request)
    lang = request_language(request)
    with writing(request) as (session, actor, _user):
        try:
            status = create_event(session, publish_ctx(hub_of(request)), actor, _values(form),
                                  form["audience"])
        except EventError as exc:
            raise Refused(_editor(request, form, exc.text(lang), None, 422)) from None
        where_to = f"/events/{status.id}"
    return back(where_to)


def _own(session: Session, actor: Actor, request: Request) -> tuple[Status, Event]:
    status, event, organiser = _visible(session, actor, request)
    if organiser.id != actor.id or not status.local:
        raise HTTPException(404)
    return status, event


@require_member
async def edit_page(request: Request) -> Response:
    with reading(request) as (session, actor, _user):
        status, event = _own(session, actor, request)
        form = {"title": event.title, "description": event.source or "",
                "start_time": _local_input(event.starts_at),
                "end_time": _local_input(event.ends_at), "place_name": event.place_name or "",
                "street": event.street or "", "postal_code": event.postal_code or "",
                "locality": event.locality or "", "online_url": event.online_url or "",
                "capacity": str(event.capacity or ""), "join_mode": event.join_mode,
                "audience": status.visibility,
                "comments_enabled": "on" if event.comments_enabled else ""}
    return _editor(request, form, None, status.id)


@require_member
@refusable
async def edit_submit(request: Request) -> Response:
    form = await _event_form(request)
    lang = request_language(request)
    with writing(request) as (session, actor, _user):
        status, _event = _own(session, actor, request)
        form["audience"] = status.visibility  # an event's audience does not change
        try:
            edit_event(session, publish_ctx(hub_of(request)), actor, status, _values(form))
        except EventError as exc:
            raise Refused(_editor(request, form, exc.text(lang), status.id, 422)) from None
        where_to = f"/events/{status.id}"
    return back(where_to)


@require_member
async def cancel(request: Request) -> Response:
    with writing(request) as (session, actor, _user):
        status, _event = _own(session, actor, request)
        cancel_event(session, publish_ctx(hub_of(request)), actor, status)
        where_to = f"/events/{status.id}"
    return back(where_to)


@require_member
@refusable
async def answer(request: Request) -> Response:
    """The RSVP buttons: J'y vais (going), Peut-être (maybe), Je ne viens pas (no)."""
    form = await read_form(request, ("wish",), 16)
    lang = request_language(request)
    with writing(request) as (session, actor, _user):
        status, event, organiser = _visible(session, actor, request)
        try:
            set_rsvp(session, publish_ctx(hub_of(request)), status, actor, form["wish"])
        except EventError as exc:
            raise Refused(show(request, "site/pages/event.html", _event_view(
                request, session, actor, status, event, organiser, exc.text(lang)),
                status=exc.status)) from None
        where_to = f"/events/{status.id}"
    return back(where_to, "#rsvp")


def _decision(approve: bool):  # type: ignore[no-untyped-def]
    @require_member
    @refusable
    async def decision(request: Request) -> Response:
        lang = request_language(request)
        with writing(request) as (session, actor, _user):
            status, event = _own(session, actor, request)
            target = session.get(Actor, path_id(request, "account_id"))
            if target is None:
                raise HTTPException(404)
            try:
                decide(session, publish_ctx(hub_of(request)), actor, status, target, approve)
            except EventError as exc:
                raise Refused(show(request, "site/pages/event.html", _event_view(
                    request, session, actor, status, event, actor, exc.text(lang)),
                    status=exc.status)) from None
            where_to = f"/events/{status.id}"
        return back(where_to, "#participants")

    decision.__name__ = "accept" if approve else "reject"
    return decision


routes = [
    Route("/events", events_page, methods=["GET"], name="events"),
    Route("/events", create, methods=["POST"]),
    Route("/events/new", new_event, methods=["GET"], name="new_event"),
    Route("/events/{id}", event_page, methods=["GET"]),
    Route("/events/{id}/edit", edit_page, methods=["GET"]),
    Route("/events/{id}/edit", edit_submit, methods=["POST"]),
    Route("/events/{id}/cancel", cancel, methods=["POST"]),
    Route("/events/{id}/rsvp", answer, methods=["POST"]),
    Route("/events/{id}/participants/{account_id}/accept", _decision(True), methods=["POST"]),
    Route("/events/{id}/participants/{account_id}/reject", _decision(False), methods=["POST"]),
    Route("/@{acct}/events/{id}", event_by_url, methods=["GET"]),
]
