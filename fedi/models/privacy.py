"""Account deletions waiting for (or past) their erasure, and the login records kept 30 days."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fedi.db import Base, BigId, UTCDateTime, utcnow


class AccountDeletion(Base):
    """A member who deleted their account (or was deleted by an admin). The account is
    suspended and its ``Delete`` sent at ``requested_at``; its personal data is erased once
    ``erase_after`` has passed (``erased_at``). The row itself is kept: it is what reserves
    the username (fedi.services.erasure)."""

    __tablename__ = "account_deletions"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, autoincrement=False)
    username: Mapped[str] = mapped_column(String(255), unique=True)
    requested_by: Mapped[str] = mapped_column(String(255), default="")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    erase_after: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginRecord(Base):
    """One successful login (web session or app token): when, from which address, with
    which browser or app. Removed after 30 days (fedi.services.retention)."""

    __tablename__ = "login_records"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="web")  # web · app
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
