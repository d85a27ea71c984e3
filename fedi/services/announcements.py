"""Announcements of the hub's staff to its members: written, edited, published or
withdrawn in the console; shown while published and not over (web site banner, Mastodon
``/api/v1/announcements``); each member may dismiss them.

``starts_at`` / ``ends_at`` are the dates the notice is about, as in Mastodon (optional,
both or neither); an announcement is shown from its publication until ``ends_at`` (the end
of that day when ``all_day``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Announcement, AnnouncementDismissal
from fedi.services.posting import render_text

MAX_TEXT = 5000
MAX_SHOWN = 20
# Dates typed in the console are the hub's local time (the hub's events use the same).
LOCAL = ZoneInfo("Europe/Paris")


class AnnouncementError(ValueError):
    """Refused input; ``text(lang)`` is the message for the console (422)."""

    def __init__(self, fr: str, en: str) -> None:
        super().__init__(en)
        self.fr, self.en = fr, en

    def text(self, lang: str | None) -> str:
        return self.en if lang == "en" else self.fr


@dataclass(frozen=True)
class AnnouncementForm:
    text: str
    starts_at: str = ""  # ``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM`` (datetime-local), local time
    ends_at: str = ""
    all_day: bool = False


@dataclass(frozen=True)
class Parsed:
    text: str
    starts_at: datetime | None
    ends_at: datetime | None
    all_day: bool


def _moment(value: str, all_day: bool, fr: str, en: str) -> datetime | None:
    value = value.strip()
    if not value:
        return None
    try:
        if all_day or len(value) <= 10:
            day = date.fromisoformat(value[:10])
            moment = datetime.combine(day, time(0, 0))
        else:
            moment = datetime.fromisoformat(value)
    except ValueError:
        raise AnnouncementError(f"{fr} n'est pas une date (AAAA-MM-JJ ou AAAA-MM-JJTHH:MM)",
                                f"{en} is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)") from None
    if not 2000 <= moment.year <= 2200:
        raise AnnouncementError(f"{fr} doit être entre 2000 et 2200",
                                f"{en} must be between 2000 and 2200")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL)
    return moment.astimezone(UTC)


def parse(form: AnnouncementForm) -> Parsed:
    text = form.text.replace("\r\n", "\n").strip()
    if not text:
        raise AnnouncementError("Le texte de l'annonce est vide.",
                                "The announcement has no text.")
    if len(text) > MAX_TEXT:
        raise AnnouncementError(f"Le texte est trop long ({MAX_TEXT} caractères au plus).",
                                f"The text is too long ({MAX_TEXT} characters at most).")
    starts = _moment(form.starts_at, form.all_day, "Le début", "The start")
    ends = _moment(form.ends_at, form.all_day, "La fin", "The end")
    if starts is not None and ends is not None and ends < starts:
        raise AnnouncementError("La fin doit venir après le début.",
                                "The end must come after the start.")
    # Mastodon: all_day is false when there are no dates.
    return Parsed(text, starts, ends, form.all_day and (starts is not None or ends is not None))


def create(session: Session, form: AnnouncementForm, author: str) -> Announcement:
    parsed = parse(form)
    now = utcnow()
    row = Announcement(id=new_id(), text=parsed.text, content_html=render_text(parsed.text, []),
                       starts_at=parsed.starts_at, ends_at=parsed.ends_at,
                       all_day=parsed.all_day, published_at=None, author_username=author,
                       created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    return row


def update(session: Session, row: Announcement, form: AnnouncementForm) -> Announcement:
    parsed = parse(form)
    row.text, row.content_html = parsed.text, render_text(parsed.text, [])
    row.starts_at, row.ends_at, row.all_day = parsed.starts_at, parsed.ends_at, parsed.all_day
    row.updated_at = utcnow()
    session.flush()
    return row


def publish(session: Session, row: Announcement) -> None:
    if row.published_at is None:
        row.published_at = row.updated_at = utcnow()
        session.flush()


def unpublish(session: Session, row: Announcement) -> None:
    if row.published_at is not None:
        row.published_at = None
        row.updated_at = utcnow()
        session.flush()


def remove(session: Session, row: Announcement) -> None:
    session.execute(delete(AnnouncementDismissal).where(
        AnnouncementDismissal.announcement_id == row.id))
    session.delete(row)
    session.flush()


def shown_until(row: Announcement) -> datetime | None:
    """When it stops being shown (None: until withdrawn)."""
    if row.ends_at is None:
        return None
    if row.all_day:
        local_day = row.ends_at.astimezone(LOCAL).date() + timedelta(days=1)
        return datetime.combine(local_day, time(0, 0), tzinfo=LOCAL).astimezone(UTC)
    return row.ends_at


def is_active(row: Announcement, now: datetime) -> bool:
    until = shown_until(row)
    return row.published_at is not None and (until is None or until > now)


def list_all(session: Session) -> list[Announcement]:
    """For the console: every announcement, newest first."""
    return list(session.scalars(select(Announcement).order_by(Announcement.id.desc())))


def active(session: Session, now: datetime) -> list[Announcement]:
    """Published and not over, oldest publication first (Mastodon's order)."""
    rows = session.scalars(
        select(Announcement).where(Announcement.published_at.is_not(None),
                                   or_(Announcement.ends_at.is_(None),
                                       Announcement.ends_at > now - timedelta(days=2)))
        .order_by(Announcement.published_at, Announcement.id).limit(MAX_SHOWN * 5))
    return [row for row in rows if is_active(row, now)][:MAX_SHOWN]


def find_active(session: Session, announcement_id: int, now: datetime) -> Announcement | None:
    row = session.get(Announcement, announcement_id)
    return row if row is not None and is_active(row, now) else None


def dismissed_ids(session: Session, user_id: int, ids: list[int]) -> set[int]:
    if not ids:
        return set()
    return set(session.scalars(select(AnnouncementDismissal.announcement_id).where(
        AnnouncementDismissal.user_id == user_id,
        AnnouncementDismissal.announcement_id.in_(ids))))


def dismiss(session: Session, user_id: int, row: Announcement) -> None:
    """Mark read for this member (again, or twice at once: nothing changes)."""
    if session.get(AnnouncementDismissal, (row.id, user_id)) is not None:
        return
    try:
        with session.begin_nested():
            session.add(AnnouncementDismissal(announcement_id=row.id, user_id=user_id,
                                              created_at=utcnow()))
    except IntegrityError:
        pass  # dismissed by a parallel request
