"""Outgoing mail, queued in the database (fedi.mail), and the single-use links mailed to
members (password reset, email confirmation)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fedi.db import Base, BigId, UTCDateTime, utcnow


class OutgoingMail(Base):
    """One message to one address. ``pending`` until sent (``sent``) or given up (``failed``);
    a worker holding it pushes ``next_attempt_at`` forward (a lease) while it sends."""

    __tablename__ = "outgoing_mail"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8), default="fr")
    subject: Mapped[str] = mapped_column(String(255))
    text: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


Index("ix_outgoing_mail_status_next", OutgoingMail.status, OutgoingMail.next_attempt_at)


class MailToken(Base):
    """A link mailed to a member: ``reset`` (password) or ``confirm`` (email address).
    Only the SHA-256 of the token is stored; ``used_at`` makes it single-use."""

    __tablename__ = "mail_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    email: Mapped[str] = mapped_column(String(320), default="")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
