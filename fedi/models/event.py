"""Events (Mobilizon-compatible), their participants, blog articles and calendar feed tokens.

An event is a status row of type ``Event`` (timelines, visibility, replies, delivery and
notifications work unchanged) plus one ``events`` row keyed by the status id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fedi.db import Base, BigId, UTCDateTime, utcnow


class Event(Base):
    __tablename__ = "events"

    status_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("statuses.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    title: Mapped[str] = mapped_column(String(512))
    source: Mapped[str | None] = mapped_column(Text)  # Markdown, local events only
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Paris")
    place_name: Mapped[str | None] = mapped_column(String(255))
    street: Mapped[str | None] = mapped_column(String(255))
    postal_code: Mapped[str | None] = mapped_column(String(32))
    locality: Mapped[str | None] = mapped_column(String(255))
    region: Mapped[str | None] = mapped_column(String(255))
    country: Mapped[str | None] = mapped_column(String(255))
    online_url: Mapped[str | None] = mapped_column(String(2048))
    capacity: Mapped[int | None] = mapped_column(Integer)
    join_mode: Mapped[str] = mapped_column(String(16), default="free")  # free · restricted
    # CONFIRMED · TENTATIVE · CANCELLED (ical:status)
    state: Mapped[str] = mapped_column(String(16), default="CONFIRMED")
    comments_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Remote events: the organiser's count; local events count their participant rows.
    participant_count: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class EventParticipant(Base):
    """One actor's RSVP to an event: accepted · pending (organiser to approve) · maybe ·
    rejected. For remote events the row of a local member is ours until their hub answers."""

    __tablename__ = "event_participants"
    __table_args__ = (UniqueConstraint("event_id", "actor_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.status_id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="accepted")
    uri: Mapped[str | None] = mapped_column(String(2048))  # the Join's id
    message: Mapped[str | None] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Article(Base):
    """A blog article: a private draft until published, then an ``Article`` status."""

    __tablename__ = "articles"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="SET NULL"),
                                                  unique=True)
    title: Mapped[str] = mapped_column(String(512))
    source: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(String(1000), default="")
    visibility: Mapped[str] = mapped_column(String(16), default="followers")
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarToken(Base):
    """The secret of a member's iCalendar feed URL (its hash; one per member)."""

    __tablename__ = "calendar_tokens"

    actor_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("actors.id", ondelete="CASCADE"), primary_key=True,
        autoincrement=False)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_event_participants_event_state", EventParticipant.event_id, EventParticipant.state)
