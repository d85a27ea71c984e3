"""Create, edit, cancel and delete local events; send their Update when they change.

An event is a status row of type ``Event`` (so timelines, ``can_see``, replies, delivery and
notifications are the notes' own) and one ``events`` row. Bad input raises ``EventError``
with a French and an English message; nothing is written before every field is checked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fedi.config import Settings
from fedi.convert.articles import plain_excerpt
from fedi.convert.events import EVENT_CONTEXT, event_object, status_html
from fedi.convert.model_to_ap import note
from fedi.convert.question import question_fields
from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, Article, Event, EventParticipant, Status, StatusEdit
from fedi.services.articles import render_body
from fedi.services.polls import create_poll, poll_of, poll_results, with_question
from fedi.services.posting import VISIBILITIES, addressing, delete_status
from fedi.services.reminder_mail import mail_reminders
from fedi.services.visibility import who_may_see
from fedi.vocab import build
from outbox.context import PublishContext
from outbox.fanout import fan_out_status, notify
from outbox.publish import publish

MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_CAPACITY = 100_000
DEFAULT_TZ = "Europe/Paris"
MIN_YEAR, MAX_YEAR = 1970, 2200
RSVP_OPTIONS = ["J'y vais", "Peut-être", "Je ne viens pas"]
PLACE_FIELDS = {"place_name": 255, "street": 255, "postal_code": 32, "locality": 255,
                "region": 255, "country": 255}


class EventError(ValueError):
    """Refused input or action; ``text(lang)`` is the message for the member (422)."""

    def __init__(self, fr: str, en: str, status: int = 422) -> None:
        super().__init__(en)
        self.fr, self.en, self.status = fr, en, status

    def text(self, lang: str | None) -> str:
        return self.en if lang == "en" else self.fr


def hub_language(settings: Settings) -> str:
    hub = settings.extra.get("events", {}) if isinstance(settings.extra, dict) else {}
    lang = hub.get("language", "fr") if isinstance(hub, dict) else "fr"
    return "en" if lang == "en" else "fr"


def _zone(name: Any) -> ZoneInfo:
    if not isinstance(name, str) or not name or len(name) > 64:
        raise EventError("Fuseau horaire inconnu", "Unknown time zone")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise EventError(f"Fuseau horaire inconnu : {name}", f"Unknown time zone: {name}") from None


def _moment(value: Any, tz: ZoneInfo, what_fr: str, what_en: str) -> datetime:
    """An ISO 8601 date-time; without an offset it is read in the event's time zone."""
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).strip())
        except (ValueError, OverflowError):
            raise EventError(f"{what_fr} n'est pas une date ISO 8601",
                             f"{what_en} is not an ISO 8601 date-time") from None
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        raise EventError(f"{what_fr} doit être entre {MIN_YEAR} et {MAX_YEAR}",
                         f"{what_en} must be between {MIN_YEAR} and {MAX_YEAR}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def _online(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or len(text) > 2048:
        raise EventError("Le lien en ligne doit être une adresse http(s)",
                         "The online link must be an http(s) URL")
    return text


def _capacity(value: Any) -> int | None:
    if value in (None, ""):
        return None
    try:
        number = int(str(value))
    except ValueError:
        raise EventError("La capacité doit être un nombre entier",
                         "Capacity must be a whole number") from None
    if number <= 0 or number > MAX_CAPACITY:
        raise EventError(f"La capacité doit être comprise entre 1 et {MAX_CAPACITY}",
                         f"Capacity must be between 1 and {MAX_CAPACITY}")
    return number


def read_input(values: dict[str, Any], current: Event | None = None) -> dict[str, Any]:
    """Checked column values from ``values`` (API names), over ``current`` for an edit."""
    out: dict[str, Any] = {}
    if current is not None:
        for column in ("title", "source", "starts_at", "ends_at", "timezone", "online_url",
                       "capacity", "join_mode", "comments_enabled", *PLACE_FIELDS):
            out[column] = getattr(current, column)
    if "title" in values or current is None:
        title = str(values.get("title") or "").strip()
        if not title:
            raise EventError("Un événement a besoin d'un titre", "An event needs a title")
        if len(title) > MAX_TITLE:
            raise EventError(f"Le titre dépasse {MAX_TITLE} caractères",
                             f"The title is over {MAX_TITLE} characters")
        out["title"] = title
    if "description" in values or current is None:
        text = str(values.get("description") or "")
        if len(text) > MAX_DESCRIPTION:
            raise EventError(f"La description dépasse {MAX_DESCRIPTION} caractères",
                             f"The description is over {MAX_DESCRIPTION} characters")
        out["source"] = text
    if "timezone" in values or current is None:
        out["timezone"] = _zone(values.get("timezone") or DEFAULT_TZ).key
    tz = ZoneInfo(out["timezone"])
    if values.get("start_time") not in (None, ""):
        out["starts_at"] = _moment(values["start_time"], tz, "Le début", "The start")
    elif current is None:
        raise EventError("Indiquez le début de l'événement", "The start time is missing")
    if "end_time" in values:
        end = values.get("end_time")
        out["ends_at"] = (None if end in (None, "")
                          else _moment(end, tz, "La fin", "The end"))
    if out.get("ends_at") is not None and out["ends_at"] <= out["starts_at"]:
        raise EventError("La fin doit venir après le début", "The end must be after the start")
    for name, limit in PLACE_FIELDS.items():
        if name in values or current is None:
            text = str(values.get(name) or "").strip()
            if len(text) > limit:
                raise EventError(f"Le champ {name} dépasse {limit} caractères",
                                 f"{name} is over {limit} characters")
            out[name] = text or None
    if "online_url" in values or current is None:
        out["online_url"] = _online(values.get("online_url"))
    if "capacity" in values or current is None:
        out["capacity"] = _capacity(values.get("capacity"))
    if "join_mode" in values or current is None:
        mode = values.get("join_mode") or "free"
        if mode not in ("free", "restricted"):
            raise EventError("Le mode d'inscription est « free » ou « restricted »",
                             "join_mode must be free or restricted")
        out["join_mode"] = mode
    if "comments_enabled" in values or current is None:
        out["comments_enabled"] = values.get("comments_enabled", True) is not False
    return out


def event_url(ctx: PublishContext, author: Actor, status_id: int) -> str:
    """The member page of an event (the web pages are built elsewhere)."""
    return f"{ctx.urls.profile(author.username)}/events/{status_id}"


def _render(ctx: PublishContext, event: Event) -> str:
    return render_body(event.source or "", ctx.urls.base)


def create_event(session: Session, ctx: PublishContext, author: Actor,
                 values: dict[str, Any], visibility: str = "followers") -> Status:
    """Store a local event (a status and its event row), fan it out, queue its Create."""
    columns = read_input(values)
    if visibility not in VISIBILITIES or visibility == "direct":
        raise EventError("Audience inconnue", "Unknown audience")
    status_id = new_id()
    uri = ctx.urls.status(author.username, status_id)
    event = Event(status_id=status_id, state="CONFIRMED", participant_count=0,
                  updated_at=utcnow(), **columns)
    lang = hub_language(ctx.settings)
    status = Status(id=status_id, uri=uri, actor_id=author.id, local=True,
                    visibility=visibility, type="Event", title=event.title,
                    content=status_html(event, _render(ctx, event), lang), source=event.source,
                    url=event_url(ctx, author, status_id), language=lang,
                    recipients=addressing(ctx, author, visibility, []), created_at=utcnow())
    session.add(status)
    session.flush()
    session.add(event)
    session.flush()
    fan_out_status(session, status, [])
    # Mastodon apps answer through this poll (fedi/services/event_polls.py).
    create_poll(session, status, RSVP_OPTIONS, expires_at=None, kind="rsvp")
    obj = event_document(session, status, author)
    doc = build.activity("Create", f"{uri}/activity", author.uri, obj, to=obj["to"],
                         cc=obj["cc"], published=obj["published"])
    doc["@context"] = EVENT_CONTEXT
    publish(session, ctx, author, doc, federate=visibility != "hub")
    return status


def participant_uris(session: Session, ctx: PublishContext, status: Status) -> list[str]:
    """Remote actors with an RSVP who may still see the event: they get its Updates even
    if not addressed (one whose follow ended since is left out)."""
    actors = session.scalars(select(Actor).join(
        EventParticipant, EventParticipant.actor_id == Actor.id).where(
        EventParticipant.event_id == status.id, Actor.local.is_(False),
        EventParticipant.state.in_(("accepted", "pending", "maybe"))))
    linked = ctx.linked_domains()
    return [a.uri for a in who_may_see(session, status, actors, is_linked=linked.__contains__)]


def refresh_status(ctx: PublishContext, status: Status, event: Event) -> None:
    """The status text apps show follows the event (date, place, state)."""
    lang = hub_language(ctx.settings)
    status.title = event.title
    status.content = status_html(event, _render(ctx, event), lang)


def send_update(session: Session, ctx: PublishContext, status: Status, event: Event) -> None:
    """Update(Event) to the first recipients and every remote participant."""
    author = session.get(Actor, status.actor_id)
    if author is None or not status.local or status.deleted_at is not None:
        return
    event.updated_at = utcnow()
    refresh_status(ctx, status, event)
    obj = event_document(session, status, author)
    doc = build.activity("Update", f"{status.uri}/updates/{new_id()}", author.uri, obj,
                         to=obj["to"], cc=obj["cc"])
    doc["@context"] = EVENT_CONTEXT
    publish(session, ctx, author, doc, federate=status.visibility != "hub",
            extra_recipients=participant_uris(session, ctx, status))


def own_event(session: Session, author: Actor, status: Status) -> Event:
    event = session.get(Event, status.id)
    if (event is None or status.actor_id != author.id or not status.local
            or status.deleted_at is not None):
        raise EventError("Seul l'organisateur peut modifier cet événement",
                         "Only the organiser can change this event", 403)
    return event


def edit_event(session: Session, ctx: PublishContext, author: Actor, status: Status,
               values: dict[str, Any]) -> Event:
    event = own_event(session, author, status)
    columns = read_input(values, event)
    if columns.get("capacity") is not None and columns["capacity"] < event.participant_count:
        raise EventError("La capacité ne peut pas être inférieure au nombre de participants",
                         "Capacity cannot be below the number of participants")
    session.add(StatusEdit(id=new_id(), status_id=status.id, content=status.content,
                           spoiler_text=status.spoiler_text, sensitive=status.sensitive))
    for key, value in columns.items():
        setattr(event, key, value)
    status.source = event.source
    status.edited_at = utcnow()
    send_update(session, ctx, status, event)
    return event


def local_participants(session: Session, event_id: int) -> list[int]:
    return list(session.scalars(select(EventParticipant.actor_id).join(
        Actor, Actor.id == EventParticipant.actor_id).where(
        EventParticipant.event_id == event_id, Actor.local,
        EventParticipant.state.in_(("accepted", "pending", "maybe")))))


def cancel_event(session: Session, ctx: PublishContext, author: Actor, status: Status) -> Event:
    """``ical:status`` CANCELLED; participants here are notified, others by their hubs."""
    event = own_event(session, author, status)
    if event.state == "CANCELLED":
        return event
    event.state = "CANCELLED"
    status.edited_at = utcnow()
    for actor_id in local_participants(session, event.status_id):
        notify(session, actor_id, "update", author.id, status.id)
    send_update(session, ctx, status, event)
    return event


def delete_event(session: Session, ctx: PublishContext, author: Actor, status: Status) -> None:
    own_event(session, author, status)
    delete_status(session, ctx, author, status)


def count_accepted(session: Session, event_id: int) -> int:
    return session.scalar(select(func.count()).select_from(EventParticipant).where(
        EventParticipant.event_id == event_id, EventParticipant.state == "accepted")) or 0


def send_reminders(session: Session, now: datetime | None = None,
                   ahead: timedelta = timedelta(days=1), settings: Settings | None = None) -> int:
    """Tell local participants of events starting within ``ahead`` (once per event); with
    ``settings``, those who asked for it get the reminder by mail too.

    Idempotent: ``reminded_at`` is set in the same transaction, and rows are claimed with
    SKIP LOCKED so several workers on PostgreSQL never remind twice.
    """
    now = now or utcnow()
    events = list(session.scalars(
        select(Event).join(Status, Status.id == Event.status_id).where(
            Event.reminded_at.is_(None), Event.state != "CANCELLED",
            Event.starts_at > now, Event.starts_at <= now + ahead,
            Status.deleted_at.is_(None)).with_for_update(skip_locked=True, of=Event).limit(200)))
    sent = 0
    for event in events:
        event.reminded_at = now
        status = session.get(Status, event.status_id)
        if status is None:
            continue
        participants = local_participants(session, event.status_id)
        for actor_id in participants:
            notify(session, actor_id, "status", status.actor_id, status.id)
            sent += 1
        if settings is not None:
            mail_reminders(session, settings, event, status, participants)
    return sent


def ap_object(session: Session, settings: Settings, base: str, status: Status, author: Actor,
              mentions: list[Actor]) -> dict[str, Any]:
    """The ActivityPub document of a local status: an Event, an Article or a Note."""
    if status.type == "Event" and session.get(Event, status.id) is not None:
        return event_document(session, status, author)
    doc = note(status, author, mentions)
    if status.type == "Article":
        summary = session.scalar(select(Article.summary).where(Article.status_id == status.id))
        doc["summary"] = summary or plain_excerpt(status.content)
    return with_question(session, status, doc)


def event_document(session: Session, status: Status, author: Actor) -> dict[str, Any]:
    """A local event as ``Event``, with its RSVP poll's ``oneOf`` counts (its type stays)."""
    event = session.get(Event, status.id)
    assert event is not None
    parts = urlsplit(status.uri)
    description = render_body(event.source or "", f"{parts.scheme}://{parts.netloc}")
    doc = event_object(status, event, author, description,
                       "en" if status.language == "en" else "fr")
    poll = poll_of(session, status.id)
    if poll is not None:
        results = poll_results(session, poll, local=True)
        fields = question_fields(poll.options, results.counts, multiple=False, expires_at=None,
                                 voters_count=results.voters_count, ended=False,
                                 hide_totals=False)
        fields.pop("type", None)
        doc.update(fields)
    return doc
