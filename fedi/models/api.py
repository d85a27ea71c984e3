"""State kept for the Mastodon client API: idempotent posts, read markers, DM threads,
and the account settings apps edit (preferences, profile source)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from fedi.db import Base, BigId, UTCDateTime, utcnow
from fedi.models.status import Status

# Plain 64-bit integers that are not primary keys (cursors, thread roots).
BigValue = BigInteger().with_variant(Integer(), "sqlite")


class IdempotencyKey(Base):
    """``Idempotency-Key`` of ``POST /api/v1/statuses``: the same key within an hour
    returns the first status instead of posting twice."""

    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Marker(Base):
    """Where a member stopped reading a timeline (``home`` or ``notifications``)."""

    __tablename__ = "api_markers"
    __table_args__ = (UniqueConstraint("user_id", "timeline"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    timeline: Mapped[str] = mapped_column(String(32))
    last_read_id: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConversationState(Base):
    """A member's view of one direct-message thread (its root status id):
    read up to which status, hidden before which status."""

    __tablename__ = "api_conversation_states"
    __table_args__ = (UniqueConstraint("owner_id", "root_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    root_id: Mapped[int] = mapped_column(BigValue)
    last_read_id: Mapped[int] = mapped_column(BigValue, default=0)
    hidden_before_id: Mapped[int] = mapped_column(BigValue, default=0)


class UserSettings(Base):
    """Account settings that apps read and write and the models do not hold."""

    __tablename__ = "api_user_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, autoincrement=False)
    note_source: Mapped[str] = mapped_column(Text, default="")
    default_sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    default_language: Mapped[str | None] = mapped_column(String(16))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_statuses_visibility_id", Status.visibility, Status.id)
# Counting an account's statuses from the index alone (profile counts).
Index("ix_statuses_actor_deleted_id", Status.actor_id, Status.deleted_at, Status.id)
