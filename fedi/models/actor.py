"""Actors (local members, remote people, hub instance actors) and local login accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from fedi.db import Base, BigId, UTCDateTime, utcnow
from fedi.folding import document, profile_parts, sort_key


class Actor(Base):
    __tablename__ = "actors"
    __table_args__ = (UniqueConstraint("username", "domain"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    uri: Mapped[str] = mapped_column(String(2048), unique=True)
    username: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str] = mapped_column(String(255), index=True)
    local: Mapped[bool] = mapped_column(Boolean, default=False)
    type: Mapped[str] = mapped_column(String(32), default="Person")
    display_name: Mapped[str] = mapped_column(String(255), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(String(2048))
    inbox: Mapped[str | None] = mapped_column(String(2048))
    shared_inbox: Mapped[str | None] = mapped_column(String(2048))
    outbox: Mapped[str | None] = mapped_column(String(2048))
    followers_url: Mapped[str | None] = mapped_column(String(2048))
    following_url: Mapped[str | None] = mapped_column(String(2048))
    key_id: Mapped[str | None] = mapped_column(String(2048), unique=True)
    public_key_pem: Mapped[str | None] = mapped_column(Text)
    private_key_pem: Mapped[str | None] = mapped_column(Text)
    locked: Mapped[bool] = mapped_column(Boolean, default=True)
    discoverable: Mapped[bool] = mapped_column(Boolean, default=True)
    # Mastodon's hide_collections: only the member sees their followers and following lists.
    hide_collections: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    fields: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    trade: Mapped[str | None] = mapped_column(String(128))
    business_name: Mapped[str | None] = mapped_column(String(255))
    postal_code: Mapped[str | None] = mapped_column(String(16))
    website: Mapped[str | None] = mapped_column(String(2048))
    # Deferred: the remote document is kept for audits, and rendering never needs it.
    raw: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Suspended by its hub's console (local), or said so by its hub (``suspended: true``):
    # its posts are hidden from every read path (fedi.services.timelines, visibility).
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Account migration (Mastodon's Move, FEDERATION.md "Moving to another hub"): the
    # actor URIs this account says it also is (``alsoKnownAs``), and where it moved to
    # (``movedTo``). A remote ``movedTo`` is shown only when the target lists this actor.
    also_known_as: Mapped[list[str] | None] = mapped_column(JSON)
    moved_to_uri: Mapped[str | None] = mapped_column(String(2048))
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The directory's search document and order (fedi.folding), kept current on every ORM
    # write (``_fold_profile``); NULL for a row written otherwise (bulk loads): the
    # directory then folds that profile itself (fedi.services.directory). Deferred: only
    # the directory's WHERE reads it.
    directory_text: Mapped[str | None] = mapped_column(Text, deferred=True)
    directory_key: Mapped[str | None] = mapped_column(String(255))

    @property
    def handle(self) -> str:
        return f"{self.username}@{self.domain}"


class User(Base):
    """A local login: password, role and preferences of one local Actor."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    actor_id: Mapped[int] = mapped_column(ForeignKey("actors.id", ondelete="CASCADE"), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="member")
    default_visibility: Mapped[str] = mapped_column(String(16), default="private")
    locale: Mapped[str] = mapped_column(String(8), default="fr")
    sponsor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the member opened the confirmation link mailed to them (fedi.services.mail_links).
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # TOTP second factor (fedi.services.second_factor): the base32 secret, set when the
    # member starts the set-up; the factor is on once ``totp_enabled_at`` is set. The last
    # accepted 30-second step makes every code single-use.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    totp_last_step: Mapped[int | None] = mapped_column(BigId)
    # When the member accepted the privacy policy and rules at sign-up (RGPD consent).
    privacy_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The weekly digest of the hub (fedi.services.digest): opted in, and when the last went.
    digest_opt_in: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    digest_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Event reminders also by email (site settings; fedi.services.reminder_mail).
    remind_by_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class Neighbour(Base):
    """Another hub this one links with (or is asked to link with)."""

    __tablename__ = "neighbours"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=False)
    domain: Mapped[str] = mapped_column(String(255), unique=True)
    # requested (we sent Follow) · pending (they asked, admin must approve) · linked · refused
    state: Mapped[str] = mapped_column(String(16), default="requested")
    outgoing_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    incoming_accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    actor_uri: Mapped[str | None] = mapped_column(String(2048))
    follow_out_uri: Mapped[str | None] = mapped_column(String(2048))
    follow_in_uri: Mapped[str | None] = mapped_column(String(2048))
    territory: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16), default="admin")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_actors_local_username", Actor.local, Actor.username)
Index("ix_actors_directory_key", Actor.local, Actor.directory_key, Actor.id)
Index("ix_actors_search_order", Actor.local.desc(), Actor.username, Actor.id)
Index("ix_actors_directory_unfolded", Actor.id, postgresql_where=Actor.directory_text.is_(None),
      sqlite_where=Actor.directory_text.is_(None))


PROFILE_COLUMNS = ("display_name", "username", "business_name", "summary", "trade",
                   "postal_code", "fields")


def fold_profile(actor: Actor) -> None:
    """Set ``directory_text`` and ``directory_key`` from the actor's profile."""
    actor.directory_text = document(profile_parts(*(getattr(actor, c) for c in PROFILE_COLUMNS)))
    actor.directory_key = sort_key(actor.display_name, actor.username)


@event.listens_for(Actor, "before_insert")
@event.listens_for(Actor, "before_update")
def _fold_profile(mapper: object, connection: object, actor: Actor) -> None:
    fold_profile(actor)
