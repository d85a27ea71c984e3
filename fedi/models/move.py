"""Who followed an account that moved here: their follow of the new account is approved
without waiting for the member (FEDERATION.md, "Moving to another hub")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fedi.db import Base, BigId, UTCDateTime, utcnow


class MovedFollower(Base):
    """``follower_uri`` followed ``origin_uri``, which moved to the local ``target_id``."""

    __tablename__ = "moved_followers"
    __table_args__ = (UniqueConstraint("target_id", "follower_uri"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    target_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    origin_uri: Mapped[str] = mapped_column(String(2048))
    follower_uri: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
