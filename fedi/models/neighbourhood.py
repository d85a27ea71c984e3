"""The neighbourhood: hub settings, trade categories, invites, applications, the invite tree,
the trade waiting list, and what linked hubs told us (their links, their listed members)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from fedi.db import Base, BigId, UTCDateTime, utcnow

# Plain 64-bit integers that are not foreign keys (they must outlive the rows they name).
BigValue = BigInteger().with_variant(Integer(), "sqlite")


class HubSetting(Base):
    """One hub setting (registration mode, trade rule, linking policy …) as JSON."""

    __tablename__ = "hub_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TradeCategory(Base):
    """A trade members pick on sign-up; ``slug`` is what ``Actor.trade`` holds and federates."""

    __tablename__ = "trade_categories"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    slug: Mapped[str] = mapped_column(String(128), unique=True)
    label_fr: Mapped[str] = mapped_column(String(255))
    label_en: Mapped[str] = mapped_column(String(255))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # False for catch-all categories ("autre", job seekers) the trade rule never limits.
    exclusive: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Invite(Base):
    """A member's invite link: ``/invite/{code}``, limited in uses and time, revocable."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    inviter_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    inviter_username: Mapped[str | None] = mapped_column(String(255))
    max_uses: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    uses: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Application(Base):
    """A sign-up waiting for an admin (invite + approval mode) or for a trade to free up."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    invite_id: Mapped[int | None] = mapped_column(ForeignKey("invites.id", ondelete="SET NULL"))
    sponsor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    email: Mapped[str] = mapped_column(String(320), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    trade: Mapped[str] = mapped_column(String(128), index=True)
    business_name: Mapped[str] = mapped_column(String(255), default="")
    postal_code: Mapped[str] = mapped_column(String(16))
    relation: Mapped[str] = mapped_column(String(16))  # lives · works · both
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    # pending · waitlisted · approved · refused
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    status_token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the applicant accepted the privacy policy and rules (copied to the user row).
    privacy_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Sponsorship(Base):
    """A member's admission: who invited them, with which invite, and how they declared
    belonging to the territory. No foreign keys on purpose: the tree survives members leaving."""

    __tablename__ = "sponsorships"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    member_user_id: Mapped[int] = mapped_column(BigValue, unique=True)
    member_username: Mapped[str] = mapped_column(String(255))
    sponsor_user_id: Mapped[int | None] = mapped_column(BigValue, index=True)
    sponsor_username: Mapped[str | None] = mapped_column(String(255))
    invite_id: Mapped[int | None] = mapped_column(BigValue)
    relation: Mapped[str | None] = mapped_column(String(16))  # lives · works · both
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TradeWaitlistEntry(Base):
    """A member who asked for a trade that is taken while the trade rule is on."""

    __tablename__ = "trade_waitlist"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    trade: Mapped[str] = mapped_column(String(128), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"))
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NeighbourSync(Base):
    """What a linked hub told us through its ``/actor/links`` and ``/members`` collections."""

    __tablename__ = "neighbour_sync"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    links: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class DirectoryListing(Base):
    """A member of a linked hub that their hub lists in its ``/members`` collection."""

    __tablename__ = "directory_listings"

    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"),
                                          primary_key=True, autoincrement=False)
    domain: Mapped[str] = mapped_column(String(255), index=True)
    listed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
