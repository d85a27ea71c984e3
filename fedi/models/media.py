"""Media: uploaded images (attachments, avatars, headers) and remote media cached by the hub."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fedi.db import Base, BigId, UTCDateTime, utcnow


class MediaAttachment(Base):
    """One image. ``key`` is a random 32-byte capability: it names the stored files and is
    the secret part of the URL; nothing from the uploader ever names a file."""

    __tablename__ = "media_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), index=True)
    status_id: Mapped[int | None] = mapped_column(
        ForeignKey("statuses.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default="attachment")  # avatar · header
    position: Mapped[int] = mapped_column(Integer, default=0)
    content_type: Mapped[str | None] = mapped_column(String(64))  # of the stored copies
    extension: Mapped[str | None] = mapped_column(String(8))
    description: Mapped[str | None] = mapped_column(Text)
    focus_x: Mapped[float] = mapped_column(Float, default=0.0)
    focus_y: Mapped[float] = mapped_column(Float, default=0.0)
    blurhash: Mapped[str | None] = mapped_column(String(128))
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Remote media: where it lives; stored here once fetched (fetched_at), dropped on expiry.
    remote_url: Mapped[str | None] = mapped_column(String(2048))
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stored_bytes: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
