"""RSVPs: joining, hesitating and leaving events, here and across hubs (Mobilizon's Join,
Accept, Reject, Leave; Friendica's Accept/TentativeAccept/Reject of the Event).

Capacity is never exceeded: one row per (event, actor) (a unique constraint), and every
change counts the accepted rows while holding the event: on PostgreSQL ``SELECT … FOR
UPDATE`` of the event row, on SQLite the write lock every writing transaction holds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, Event, EventParticipant, PollVote, Status
from fedi.services.events import EventError, count_accepted, send_update
from fedi.services.polls import count_votes, poll_of
from fedi.services.visibility import can_see
from fedi.vocab import build
from outbox.context import PublishContext
from outbox.fanout import notify
from outbox.publish import publish

WISHES = ("going", "maybe", "no")
ACTIVE = ("accepted", "pending", "maybe")


@dataclass(frozen=True)
class Outcome:
    state: str | None  # accepted · pending · maybe · rejected · None (not taking part)
    changed: bool
    full: bool = False


def lock_event(session: Session, status_id: int) -> Event | None:
    """The event row, held until the transaction ends (PostgreSQL; SQLite holds the db)."""
    return session.scalar(select(Event).where(Event.status_id == status_id)
                          .with_for_update().execution_options(populate_existing=True))


def participation(session: Session, event_id: int, actor_id: int) -> EventParticipant | None:
    return session.scalar(select(EventParticipant).where(
        EventParticipant.event_id == event_id, EventParticipant.actor_id == actor_id))


def _linked(ctx: PublishContext) -> Any:
    linked = ctx.linked_domains()
    return lambda domain: domain in linked


def may_take_part(session: Session, ctx: PublishContext, status: Status, actor: Actor) -> bool:
    return actor.type == "Person" and can_see(session, actor, status, is_linked=_linked(ctx))


CHOICE_OF_STATE = {"accepted": 0, "pending": 0, "maybe": 1, None: 2}


def mirror_vote(session: Session, event_id: int, actor_id: int, state: str | None) -> None:
    """The RSVP poll of a local event shows each answer, however it was given."""
    poll = poll_of(session, event_id)
    if poll is None or poll.kind != "rsvp":
        return
    session.execute(delete(PollVote).where(PollVote.poll_id == poll.id,
                                           PollVote.actor_id == actor_id))
    choice = CHOICE_OF_STATE.get(state)
    if choice is not None:
        session.add(PollVote(id=new_id(), poll_id=poll.id, actor_id=actor_id, choice=choice,
                             slot=0, created_at=utcnow()))
    session.flush()
    results = count_votes(session, poll)
    poll.cached_counts, poll.voters_count = results.counts, results.voters_count


def _recount(session: Session, event: Event) -> None:
    session.flush()
    event.participant_count = count_accepted(session, event.status_id)


def rsvp(session: Session, ctx: PublishContext, status: Status, actor: Actor, wish: str, *,
         uri: str | None = None, message: str | None = None) -> Outcome:
    """Record ``actor``'s wish (going · maybe · no) for a local event; counts under lock."""
    if wish not in WISHES:
        raise EventError("Réponse inconnue (going, maybe ou no)",
                         "Unknown answer (going, maybe or no)")
    event = lock_event(session, status.id)
    if event is None or status.deleted_at is not None:
        raise EventError("Événement introuvable", "Event not found", 404)
    if not may_take_part(session, ctx, status, actor):
        raise EventError("Événement introuvable", "Event not found", 404)
    if actor.id == status.actor_id:
        raise EventError("L'organisateur participe déjà", "The organiser already takes part")
    row = participation(session, event.status_id, actor.id)
    before = row.state if row else None
    if wish == "no":
        if row is not None:
            session.delete(row)
        _recount(session, event)
        mirror_vote(session, event.status_id, actor.id, None)
        return Outcome(None, before is not None)
    if event.state == "CANCELLED":
        raise EventError("Cet événement est annulé", "This event is cancelled")
    if wish == "going" and before in ("accepted", "pending"):
        if uri and row is not None:
            row.uri = uri
        return Outcome(before, False)
    if wish == "maybe":
        state = "maybe"
    elif event.join_mode == "restricted":
        state = "pending"
    else:
        state = "accepted"
        if event.capacity is not None and count_accepted(session, event.status_id) >= event.capacity:
            return Outcome(before, False, full=True)
    if row is None:
        row = EventParticipant(id=new_id(), event_id=event.status_id, actor_id=actor.id,
                               created_at=utcnow())
        session.add(row)
    row.state, row.updated_at = state, utcnow()
    if uri:
        row.uri = uri
    if message:
        row.message = message[:1000]
    _recount(session, event)
    mirror_vote(session, event.status_id, actor.id, state)
    return Outcome(state, state != before)


