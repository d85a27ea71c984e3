"""Co-optation: members' invite links, and the invite tree (who invited whom).

The tree lives in ``sponsorships`` rows that hold ids and usernames without foreign keys, so
it still answers "who invited her" and "whom did he invite" after a member has left.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, Application, Invite, Sponsorship, User

DEFAULT_USES = 1
MAX_USES = 100
DEFAULT_LIFETIME = timedelta(days=14)
MAX_LIFETIME = timedelta(days=365)
MAX_NOTE = 500


class InviteError(ValueError):
    """An invite that cannot be used or created; ``code`` names why, messages in FR and EN."""

    def __init__(self, code: str, message: str, message_fr: str) -> None:
        super().__init__(message)
        self.code = code
        self.message_fr = message_fr

    def message(self, lang: str) -> str:
        return str(self) if lang == "en" else self.message_fr


MISSING = InviteError(
    "missing", "An invite code is needed to join this hub: ask a member for an invite link.",
    "Il faut une invitation pour rejoindre ce hub : demandez un lien d'invitation à un membre.")


def new_code() -> str:
    return secrets.token_urlsafe(12)


def create_invite(session: Session, inviter: User | None, *, max_uses: int | None = DEFAULT_USES,
                  lifetime: timedelta | None = DEFAULT_LIFETIME, note: str = "",
                  now: datetime | None = None) -> Invite:
    """A new invite link of ``inviter`` (None: made by an admin on the command line)."""
    now = now or utcnow()
    if inviter is not None and inviter.disabled:
        raise InviteError("disabled", "a disabled account cannot invite anyone",
                          "un compte désactivé ne peut pas inviter")
    if max_uses is not None and not 1 <= max_uses <= MAX_USES:
        raise InviteError("uses", f"uses must be between 1 and {MAX_USES}",
                          f"le nombre d'utilisations va de 1 à {MAX_USES}")
    if lifetime is not None and not timedelta(minutes=5) <= lifetime <= MAX_LIFETIME:
        raise InviteError("expiry", "an invite lasts from 5 minutes to a year",
                          "une invitation dure de 5 minutes à un an")
    if len(note) > MAX_NOTE:
        raise InviteError("note", f"the note is over {MAX_NOTE} characters",
                          f"la note dépasse {MAX_NOTE} caractères")
    username = None
    if inviter is not None:
        username = session.scalar(select(Actor.username).where(Actor.id == inviter.actor_id))
    invite = Invite(id=new_id(), code=new_code(), inviter_user_id=inviter.id if inviter else None,
                    inviter_username=username, max_uses=max_uses, uses=0,
                    expires_at=now + lifetime if lifetime else None, note=note.strip(),
                    created_at=now)
    session.add(invite)
    session.flush()
    return invite


def usable_invite(session: Session, code: str | None, *, now: datetime | None = None) -> Invite:
    """The invite named by ``code`` if it can still be used, else InviteError saying why."""
    now = now or utcnow()
    code = (code or "").strip()
    if not code:
        raise MISSING
    invite = None
    if len(code) <= 64:
        invite = session.scalar(select(Invite).where(Invite.code == code))
    if invite is None:
        raise InviteError("unknown", "This invite link is not valid: check it, or ask for a new one.",
                          "Ce lien d'invitation n'est pas valide : vérifiez-le ou demandez-en un autre.")
    if invite.revoked_at is not None:
        raise InviteError("revoked", "This invite link was withdrawn: ask for a new one.",
                          "Ce lien d'invitation a été retiré : demandez-en un autre.")
    if invite.expires_at is not None and invite.expires_at <= now:
        raise InviteError("expired", "This invite link has expired: ask your sponsor for a new one.",
                          "Ce lien d'invitation a expiré : demandez-en un nouveau à votre parrain ou marraine.")
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        raise InviteError("used_up", "This invite link has already been used: ask for a new one.",
                          "Ce lien d'invitation a déjà servi : demandez-en un autre.")
    if invite.inviter_user_id is not None:
        inviter = session.get(User, invite.inviter_user_id)
        if inviter is None or inviter.disabled:
            raise InviteError("sponsor_gone", "The member who sent this invite has left the hub.",
                              "Le membre qui a envoyé cette invitation a quitté le hub.")
    return invite


def consume(session: Session, invite: Invite) -> None:
    """Count one use, atomically: two sign-ups racing for the last use cannot both get it."""
    result = session.execute(
        update(Invite).where(Invite.id == invite.id,
                             or_(Invite.max_uses.is_(None), Invite.uses < Invite.max_uses))
        .values(uses=Invite.uses + 1).execution_options(synchronize_session=False))
    if not result.rowcount:
        raise InviteError("used_up", "This invite link has already been used: ask for a new one.",
                          "Ce lien d'invitation a déjà servi : demandez-en un autre.")
    session.refresh(invite)


def revoke(session: Session, code: str, *, now: datetime | None = None) -> Invite:
    invite = session.scalar(select(Invite).where(Invite.code == code))
    if invite is None:
        raise InviteError("unknown", f"there is no invite {code!r}", f"il n'y a pas d'invitation {code!r}")
    if invite.revoked_at is None:
        invite.revoked_at = now or utcnow()
    return invite


def list_invites(session: Session, inviter_user_id: int | None = None) -> list[Invite]:
    query = select(Invite).order_by(Invite.created_at.desc())
    if inviter_user_id is not None:
        query = query.where(Invite.inviter_user_id == inviter_user_id)
    return list(session.scalars(query))


def invite_state(invite: Invite, now: datetime | None = None) -> str:
    now = now or utcnow()
    if invite.revoked_at is not None:
        return "revoked"
    if invite.expires_at is not None and invite.expires_at <= now:
        return "expired"
    if invite.max_uses is not None and invite.uses >= invite.max_uses:
        return "used"
    return "open"


def applications_of_sponsor(session: Session, sponsor_user_id: int) -> list[Application]:
    """What a sponsor sees of the people they invited who are still waiting (or were refused)."""
    return list(session.scalars(select(Application).where(
        Application.sponsor_user_id == sponsor_user_id).order_by(Application.created_at.desc())))


# --- the invite tree ----------------------------------------------------------------------


def record_sponsorship(session: Session, member: User, member_username: str, *,
                       sponsor_user_id: int | None, invite_id: int | None,
                       relation: str | None) -> Sponsorship:
    """Write down a new member's admission (and ``User.sponsor_id``)."""
    sponsor_username = None
    if sponsor_user_id is not None:
        sponsor_username = session.scalar(select(Actor.username).join(
            User, User.actor_id == Actor.id).where(User.id == sponsor_user_id))
    row = Sponsorship(id=new_id(), member_user_id=member.id, member_username=member_username,
                      sponsor_user_id=sponsor_user_id, sponsor_username=sponsor_username,
                      invite_id=invite_id, relation=relation)
    session.add(row)
    member.sponsor_id = sponsor_user_id
    return row


