"""What the hub remembers, and for how long (README.md, "Privacy"), removed by the privacy
job (fedi.services.privacy_job): the address and the browser or app of each successful
login, kept 30 days; the cached profiles and posts of a hub whose link ended, kept
``unlinked_cache_days`` (default 30) after the end, unless it is linked or allowed again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, union, update
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import (
    Actor,
    Article,
    Block,
    Follow,
    LoginRecord,
    MediaAttachment,
    Neighbour,
    OutgoingMail,
    Report,
    Status,
    WebSession,
)
from fedi.services.hub_settings import get_setting
from fedi.services.media import file_names
from fedi.services.neighbours import ENDED

LOGIN_RETENTION = timedelta(days=30)
MAX_IP = 64
MAX_USER_AGENT = 255


def record_login(session: Session, user_id: int, *, ip: str, user_agent: str = "",
                 kind: str = "web", now: datetime | None = None) -> None:
    session.add(LoginRecord(id=new_id(), user_id=user_id, kind=kind[:16], ip=ip[:MAX_IP],
                            user_agent=user_agent[:MAX_USER_AGENT],
                            created_at=now or utcnow()))


def prune_logins(session: Session, now: datetime) -> int:
    """Remove login records older than 30 days, forget the browser of web sessions opened
    more than 30 days ago, drop expired sessions, and remove mails sent more than 30 days
    ago (a sign-in notice names an address and a browser). Returns the login records
    removed."""
    cutoff = now - LOGIN_RETENTION
    removed = session.execute(delete(LoginRecord).where(LoginRecord.created_at < cutoff))
    session.execute(delete(OutgoingMail).where(OutgoingMail.status == "sent",
                                               OutgoingMail.sent_at < cutoff))
    session.execute(update(WebSession).where(WebSession.created_at < cutoff,
                                             WebSession.user_agent != "")
                    .values(user_agent=""))
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return int(removed.rowcount or 0)  # type: ignore[attr-defined]


def stale_domains(session: Session, now: datetime, keep: Callable[[str], bool]) -> list[str]:
    """Hubs whose link ended more than ``unlinked_cache_days`` ago and that are neither
    linked, asked, nor allowed again (``keep``: the peers' ``is_allowed``)."""
    cutoff = now - timedelta(days=int(get_setting(session, "unlinked_cache_days")))
    ended = session.scalars(select(Neighbour.domain).where(
        Neighbour.state.in_(ENDED), Neighbour.updated_at <= cutoff))
    return [domain for domain in ended if not keep(domain)]


def prune_unlinked(session: Session, now: datetime, keep: Callable[[str], bool],
                   delete_file: Callable[[str], None]) -> int:
    """Drop what we cached from stale hubs (``stale_domains``): their members' posts (with
    their timeline entries, notifications and media, by ON DELETE CASCADE or here), articles,
    and the profiles no local member follows, is followed by, blocks or reported. Returns
    the posts removed."""
    removed = 0
    for domain in stale_domains(session, now, keep):
        authors = select(Actor.id).where(Actor.domain == domain, Actor.local.is_(False))
        statuses = select(Status.id).where(Status.actor_id.in_(authors))
        for media in session.scalars(select(MediaAttachment).where(
                MediaAttachment.status_id.in_(statuses))):
            for name in file_names(media):
                delete_file(name)
            session.delete(media)
        session.flush()
        session.execute(delete(Article).where(Article.actor_id.in_(authors))
                        .execution_options(synchronize_session=False))
        done = session.execute(delete(Status).where(Status.actor_id.in_(authors))
                               .execution_options(synchronize_session=False))
        removed += int(done.rowcount or 0)  # type: ignore[attr-defined]
        local = select(Actor.id).where(Actor.local.is_(True))
        # Kept: profiles a local member follows or is followed by; also those a member
        # blocks or mutes (or who block one), so a later link does not undo a block, and
        # those reported to the admins, so a report keeps its target.
        tied = union(
            select(Follow.follower_id).where(Follow.followee_id.in_(local)),
            select(Follow.followee_id).where(Follow.follower_id.in_(local)),
            select(Block.target_id).where(Block.actor_id.in_(local)),
            select(Block.actor_id).where(Block.target_id.in_(local)),
            select(Report.target_actor_id).where(Report.target_actor_id.is_not(None)))
        gone = select(Actor.id).where(Actor.domain == domain, Actor.local.is_(False),
                                      Actor.id.not_in(tied))
        for media in session.scalars(select(MediaAttachment).where(
                MediaAttachment.actor_id.in_(gone))):
            for name in file_names(media):
                delete_file(name)
            session.delete(media)
        session.flush()
        session.execute(delete(Actor).where(Actor.id.in_(gone))
                        .execution_options(synchronize_session=False))
    return removed
