"""Event reminders by mail, for the members who asked for them in their settings
(``User.remind_by_email``, off by default). Queued with the in-app reminder, in the same
transaction (fedi.services.events.send_reminders), so nobody is mailed twice."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.config import Settings
from fedi.mail.messages import compose
from fedi.mail.queue import enqueue
from fedi.models import Actor, Event, Status, User


def local_time(event: Event) -> str:
    """When the event starts, in its own time zone (UTC if the zone is unknown here)."""
    try:
        zone = ZoneInfo(event.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return f"{event.starts_at.astimezone(zone).strftime('%Y-%m-%d %H:%M')} ({zone.key})"


def place_of(event: Event) -> str:
    parts = [event.place_name, event.street, event.postal_code, event.locality]
    place = ", ".join(p.strip() for p in parts if p and p.strip())
    return place or (event.online_url or "")


def mail_reminders(session: Session, settings: Settings, event: Event, status: Status,
                   actor_ids: list[int]) -> int:
    """Queue the reminder of ``event`` for those of ``actor_ids`` who want it by mail."""
    if not actor_ids:
        return 0
    rows = session.execute(
        select(User.email, User.locale, Actor.username).join(Actor, Actor.id == User.actor_id)
        .where(User.actor_id.in_(actor_ids), User.remind_by_email.is_(True),
               User.disabled.is_(False), Actor.deleted_at.is_(None))).all()
    for address, locale, username in rows:
        lang = "en" if locale == "en" else "fr"
        message = compose("event_reminder", lang, {
            "hub": settings.name, "username": username, "title": event.title,
            "when": local_time(event), "place": place_of(event),
            "link": f"{settings.base_url}/events/{status.id}"})
        enqueue(session, "event_reminder", address, lang, message)
    return len(rows)
