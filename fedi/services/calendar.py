"""iCalendar (RFC 5545) feeds: one event, or every event a member may see, with their RSVP.

A member's feed has a secret URL (``/calendar/<token>.ics``): only the token's hash is
stored, a new token replaces the old one, and revoking it ends the URL. Times are written
in the event's own zone with a ``VTIMEZONE``; cancelled events say ``STATUS:CANCELLED``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.convert.articles import plain_excerpt
from fedi.convert.events import where, zone
from fedi.db import utcnow
from fedi.models import Actor, CalendarToken, Event, EventParticipant, Status, User
from fedi.services.timelines import visible_to

if TYPE_CHECKING:
    from icalendar import Event as VEvent

PARTSTAT = {"accepted": "ACCEPTED", "maybe": "TENTATIVE", "pending": "NEEDS-ACTION",
            "rejected": "DECLINED"}
FEED_PAST = timedelta(days=90)
FEED_LIMIT = 500


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(session: Session, member: Actor) -> str:
    """A fresh secret for the member's feed; the previous URL stops working."""
    token = secrets.token_urlsafe(32)
    row = session.get(CalendarToken, member.id)
    if row is None:
        session.add(CalendarToken(actor_id=member.id, token_hash=_hash(token),
                                  created_at=utcnow()))
    else:
        row.token_hash, row.created_at = _hash(token), utcnow()
    return token


def revoke_token(session: Session, member: Actor) -> None:
    row = session.get(CalendarToken, member.id)
    if row is not None:
        session.delete(row)


def owner_of(session: Session, token: str) -> Actor | None:
    if not token or len(token) > 128:
        return None
    row = session.scalar(select(CalendarToken).where(CalendarToken.token_hash == _hash(token)))
    if row is None:
        return None
    # The URL is a key like a token: it stops working with the account (suspended,
    # disabled), as tokens and sessions do (fedi.api.auth.authenticate).
    return session.scalar(select(Actor).join(User, User.actor_id == Actor.id).where(
        Actor.id == row.actor_id, Actor.local, Actor.deleted_at.is_(None),
        Actor.suspended_at.is_(None), User.disabled.is_(False)))


def _vevent(status: Status, event: Event, organiser: Actor | None,
            rsvp: EventParticipant | None, viewer: Actor | None) -> VEvent:
    # icalendar is imported when a feed is asked for, not when a hub starts (~0.3 s of CPU).
    from icalendar import Event as VEvent
    from icalendar import vCalAddress, vText

    tz = zone(event.timezone)
    item = VEvent()
    item.add("uid", status.uri)
    item.add("dtstamp", utcnow())
    item.add("dtstart", event.starts_at.astimezone(tz))
    item.add("dtend", (event.ends_at or event.starts_at + timedelta(hours=2)).astimezone(tz))
    item.add("summary", event.title)
    description = plain_excerpt(status.content, 8000)
    if description:
        item.add("description", description)
    place = where(event)
    if place:
        item.add("location", place)
    item.add("url", status.url or status.uri)
    item.add("status", event.state)
    item.add("last-modified", max(status.edited_at or status.created_at, event.updated_at))
    item.add("created", status.created_at)
    if organiser is not None:
        who = vCalAddress(organiser.uri)
        who.params["cn"] = vText(organiser.display_name or organiser.username)
        item.add("organizer", who)
    if viewer is not None and rsvp is not None:
        me = vCalAddress(viewer.uri)
        me.params["cn"] = vText(viewer.display_name or viewer.username)
        me.params["partstat"] = vText(PARTSTAT.get(rsvp.state, "NEEDS-ACTION"))
        item.add("attendee", me)
    return item


def feed(session: Session, name: str, rows: Sequence[tuple[Status, Event]],
         viewer: Actor | None) -> bytes:
    """A VCALENDAR with these events (and the viewer's RSVP to each)."""
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", "-//Voisins//Events//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    ids = [status.id for status, _event in rows]
    rsvps = {}
    if viewer is not None and ids:
        rsvps = {r.event_id: r for r in session.scalars(select(EventParticipant).where(
            EventParticipant.actor_id == viewer.id, EventParticipant.event_id.in_(ids)))}
    organisers = {a.id: a for a in session.scalars(select(Actor).where(
        Actor.id.in_({status.actor_id for status, _event in rows})))} if rows else {}
    for status, event in rows:
        cal.add_component(_vevent(status, event, organisers.get(status.actor_id),
                                  rsvps.get(status.id), viewer))
    if rows:
        starts = [event.starts_at.date() for _status, event in rows]
        cal.add_missing_timezones(first_date=min(starts) - timedelta(days=366),
                                  last_date=max(starts) + timedelta(days=366))
    return cal.to_ical()


def member_feed(session: Session, name: str, member: Actor, linked: frozenset[str]) -> bytes:
    """Every event the member may see, from three months ago on (the same rule as the API)."""
    rows = session.execute(
        select(Status, Event).join(Event, Event.status_id == Status.id)
        .join(Actor, Actor.id == Status.actor_id)
        .where(visible_to(member.id, linked), Event.starts_at >= utcnow() - FEED_PAST)
        .order_by(Event.starts_at).limit(FEED_LIMIT)).all()
    return feed(session, name, [(s, e) for s, e in rows], member)
