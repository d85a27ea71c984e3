"""The weekly digest of the hub, a periodic job of the worker (``serve`` or ``worker``).

Members who ticked « Recevoir le résumé hebdomadaire du hub » in their settings get, at most
once a week, a short mail: the members who joined this week, the events of the next seven
days and the most recent posts and articles of the week, each one only if that member may
see it (fedi.services.visibility, the rule every read path uses). A week with nothing to say
sends nothing. ``users.digest_sent_at`` records the pass, in the same transaction as the
queued mail: a restart, or several workers (rows claimed with SKIP LOCKED), never send twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from fedi.config import Settings
from fedi.convert.articles import plain_excerpt
from fedi.db import transaction, utcnow
from fedi.mail.messages import compose
from fedi.mail.queue import enqueue
from fedi.models import Actor, Block, Event, Status, User
from fedi.services.periodic import run_periodically
from fedi.services.visibility import can_see

log = logging.getLogger("voisins.digest")

WEEK = timedelta(days=7)
BATCH = 50
MAX_ITEMS = 10
SCAN = 300  # recent candidates looked at per section, before the visibility rule


@dataclass(frozen=True)
class Item:
    title: str
    url: str
    when: str = ""


def _link(status: Status) -> str:
    return status.url or status.uri


def _when(moment: datetime, zone: str) -> str:
    try:
        local = moment.astimezone(ZoneInfo(zone or "Europe/Paris"))
    except (ZoneInfoNotFoundError, ValueError):
        local = moment
    return local.strftime("%d/%m/%Y %H:%M")


def _handle(actor: Actor) -> str:
    return f"@{actor.username}" if actor.local else f"@{actor.username}@{actor.domain}"


def _blocked(session: Session, viewer_id: int) -> set[int]:
    return set(session.scalars(select(Block.target_id).where(Block.actor_id == viewer_id)))


def new_members(session: Session, viewer: Actor, since: datetime) -> list[Item]:
    rows = session.execute(
        select(Actor).join(User, User.actor_id == Actor.id).where(
            User.created_at >= since, User.disabled.is_(False), Actor.local,
            Actor.id != viewer.id, Actor.suspended_at.is_(None), Actor.deleted_at.is_(None))
        .order_by(User.created_at).limit(MAX_ITEMS)).scalars()
    return [Item(f"{a.display_name or a.username} ({_handle(a)})", a.url or a.uri)
            for a in rows]


def upcoming_events(session: Session, viewer: Actor, now: datetime,
                    is_linked: Callable[[str], bool]) -> list[Item]:
    blocked = _blocked(session, viewer.id)
    rows = session.execute(
        select(Event, Status).join(Status, Status.id == Event.status_id).where(
            Event.starts_at > now, Event.starts_at <= now + WEEK, Event.state != "CANCELLED",
            Status.deleted_at.is_(None)).order_by(Event.starts_at).limit(SCAN)).all()
    out: list[Item] = []
    for event, status in rows:
        if status.actor_id in blocked or not can_see(session, viewer, status,
                                                     is_linked=is_linked):
            continue
        out.append(Item(event.title, _link(status), _when(event.starts_at, event.timezone)))
        if len(out) == MAX_ITEMS:
            break
    return out


def recent_posts(session: Session, viewer: Actor, since: datetime,
                 is_linked: Callable[[str], bool]) -> list[Item]:
    blocked = _blocked(session, viewer.id)
    rows = session.scalars(
        select(Status).where(
            Status.created_at >= since, Status.deleted_at.is_(None),
            Status.type.in_(("Note", "Article")), Status.reblog_of_id.is_(None),
            Status.in_reply_to_id.is_(None), Status.in_reply_to_uri.is_(None),
            Status.actor_id != viewer.id, Status.visibility != "direct")
        .order_by(Status.created_at.desc()).limit(SCAN))
    out: list[Item] = []
    for status in rows:
        if status.actor_id in blocked or not can_see(session, viewer, status,
                                                     is_linked=is_linked):
            continue
        author = session.get(Actor, status.actor_id)
        if author is None:
            continue
        # A content warning stands in for the text, as in every timeline.
        text = status.spoiler_text or status.title or plain_excerpt(status.content, 140)
        out.append(Item(f"{_handle(author)} : {text}" if text else _handle(author),
                        _link(status)))
        if len(out) == MAX_ITEMS:
            break
    return out


def _due(session: Session, now: datetime) -> list[User]:
    return list(session.scalars(
        select(User).join(Actor, Actor.id == User.actor_id).where(
            User.digest_opt_in.is_(True), User.disabled.is_(False),
            Actor.suspended_at.is_(None), Actor.deleted_at.is_(None),
            or_(User.digest_sent_at.is_(None), User.digest_sent_at <= now - WEEK))
        .order_by(User.id).limit(BATCH).with_for_update(skip_locked=True, of=User)))


def send_digests(session: Session, settings: Settings, now: datetime,
                 is_linked: Callable[[str], bool]) -> tuple[int, int]:
    """One batch of due members: queue their digest (if there is anything to say) and
    record the pass. Returns (members looked at, mails queued)."""
    users = _due(session, now)
    sent = 0
    for user in users:
        user.digest_sent_at = now
        viewer = session.get(Actor, user.actor_id)
        if viewer is None:
            continue
        since = now - WEEK
        context: dict[str, Any] = {
            "members": new_members(session, viewer, since),
            "events": upcoming_events(session, viewer, now, is_linked),
            "posts": recent_posts(session, viewer, since, is_linked),
        }
        if not any(context.values()):
            continue
        lang = "en" if user.locale == "en" else "fr"
        message = compose("digest", lang, {
            **context, "hub": settings.name, "username": viewer.username,
            "home": settings.base_url, "settings": f"{settings.base_url}/settings"})
        enqueue(session, "digest", user.email, lang, message, now=now)
        sent += 1
    return len(users), sent


class Digests:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings,
                 is_linked: Callable[[str], bool], *, interval: float = 3600.0,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.settings = settings
        self.is_linked = is_linked
        self.interval = interval
        self.clock = clock

    def run_once(self) -> int:
        """Every due member, batch after batch; returns the mails queued."""
        total = 0
        while True:
            with transaction(self.sessions) as session:
                looked, sent = send_digests(session, self.settings, self.clock(),
                                            self.is_linked)
            total += sent
            if looked < BATCH:
                return total

    async def run_forever(self, stop: asyncio.Event) -> None:
        async def run_pass() -> int:
            sent = await asyncio.to_thread(self.run_once)
            if sent:
                log.info("%d weekly digests queued", sent)
            return 0  # a pass serves everyone due: wait the interval after every pass

        await run_periodically(run_pass, stop, self.interval, log, "weekly digest")