@dataclass(frozen=True)
class TreeEntry:
    depth: int
    user_id: int
    username: str
    sponsor_username: str | None


def sponsor_chain(session: Session, user_id: int, *, limit: int = 100) -> list[TreeEntry]:
    """Who invited this member, who invited them, … up to the founders."""
    out: list[TreeEntry] = []
    seen = {user_id}
    current: int | None = user_id
    while current is not None and len(out) < limit:
        row = session.scalar(select(Sponsorship).where(Sponsorship.member_user_id == current))
        if row is None or row.sponsor_user_id is None or row.sponsor_user_id in seen:
            break
        seen.add(row.sponsor_user_id)
        out.append(TreeEntry(len(out) + 1, row.sponsor_user_id, row.sponsor_username or "?",
                             None))
        current = row.sponsor_user_id
    return out


def invited_by(session: Session, user_id: int, *, transitive: bool = True,
               limit: int = 10_000) -> list[TreeEntry]:
    """Whom this member invited (and, transitively, whom they invited), breadth first."""
    out: list[TreeEntry] = []
    frontier = [user_id]
    seen = {user_id}
    depth = 0
    while frontier and len(out) < limit:
        depth += 1
        rows = list(session.scalars(select(Sponsorship).where(
            Sponsorship.sponsor_user_id.in_(frontier)).order_by(Sponsorship.created_at)))
        frontier = []
        for row in rows:
            if row.member_user_id in seen:
                continue
            seen.add(row.member_user_id)
            out.append(TreeEntry(depth, row.member_user_id, row.member_username,
                                 row.sponsor_username))
            frontier.append(row.member_user_id)
        if not transitive:
            break
    return out


def user_by_username(session: Session, username: str) -> User | None:
    return session.scalar(select(User).join(Actor, Actor.id == User.actor_id).where(
        Actor.local, Actor.username == username.strip().lower().lstrip("@")))
