"""Events from other hubs and servers (Mobilizon, Gancio, Friendica shapes), and RSVPs.

- Create/Update/Delete of ``Event``: a status of type Event plus its ``events`` row.
- ``Join`` of one of our events → ``Accept`` (or ``Reject`` when full, cancelled or not
  visible to the sender; nothing yet when the organiser must approve); ``Leave`` and
  ``Undo(Join)`` leave. Friendica-style ``Accept``/``TentativeAccept``/``Reject`` whose
  object is the Event are an RSVP too.
- ``Accept``/``Reject`` of a Join one of our members sent: their participation's answer.

Accept and Reject with a bare URI object are shared with follows and hub links: these
handlers take those entries and pass on whatever is not about an event (imported after
``hubs``, as ``hubs`` is after ``follows``).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from fedi.convert.ap_to_model import sanitize_html
from fedi.convert.events import event_fields, status_html
from fedi.db import utcnow
from fedi.models import Actor, Event, EventParticipant, Status
from fedi.services.events import EventError, hub_language, local_participants, send_update
from fedi.services.participation import answer, participation, rsvp
from fedi.services.polls import apply_remote_question
from fedi.vocab.parse import get_id
from inbox.dispatch import HandlerContext, handles, log
from inbox.handlers import hubs, notes
from outbox.fanout import notify

MAX_CONTENT = 100_000


def _apply(ctx: HandlerContext, status: Status, event: Event, fields: dict[str, Any],
           obj: dict[str, Any]) -> None:
    for key, value in fields.items():
        setattr(event, key, value)
    event.updated_at = fields.get("updated_at") or utcnow()
    description = sanitize_html(obj["content"][:MAX_CONTENT]
                                if isinstance(obj.get("content"), str) else "")
    status.title = event.title
    status.spoiler_text = ""  # an Event's summary is its date and place, not a warning
    status.content = status_html(event, description, hub_language(ctx.publish.settings))
    poll = apply_remote_question(ctx.session, status, obj)
    if poll is not None:  # the organiser's hub answers through an RSVP poll (event_polls.py)
        poll.kind, poll.expires_at = "rsvp", None


@handles("Create", "Event")
def handle_create_event(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    obj = doc["object"]
    fields = event_fields(obj)
    if fields is None:
        log.info("Event %s without a usable startTime dropped", obj.get("id"))
        return
    s = ctx.session
    notes.handle_create_note(ctx, doc)
    status = s.scalar(select(Status).where(Status.uri == obj["id"],
                                           Status.actor_id == ctx.actor.id))
    if status is None or s.get(Event, status.id) is not None:
        return
    event = Event(status_id=status.id, **{k: v for k, v in fields.items() if v is not None
                                          or k != "updated_at"})
    s.add(event)
    _apply(ctx, status, event, fields, obj)


@handles("Update", "Event")
def handle_update_event(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    obj = doc["object"]
    s = ctx.session
    status = s.scalar(select(Status).where(Status.uri == obj["id"],
                                           Status.actor_id == ctx.actor.id))
    if status is None:
        handle_create_event(ctx, {**doc, "type": "Create"})
        return
    event = s.get(Event, status.id)
    fields = event_fields(obj)
    if event is None or fields is None or status.deleted_at is not None:
        return
    if fields["updated_at"] is not None and fields["updated_at"] < event.updated_at:
        log.info("stale Update of %s dropped (an earlier one arrived later)", obj["id"])
        return
    was_cancelled = event.state == "CANCELLED"
    status.raw = obj
    status.edited_at = utcnow()
    _apply(ctx, status, event, fields, obj)
    if event.state == "CANCELLED" and not was_cancelled:
        for actor_id in local_participants(s, event.status_id):
            notify(s, actor_id, "update", ctx.actor.id, status.id)


@handles("Delete", "Event")
def handle_delete_event(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    notes.handle_delete(ctx, doc)


def _local_event(ctx: HandlerContext, uri: str | None) -> Status | None:
    if not uri:
        return None
    return ctx.session.scalar(select(Status).where(Status.uri == uri, Status.local,
                                                   Status.type == "Event"))


def _rsvp(ctx: HandlerContext, doc: dict[str, Any], status: Status, wish: str) -> None:
    """An RSVP from a remote person to one of our events, answered as Mobilizon does."""
    s = ctx.session
    join = doc if doc.get("type") == "Join" else None
    try:
        outcome = rsvp(s, ctx.publish, status, ctx.actor, wish,
                       uri=doc.get("id") if join else None,
                       message=doc.get("participationMessage")
                       if isinstance(doc.get("participationMessage"), str) else None)
    except EventError as exc:
        log.info("RSVP of %s to %s refused: %s", ctx.actor.uri, status.uri, exc.en)
        if wish != "no" and join is not None:
            answer(s, ctx.publish, status, ctx.actor, None, False, join=join)
        return
    row = participation(s, status.id, ctx.actor.id)
    if join is not None:
        if outcome.full:
            answer(s, ctx.publish, status, ctx.actor, row, False, join=join)
        elif outcome.state == "accepted":
            answer(s, ctx.publish, status, ctx.actor, row, True, join=join)
    if outcome.changed:
        event = s.get(Event, status.id)
        if event is not None:
            send_update(s, ctx.publish, status, event)


@handles("Join", None, "Event")
def handle_join(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    status = _local_event(ctx, get_id(doc.get("object")))
    if status is None:
        log.info("Join of an unknown event from %s dropped", ctx.actor.uri)
        return
    _rsvp(ctx, doc, status, "going")


@handles("Leave", None, "Event")
def handle_leave(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    status = _local_event(ctx, get_id(doc.get("object")))
    if status is not None:
        _rsvp(ctx, doc, status, "no")


@handles("TentativeAccept", None, "Event")
def handle_tentative(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    status = _local_event(ctx, get_id(doc.get("object")))
    if status is not None:
        _rsvp(ctx, doc, status, "maybe")


@handles("Undo", "Join", "Accept", "TentativeAccept")
def handle_undo_rsvp(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    inner = doc.get("object")
    if not isinstance(inner, dict) or get_id(inner.get("actor")) not in (None, ctx.actor.uri):
        return
    status = _local_event(ctx, get_id(inner.get("object")))
    if status is not None:
        _rsvp(ctx, doc, status, "no")


def _our_join(ctx: HandlerContext, doc: dict[str, Any]) -> EventParticipant | None:
    """Our member's participation that an organiser's Accept/Reject answers."""
    obj = doc.get("object")
    s = ctx.session
    join_id = get_id(obj)
    row = None
    if join_id:
        row = s.scalar(select(EventParticipant).where(EventParticipant.uri == join_id))
    if row is None and isinstance(obj, dict) and obj.get("type") == "Join":
        event_status = s.scalar(select(Status).where(Status.uri == get_id(obj.get("object"))))
        member = get_id(obj.get("actor"))
        if event_status is not None and member:
            actor = s.scalar(select(Actor).where(Actor.uri == member, Actor.local))
            if actor is not None:
                row = participation(s, event_status.id, actor.id)
    if row is None:
        return None
    status = s.get(Status, row.event_id)
    if status is None or status.actor_id != ctx.actor.id:
        return None  # only the organiser answers
    return row


def _answered(ctx: HandlerContext, doc: dict[str, Any], accepted: bool) -> bool:
    row = _our_join(ctx, doc)
    if row is None:
        return False
    row.state = "accepted" if accepted else "rejected"
    row.updated_at = utcnow()
    notify(ctx.session, row.actor_id, "update", ctx.actor.id, row.event_id)
    return True


@handles("Accept", None, "Follow", "Join", "Event")
def handle_accept(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    if _answered(ctx, doc, True):
        return
    status = _local_event(ctx, get_id(doc.get("object")))
    if status is not None:  # Friendica: Accept of the Event is "I'm going"
        _rsvp(ctx, doc, status, "going")
        return
    if isinstance(doc.get("object"), dict) and doc["object"].get("type") != "Follow":
        return
    hubs.handle_accept(ctx, doc)


@handles("Reject", None, "Follow", "Join", "Event")
def handle_reject(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    if _answered(ctx, doc, False):
        return
    status = _local_event(ctx, get_id(doc.get("object")))
    if status is not None:  # Friendica: Reject of the Event is "I'm not going"
        _rsvp(ctx, doc, status, "no")
        return
    if isinstance(doc.get("object"), dict) and doc["object"].get("type") != "Follow":
        return
    hubs.handle_reject(ctx, doc)
