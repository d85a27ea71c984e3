"""A member's lists of accounts (Mastodon lists): a title and the accounts it shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fedi.db import Base, BigId, UTCDateTime, utcnow


class AccountList(Base):
    __tablename__ = "account_lists"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    owner_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"),
                                          index=True)
    title: Mapped[str] = mapped_column(String(200))
    # followed · list · none: which replies the list timeline shows (Mastodon's values)
    replies_policy: Mapped[str] = mapped_column(String(16), default="list")
    exclusive: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AccountListEntry(Base):
    __tablename__ = "account_list_entries"
    __table_args__ = (UniqueConstraint("list_id", "actor_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    list_id: Mapped[int] = mapped_column(ForeignKey("account_lists.id", ondelete="CASCADE"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"),
                                          index=True)
