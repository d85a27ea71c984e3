"""Events extension API: list, read, create, edit, cancel, delete, RSVP, participants, and
iCalendar downloads (one event, or a member's secret feed URL).

Errors are Mastodon-shaped (``{"error": …}``, 422 for bad input) in the member's language.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.errors import ApiError, not_found
from fedi.convert.events import remaining, when_and_where
from fedi.convert.model_to_api import FROM_API, api_visibility, iso
from fedi.db import utcnow
from fedi.models import Actor, Event, EventParticipant, Status
from fedi.services import calendar
from fedi.services.events import (
    EventError,
    cancel_event,
    create_event,
    delete_event,
    edit_event,
    hub_language,
)
from fedi.services.participation import decide, participation, set_rsvp
from fedi.services.timelines import find_visible, visible_to
from fedi.web.state import hub_of

FIELDS = ("title", "description", "start_time", "end_time", "timezone", "place_name", "street",
          "postal_code", "locality", "region", "country", "online_url", "capacity", "join_mode",
          "comments_enabled")
AUDIENCES = {"neighbourhood", "hub", "followers"}
MAX_LIST = 200


def failed(call: Call, exc: EventError) -> ApiError:
    lang = call.caller.user.locale if call.caller and call.caller.user else "fr"
    prefix = "Validation failed: " if exc.status == 422 and lang == "en" else (
        "Échec de la validation : " if exc.status == 422 else "")
    return ApiError(exc.status, prefix + exc.text(lang))


def values_of(call: Call) -> dict[str, Any]:
    p = call.params
    out: dict[str, Any] = {}
    for name in FIELDS:
        if not p.has(name) and not (name in p.data and p.data[name] is None):
            continue
        if name == "comments_enabled":
            out[name] = p.bool(name, True)
        elif name == "description":
            out[name] = p.str(name, "", max_len=1_000_000)
        else:
            out[name] = p.data.get(name)
            if out[name] is not None and not isinstance(out[name], (str, int)):
                out[name] = str(out[name])
    place = p.data.get("place")
    if isinstance(place, dict):  # a nested place object, as JSON clients send it
        for key in ("name", "street", "postal_code", "locality", "region", "country"):
            if key in place:
                out["place_name" if key == "name" else key] = place[key]
    return out


def audience(call: Call, default: str = "followers") -> str:
    value = call.params.str("visibility", max_len=32) or default
    if value in AUDIENCES:
        return value
    if value in FROM_API and value != "direct":
        return FROM_API[value]
    raise failed(call, EventError("Audience inconnue (neighbourhood, hub ou followers)",
                                  "Unknown visibility (neighbourhood, hub or followers)"))


def entity(call: Call, status: Status, event: Event) -> dict[str, Any]:
    viewer = call.caller.actor if call.caller else None
    mine = participation(call.session, event.status_id, viewer.id) if viewer else None
    author = call.session.get(Actor, status.actor_id)
    lang = call.caller.user.locale if call.caller and call.caller.user else hub_language(
        call.hub.settings)
    is_organiser = viewer is not None and viewer.id == status.actor_id
    return {
        "id": str(status.id), "uri": status.uri, "url": status.url or status.uri,
        "title": event.title, "description": status.content,
        "source": event.source if is_organiser else None,
        "summary": when_and_where(event, lang),
        "start_time": iso(event.starts_at),
        "end_time": iso(event.ends_at) if event.ends_at else None,
        "timezone": event.timezone,
        "place": {"name": event.place_name, "street": event.street,
                  "postal_code": event.postal_code, "locality": event.locality,
                  "region": event.region, "country": event.country},
        "online_url": event.online_url, "capacity": event.capacity,
        "remaining_capacity": remaining(event), "participant_count": event.participant_count,
        "join_mode": event.join_mode, "status": event.state.lower(),
        "comments_enabled": bool(event.comments_enabled),
        "visibility": status.visibility, "api_visibility": api_visibility(status.visibility),
        "local": status.local, "organiser": call.render.account(author) if author else None,
        "participation": mine.state if mine else None,
        "created_at": iso(status.created_at),
        "edited_at": iso(status.edited_at) if status.edited_at else None,
        "ics_url": f"{call.hub.urls.base}/api/v1/events/{status.id}.ics",
    }


def visible_event(call: Call) -> tuple[Status, Event]:
    status = find_visible(call.session, call.actor, call.render.linked, call.path_id())
    event = call.session.get(Event, status.id) if status is not None else None
    if status is None or event is None:
        raise not_found()
    return status, event


def _moment(call: Call, name: str) -> datetime | None:
    value = call.params.str(name, max_len=64)
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise failed(call, EventError(f"{name} n'est pas une date ISO 8601",
                                      f"{name} is not an ISO 8601 date-time")) from None
    if not 1970 <= moment.year <= 2200:
        raise failed(call, EventError(f"{name} doit être entre 1970 et 2200",
                                      f"{name} must be between 1970 and 2200"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


async def list_events(call: Call) -> Any:
    """Upcoming events the member may see, soonest first (``from``, ``to``, ``local``,
    ``neighbourhood``: only this hub's, or only those shared with the neighbourhood)."""
    p = call.params
    start = _moment(call, "from") or utcnow() - timedelta(hours=6)
    end = _moment(call, "to")
    query = (select(Status, Event).join(Event, Event.status_id == Status.id)
             .join(Actor, Actor.id == Status.actor_id)
             .where(visible_to(call.actor.id, call.render.linked),
                    Event.starts_at >= start))
    if end is not None:
        query = query.where(Event.starts_at <= end)
    if p.bool("local"):
        query = query.where(Actor.local)
    if p.bool("neighbourhood"):
        query = query.where(Status.visibility == "neighbourhood")
    limit = p.int("limit", 40, low=1, high=MAX_LIST)
    rows = call.session.execute(query.order_by(Event.starts_at, Status.id).limit(limit)).all()
    return [entity(call, status, event) for status, event in rows]


async def get_event(call: Call) -> Any:
    status, event = visible_event(call)
    return entity(call, status, event)


async def post_event(call: Call) -> Any:
    try:
        status = create_event(call.session, call.ctx, call.actor, values_of(call),
                              audience(call))
    except EventError as exc:
        raise failed(call, exc) from None
    return entity(call, status, call.session.get(Event, status.id))


async def put_event(call: Call) -> Any:
    status, event = visible_event(call)
    try:
        if call.params.str("status", max_len=16) in ("cancelled", "CANCELLED"):
            cancel_event(call.session, call.ctx, call.actor, status)
        values = values_of(call)
        if values or not call.params.has("status"):
            edit_event(call.session, call.ctx, call.actor, status, values)
    except EventError as exc:
        raise failed(call, exc) from None
    return entity(call, status, event)


async def cancel(call: Call) -> Any:
    status, event = visible_event(call)
    try:
        cancel_event(call.session, call.ctx, call.actor, status)
    except EventError as exc:
        raise failed(call, exc) from None
    return entity(call, status, event)


async def remove_event(call: Call) -> Any:
    status, event = visible_event(call)
    result = entity(call, status, event)
    try:
        delete_event(call.session, call.ctx, call.actor, status)
    except EventError as exc:
        raise failed(call, exc) from None
    return result


def _rsvp(wish: str | None) -> Any:
    async def answer(call: Call) -> Any:
        status, event = visible_event(call)
        choice = wish or call.params.str("state", "going", max_len=16) or "going"
        try:
            set_rsvp(call.session, call.ctx, status, call.actor, choice,
                     message=call.params.str("message", max_len=1000))
        except EventError as exc:
            raise failed(call, exc) from None
        call.session.flush()
        return entity(call, status, event)

    answer.__name__ = f"rsvp_{wish or 'any'}"
    return answer


def _organised(call: Call) -> tuple[Status, Event]:
    status, event = visible_event(call)
    if status.actor_id != call.actor.id:
        raise ApiError(403, "Seul l'organisateur voit les participants"
                       if call.user.locale != "en" else "Only the organiser sees participants")
    return status, event


async def participants(call: Call) -> Any:
    status, _event = _organised(call)
    rows = call.session.execute(
        select(EventParticipant, Actor).join(Actor, Actor.id == EventParticipant.actor_id)
        .where(EventParticipant.event_id == status.id).order_by(EventParticipant.id)).all()
    return [{"id": str(row.id), "account": call.render.account(actor), "state": row.state,
             "message": row.message, "created_at": iso(row.created_at)} for row, actor in rows]


def _decision(approve: bool) -> Any:
    async def decision(call: Call) -> Any:
        status, _event = _organised(call)
        target = call.session.get(Actor, call.path_id("account_id"))
        if target is None:
            raise not_found()
        try:
            outcome = decide(call.session, call.ctx, call.actor, status, target, approve)
        except EventError as exc:
            raise failed(call, exc) from None
        return {"account": call.render.account(target), "state": outcome.state}

    decision.__name__ = "accept_participant" if approve else "reject_participant"
    return decision


async def event_ics(call: Call) -> Any:
    status, event = visible_event(call)
    body = calendar.feed(call.session, call.hub.settings.name, [(status, event)], call.actor)
    return Response(body, media_type="text/calendar; charset=utf-8", headers={
        "Cache-Control": "private, no-store",
        "Content-Disposition": f'attachment; filename="event-{status.id}.ics"'})


async def new_feed_token(call: Call) -> Any:
    token = calendar.new_token(call.session, call.actor)
    return {"url": f"{call.hub.urls.base}/calendar/{token}.ics"}


async def revoke_feed_token(call: Call) -> Any:
    calendar.revoke_token(call.session, call.actor)
    return {}


async def feed(request: Request) -> Response:
    """The member's secret iCalendar URL: no login, the token is the key."""
    hub = hub_of(request)
    token = request.path_params.get("token", "")
    with hub.read_sessions() as session:
        owner = calendar.owner_of(session, token)
        if owner is None:
            return Response("Not found\n", status_code=404, media_type="text/plain")
        body = calendar.member_feed(session, hub.settings.name, owner, hub.peers.allowed())
    return Response(body, media_type="text/calendar; charset=utf-8",
                    headers={"Cache-Control": "private, no-store",
                             "Referrer-Policy": "no-referrer"})


read = endpoint("read:statuses", body=False)
write = endpoint("write:statuses")
routes = [
    Route("/api/v1/events", read(list_events), methods=["GET"]),
    Route("/api/v1/events", write(post_event), methods=["POST"]),
    Route("/api/v1/events/feed_token", write(new_feed_token), methods=["POST"]),
    Route("/api/v1/events/feed_token", write(revoke_feed_token), methods=["DELETE"]),
    Route("/api/v1/events/{id}.ics", read(event_ics), methods=["GET"]),
    Route("/api/v1/events/{id}", read(get_event), methods=["GET"]),
    Route("/api/v1/events/{id}", write(put_event), methods=["PUT"]),
    Route("/api/v1/events/{id}", write(remove_event), methods=["DELETE"]),
    Route("/api/v1/events/{id}/cancel", write(cancel), methods=["POST"]),
    Route("/api/v1/events/{id}/join", write(_rsvp(None)), methods=["POST"]),
    Route("/api/v1/events/{id}/leave", write(_rsvp("no")), methods=["POST"]),
    Route("/api/v1/events/{id}/participants", read(participants), methods=["GET"]),
    Route("/api/v1/events/{id}/participants/{account_id}/accept",
          write(_decision(True)), methods=["POST"]),
    Route("/api/v1/events/{id}/participants/{account_id}/reject",
          write(_decision(False)), methods=["POST"]),
    Route("/calendar/{token}.ics", feed, methods=["GET"]),
]
