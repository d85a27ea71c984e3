"""Polls (Mastodon polls, ActivityPub ``Question``) and the votes cast in them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fedi.db import Base, BigId, UTCDateTime, utcnow


class Poll(Base):
    """The poll attached to one status (local or remote)."""

    __tablename__ = "polls"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"),
                                           unique=True)
    # poll (a member's poll) · rsvp (an event's « J'y vais / Peut-être / Je ne viens pas »)
    kind: Mapped[str | None] = mapped_column(String(16), default="poll")
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    multiple: Mapped[bool] = mapped_column(Boolean, default=False)
    hide_totals: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Counts per option and voters: for a remote poll, as its hub last published them;
    # for a local poll, refreshed from poll_votes after each vote (poll_votes is the truth).
    cached_counts: Mapped[list[int]] = mapped_column(JSON, default=list)
    voters_count: Mapped[int | None] = mapped_column(Integer)
    # When the end was handled (notifications sent, final results published).
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PollVote(Base):
    """One chosen option. ``slot`` is 0 for a single-choice poll and the choice for a
    multiple-choice one, so the unique key refuses a second vote (replays, races) in both."""

    __tablename__ = "poll_votes"
    __table_args__ = (UniqueConstraint("poll_id", "actor_id", "slot"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    poll_id: Mapped[int] = mapped_column(ForeignKey("polls.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    choice: Mapped[int] = mapped_column(Integer)
    slot: Mapped[int] = mapped_column(Integer)
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_polls_open_expires_at", Poll.ended_at, Poll.expires_at)
