"""Who may see a status: the one rule every read path (API, ActivityPub GET, timelines) uses.

The receiving hub decides from its own follow table and member list, never from ``to``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from fedi.models import Actor, Follow, Mention, Status

ORDER = {"direct": 0, "followers": 1, "hub": 2, "neighbourhood": 3}


def narrowest(a: str, b: str) -> str:
    """A reply is never visible wider than its parent."""
    return a if ORDER[a] <= ORDER[b] else b


def is_follower(session: Session, follower_id: int, followee_id: int) -> bool:
    return bool(session.scalar(select(exists().where(
        Follow.follower_id == follower_id, Follow.followee_id == followee_id,
        Follow.state == "accepted"))))


def is_mentioned(session: Session, status_id: int, actor_id: int) -> bool:
    return bool(session.scalar(select(exists().where(
        Mention.status_id == status_id, Mention.actor_id == actor_id))))


def can_see(session: Session, viewer: Actor | None, status: Status, *,
            is_linked: Callable[[str], bool]) -> bool:
    """True when ``viewer`` (a local member, a remote actor, or None) may see ``status``."""
    if status.deleted_at is not None or viewer is None:
        return False
    if viewer.id == status.actor_id:
        return True
    if status.reblog_of_id is not None:
        original = session.get(Status, status.reblog_of_id)
        if original is None or not can_see(session, viewer, original, is_linked=is_linked):
            return False
    person = viewer.type != "Application"
    vis = status.visibility
    author = session.get(Actor, status.actor_id)
    if author is None or author.suspended_at is not None:
        return False
    if vis == "direct":
        return person and is_mentioned(session, status.id, viewer.id)
    if vis == "followers":
        return person and (is_follower(session, viewer.id, status.actor_id)
                           or is_mentioned(session, status.id, viewer.id))
    if vis == "hub":
        return viewer.local and author.local and person
    if vis == "neighbourhood":
        if viewer.local:
            return author.local or is_linked(author.domain)
        return author.local and is_linked(viewer.domain)
    return False


def who_may_see(session: Session, status: Status, actors: Iterable[Actor], *,
                is_linked: Callable[[str], bool]) -> list[Actor]:
    """Those of ``actors`` who may see ``status`` now. The people an Update goes to beyond
    its addressing (an event's participants, a poll's voters) are checked again here: a
    follow may have ended since they answered."""
    return [a for a in actors if can_see(session, a, status, is_linked=is_linked)]
