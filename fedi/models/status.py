"""Statuses (Note, Article), mentions, follows, interactions, notifications, timelines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from fedi.db import Base, BigId, UTCDateTime, utcnow


class Status(Base):
    __tablename__ = "statuses"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    # direct · followers · hub · neighbourhood (see DESIGN.md, audiences)
    visibility: Mapped[str] = mapped_column(String(16), default="followers")
    type: Mapped[str] = mapped_column(String(16), default="Note")
    in_reply_to_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuses.id", ondelete="SET NULL"), index=True
    )
    in_reply_to_uri: Mapped[str | None] = mapped_column(String(2048))
    reblog_of_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str | None] = mapped_column(String(512))
    content: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str | None] = mapped_column(Text)
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    language: Mapped[str | None] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(String(2048))
    recipients: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # to/cc as sent
    # Deferred: the remote document is kept for audits, and rendering never needs it.
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class StatusEdit(Base):
    __tablename__ = "status_edits"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    content: Mapped[str] = mapped_column(Text, default="")
    spoiler_text: Mapped[str] = mapped_column(Text, default="")
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mention(Base):
    __tablename__ = "mentions"
    __table_args__ = (UniqueConstraint("status_id", "actor_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)


class Tag(Base):
    __tablename__ = "status_tags"
    __table_args__ = (UniqueConstraint("status_id", "name"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(128), index=True)


class Tombstone(Base):
    """An object deleted (or a Delete received before its Create): its uri stays dead."""

    __tablename__ = "tombstones"

    uri: Mapped[str] = mapped_column(String(2048), primary_key=True)
    actor_uri: Mapped[str | None] = mapped_column(String(2048))
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Follow(Base):
    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("follower_id", "followee_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    follower_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    followee_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    # requested · accepted
    state: Mapped[str] = mapped_column(String(16), default="requested")
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True)
    # The follower asked to be notified of each new post (Mastodon's "notify" option).
    notify: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Interaction(Base):
    """A Like, Announce (boost), Bookmark or Pin of a status by an actor."""

    __tablename__ = "interactions"
    __table_args__ = (UniqueConstraint("actor_id", "status_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))  # like · announce · bookmark · pin
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Block(Base):
    """A block or a mute between two actors."""

    __tablename__ = "blocks"
    __table_args__ = (UniqueConstraint("actor_id", "target_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(8), default="block")  # block · mute
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    uri: Mapped[str | None] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    from_actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    status_id: Mapped[int | None] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TimelineEntry(Base):
    """Fan-out on write: one row per status in a local member's home timeline."""

    __tablename__ = "timeline_entries"
    __table_args__ = (UniqueConstraint("owner_id", "status_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    status_id: Mapped[int] = mapped_column(ForeignKey("statuses.id", ondelete="CASCADE"))


class Report(Base):
    """A Flag received from another hub, or a report by a member, for the admins."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    uri: Mapped[str | None] = mapped_column(String(2048), unique=True)
    reporter_uri: Mapped[str] = mapped_column(String(2048))
    target_actor_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="SET NULL"))
    status_uris: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # spam · violation · legal · other (Mastodon's categories); rule ids of /api/v1/instance.
    category: Mapped[str] = mapped_column(String(16), default="other", server_default="other")
    rule_ids: Mapped[list[str] | None] = mapped_column(JSON)
    # The reporter asked that the report go to the reported member's hub; a moderator
    # decides, and ``forwarded_at`` says when the Flag was sent.
    forward_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The hub whose instance actor sent the Flag (None: filed by a member here).
    origin_domain: Mapped[str | None] = mapped_column(String(255))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(255))
    outcome: Mapped[str | None] = mapped_column(String(32))  # dismissed · warned · removed …


Index("ix_notifications_owner_id", Notification.owner_id, Notification.id)
Index("ix_timeline_owner_id", TimelineEntry.owner_id, TimelineEntry.id)
Index("ix_statuses_actor_id_id", Status.actor_id, Status.id)
Index("ix_status_tags_name_prefix", Tag.name, postgresql_ops={"name": "text_pattern_ops"})
Index("ix_reports_resolved_id", Report.resolved, Report.id)
