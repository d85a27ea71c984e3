"""What the console and ``voisins users`` do to a member: suspend, reinstate, change role.

Suspension follows Mastodon: the login stops working (``User.disabled``: no web session,
no token, no password grant), every web session ends, the member's posts are hidden from
every read path (``Actor.suspended_at``, checked by fedi.services.timelines and
fedi.services.visibility), and the member's followers and the linked hubs receive an
``Update`` of the actor carrying ``suspended: true`` (``toot:suspended``); reinstating sends
the actor again without it. Nothing is deleted: a reinstated member finds everything back.
Every change is written to the audit log by the caller's ``by`` (fedi.services.audit).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.models import Actor, User, WebSession
from fedi.services import audit
from fedi.services.accounts_profile import announce_profile
from outbox.context import PublishContext

ROLES = ("admin", "moderator", "member")
STATUSES = ("active", "suspended")
MAX_QUERY = 100


@dataclass(frozen=True)
class MemberFilter:
    q: str = ""
    role: str = ""
    status: str = ""
    trade: str = ""
    postal_code: str = ""


def search_members(session: Session, wanted: MemberFilter, *, limit: int = 200
                   ) -> list[tuple[User, Actor]]:
    """Local members matching every filter given (the text in username, name or email)."""
    query = (select(User, Actor).join(Actor, Actor.id == User.actor_id)
             .where(Actor.local, Actor.deleted_at.is_(None)).order_by(Actor.username)
             .limit(limit))
    text = wanted.q.strip().lstrip("@").lower()[:MAX_QUERY]
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Actor.username.like(like, escape="\\"),
                                func.lower(Actor.display_name).like(like, escape="\\"),
                                func.lower(User.email).like(like, escape="\\")))
    if wanted.role in ROLES:
        query = query.where(User.role == wanted.role)
    if wanted.status == "active":
        query = query.where(User.disabled.is_(False))
    elif wanted.status == "suspended":
        query = query.where(User.disabled.is_(True))
    if wanted.trade:
        query = query.where(Actor.trade == wanted.trade[:128])
    if wanted.postal_code.strip():
        query = query.where(Actor.postal_code.startswith(wanted.postal_code.strip()[:16],
                                                         autoescape=True))
    return [(row[0], row[1]) for row in session.execute(query)]


@dataclass(frozen=True)
class By:
    """Who acts, for the audit log: a member's username and role, or the command line."""

    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role in ("admin", audit.SCRIPT_ROLE)


class MembershipError(ValueError):
    """A refused change: ``code`` names it, ``en``/``fr`` say it."""

    def __init__(self, code: str, en: str, fr: str) -> None:
        super().__init__(en)
        self.code, self.en, self.fr = code, en, fr

    def message(self, lang: str) -> str:
        return self.fr if lang == "fr" else self.en


def find_member(session: Session, username: str) -> tuple[User, Actor]:
    name = username.strip().lstrip("@").lower()
    row = session.execute(select(User, Actor).join(Actor, Actor.id == User.actor_id).where(
        Actor.local, Actor.username == name, Actor.deleted_at.is_(None))).first()
    if row is None:
        raise MembershipError("unknown", f"there is no member @{name}",
                              f"aucun membre ne s'appelle @{name}")
    return row[0], row[1]


def _not_self(by: By, actor: Actor) -> None:
    if by.username == actor.username:
        raise MembershipError("self", "you cannot do that to your own account",
                              "vous ne pouvez pas faire cela à votre propre compte")


def suspend(session: Session, ctx: PublishContext, by: By, username: str,
            reason: str = "") -> Actor:
    user, actor = find_member(session, username)
    _not_self(by, actor)
    if user.role == "admin" and not by.is_admin:
        raise MembershipError("admin", "only an admin may suspend an admin",
                              "seul un administrateur peut suspendre un administrateur")
    if actor.suspended_at is not None:
        raise MembershipError("already", f"@{actor.username} is already suspended",
                              f"@{actor.username} est déjà suspendu·e")
    user.disabled = True
    actor.suspended_at = utcnow()
    session.execute(delete(WebSession).where(WebSession.user_id == user.id))
    announce_profile(session, ctx, actor)
    audit.record(session, by.username, by.role, "member.suspend", f"@{actor.username}",
                 {"reason": reason[:2000]})
    return actor


def reinstate(session: Session, ctx: PublishContext, by: By, username: str) -> Actor:
    user, actor = find_member(session, username)
    if actor.suspended_at is None and not user.disabled:
        raise MembershipError("not_suspended", f"@{actor.username} is not suspended",
                              f"@{actor.username} n'est pas suspendu·e")
    user.disabled = False
    actor.suspended_at = None
    announce_profile(session, ctx, actor)
    audit.record(session, by.username, by.role, "member.reinstate", f"@{actor.username}")
    return actor


def set_role(session: Session, by: By, username: str, role: str) -> User:
    """Only admins change roles (the console and the CLI check ``by.role``)."""
    if not by.is_admin:
        raise MembershipError("forbidden", "only an admin may change roles",
                              "seul un administrateur peut changer les rôles")
    if role not in ROLES:
        raise MembershipError("role", "the role must be admin, moderator or member",
                              "le rôle doit être admin, moderator ou member")
    user, actor = find_member(session, username)
    if by.username == actor.username and role != "admin":
        raise MembershipError("self", "you cannot take away your own admin role",
                              "vous ne pouvez pas retirer votre propre rôle d'administrateur")
    before = user.role
    if before == role:
        return user
    user.role = role
    audit.record(session, by.username, by.role, "member.role", f"@{actor.username}",
                 {"from": before, "to": role})
    return user


@dataclass(frozen=True)
class SponsorHistory:
    """What an application's sponsor brought in so far."""

    username: str
    member_since: object
    role: str
    suspended: bool
    invited: int
    invited_suspended: int
    refused: int


def sponsor_history(session: Session, sponsor_user_id: int | None) -> SponsorHistory | None:
    from fedi.models import Application, Sponsorship

    if sponsor_user_id is None:
        return None
    row = session.execute(select(User, Actor).join(Actor, Actor.id == User.actor_id)
                          .where(User.id == sponsor_user_id)).first()
    if row is None:
        return None
    user, actor = row[0], row[1]
    invited_ids = list(session.scalars(select(Sponsorship.member_user_id).where(
        Sponsorship.sponsor_user_id == user.id)))
    suspended = 0
    if invited_ids:
        suspended = int(session.scalar(select(func.count()).select_from(User).where(
            User.id.in_(invited_ids), User.disabled.is_(True))) or 0)
    refused = int(session.scalar(select(func.count()).select_from(Application).where(
        Application.sponsor_user_id == user.id, Application.state == "refused")) or 0)
    return SponsorHistory(actor.username, user.created_at, user.role, user.disabled,
                          len(invited_ids), suspended, refused)