def decide(session: Session, ctx: PublishContext, organiser: Actor, status: Status,
           participant: Actor, approve: bool) -> Outcome:
    """The organiser accepts or rejects a participant (pending ones of a restricted event)."""
    event = lock_event(session, status.id)
    if event is None or status.actor_id != organiser.id or not status.local:
        raise EventError("Seul l'organisateur décide", "Only the organiser decides", 403)
    row = participation(session, event.status_id, participant.id)
    if row is None:
        raise EventError("Cette personne ne participe pas", "This person is not a participant",
                         404)
    if approve:
        if row.state == "accepted":
            return Outcome("accepted", False)
        if event.capacity is not None and count_accepted(session, event.status_id) >= event.capacity:
            raise EventError("L'événement est complet", "The event is full")
        row.state = "accepted"
    else:
        if row.state == "rejected":
            return Outcome("rejected", False)
        row.state = "rejected"
    row.updated_at = utcnow()
    _recount(session, event)
    mirror_vote(session, event.status_id, participant.id, row.state if approve else "rejected")
    answer(session, ctx, status, participant, row, approve)
    if participant.local:
        notify(session, participant.id, "update", organiser.id, status.id)
    send_update(session, ctx, status, event)
    return Outcome(row.state, True)


def answer(session: Session, ctx: PublishContext, status: Status, participant: Actor,
           row: EventParticipant | None, accepted: bool,
           join: dict[str, Any] | None = None) -> None:
    """Accept or Reject of a remote participant's Join (embedded, as Mobilizon sends it)."""
    if participant.local:
        return
    organiser = session.get(Actor, status.actor_id)
    if organiser is None:
        return
    inner: Any = join
    if inner is None:
        inner = {"type": "Join", "id": row.uri if row and row.uri else
                 f"{status.uri}/participants/{participant.id}",
                 "actor": participant.uri, "object": status.uri}
    inner = {k: v for k, v in inner.items() if k != "@context"}
    kind = "Accept" if accepted else "Reject"
    doc = build.activity(kind, f"{status.uri}/{kind.lower()}/join/{new_id()}", organiser.uri,
                         inner, to=[participant.uri], cc=[])
    publish(session, ctx, organiser, doc)


# A local member and an event of another hub ----------------------------------------------

def rsvp_remote(session: Session, ctx: PublishContext, status: Status, member: Actor,
                wish: str) -> Outcome:
    """Our member answers an event organised on another hub: Join, TentativeAccept or Leave
    to the organiser; the row stays ``pending`` until their Accept or Reject arrives."""
    if wish not in WISHES:
        raise EventError("Réponse inconnue (going, maybe ou no)",
                         "Unknown answer (going, maybe or no)")
    event = session.get(Event, status.id)
    organiser = session.get(Actor, status.actor_id)
    if event is None or organiser is None or status.deleted_at is not None:
        raise EventError("Événement introuvable", "Event not found", 404)
    if not may_take_part(session, ctx, status, member):
        raise EventError("Événement introuvable", "Event not found", 404)
    row = participation(session, event.status_id, member.id)
    before = row.state if row else None
    if wish != "no" and event.state == "CANCELLED":
        raise EventError("Cet événement est annulé", "This event is cancelled")
    if wish == "going" and before in ("accepted", "pending"):
        return Outcome(before, False)
    if wish == "no":
        if row is None:
            return Outcome(None, False)
        session.delete(row)
        doc = build.activity("Leave", f"{member.uri}/leaves/{new_id()}", member.uri, status.uri,
                             to=[organiser.uri], cc=[])
        publish(session, ctx, member, doc)
        return Outcome(None, True)
    if row is None:
        row = EventParticipant(id=new_id(), event_id=event.status_id, actor_id=member.id,
                               created_at=utcnow())
        session.add(row)
    row.updated_at = utcnow()
    if wish == "maybe":
        row.state = "maybe"
        doc = build.activity("TentativeAccept", f"{member.uri}/rsvps/{new_id()}", member.uri,
                             status.uri, to=[organiser.uri], cc=[])
    else:
        row.state = "pending"
        row.uri = f"{member.uri}/joins/{new_id()}"
        doc = build.activity("Join", row.uri, member.uri, status.uri, to=[organiser.uri], cc=[])
    publish(session, ctx, member, doc)
    return Outcome(row.state, True)


def set_rsvp(session: Session, ctx: PublishContext, status: Status, member: Actor,
             wish: str, message: str | None = None) -> Outcome:
    """A local member's answer, for an event of this hub or of another (API, polls)."""
    if not status.local:
        return rsvp_remote(session, ctx, status, member, wish)
    outcome = rsvp(session, ctx, status, member, wish, message=message)
    if outcome.full:
        raise EventError("L'événement est complet", "The event is full")
    if outcome.changed:
        event = session.get(Event, status.id)
        if event is not None:
            send_update(session, ctx, status, event)
    return outcome

