"""Posts as the member pages show them: the status (or the original of a boost), its author,
counts that never reveal what the viewer may not see, and what the viewer may do with it.

Every list given here comes from ``fedi.services.timelines`` (the visibility filter); this
module only loads what the cards need, in a few batched queries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fedi.convert.ap_to_model import sanitize_html
from fedi.models import Actor, Interaction, Mention, Status
from fedi.services.timelines import count_visible_replies

BOOSTABLE = ("hub", "neighbourhood")


def profile_path(actor: Actor) -> str:
    """The member page of an actor on this hub: ``/@name``, or ``/@name@hub`` for others."""
    return f"/@{actor.username}" if actor.local else f"/@{actor.username}@{actor.domain}"


def handle(actor: Actor) -> str:
    return f"@{actor.username}" if actor.local else f"@{actor.username}@{actor.domain}"


def post_path(author: Actor, status_id: int) -> str:
    return f"{profile_path(author)}/{status_id}"


def safe_html(html: str, links: Sequence[tuple[str, str]] = ()) -> Markup:
    """Stored HTML is already clean (ours rendered, remote sanitized on arrival); cleaned
    again here so a page never depends on how a row was written. ``links``: (their URL,
    our page) pairs, so that a mention opens the profile card here, not on another hub."""
    clean = sanitize_html(html or "")
    for url, path in links:
        clean = clean.replace(f'href="{escape(url, quote=True)}"', f'href="{escape(path)}"')
    return Markup(clean)


def _mention_links(session: Session, ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    out: dict[int, list[tuple[str, str]]] = {}
    for status_id, actor in session.execute(
            select(Mention.status_id, Actor).join(Actor, Actor.id == Mention.actor_id)
            .where(Mention.status_id.in_(ids))).all():
        for url in {actor.url, actor.uri} - {None}:
            out.setdefault(status_id, []).append((str(url), profile_path(actor)))
    return out


@dataclass(frozen=True)
class Post:
    status: Status  # what is shown: the original when ``boosted_by`` is set
    cursor: int  # the id of the row in its list (a boost's own id), for ``max_id`` links
    author: Actor
    boosted_by: Actor | None
    reply_to: Actor | None
    content: Markup
    replies: int
    favourites: int
    boosts: int
    favourited: bool
    boosted: bool
    mine: bool

    @property
    def id(self) -> int:
        return self.status.id

    @property
    def audience(self) -> str:
        return self.status.visibility

    @property
    def can_boost(self) -> bool:
        """A boost never widens an audience: hub and neighbourhood posts only (DESIGN.md)."""
        return self.status.visibility in BOOSTABLE

    @property
    def editable(self) -> bool:
        return self.mine and self.status.local

    @property
    def path(self) -> str:
        return post_path(self.author, self.status.id)

    @property
    def created_at(self) -> datetime:
        return self.status.created_at


def _actors(session: Session, ids: Iterable[int]) -> dict[int, Actor]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    return {a.id: a for a in session.scalars(select(Actor).where(Actor.id.in_(wanted)))}


def build_posts(session: Session, viewer: Actor, linked: frozenset[str],
                rows: Sequence[Status]) -> list[Post]:
    """Cards for ``rows`` (statuses the viewer may see, as the timelines return them)."""
    if not rows:
        return []
    originals = {s.id: s for s in session.scalars(select(Status).where(
        Status.id.in_([r.reblog_of_id for r in rows if r.reblog_of_id])))} if any(
        r.reblog_of_id for r in rows) else {}
    shown = [originals.get(r.reblog_of_id, r) if r.reblog_of_id else r for r in rows]
    ids = [s.id for s in shown]
    parents = dict(session.execute(select(Status.id, Status.actor_id).where(
        Status.id.in_([s.in_reply_to_id for s in shown if s.in_reply_to_id]))).all())
    actors = _actors(session, [r.actor_id for r in rows] + [s.actor_id for s in shown]
                     + list(parents.values()))
    counts = {(sid, kind): n for sid, kind, n in session.execute(
        select(Interaction.status_id, Interaction.kind, func.count())
        .where(Interaction.status_id.in_(ids), Interaction.kind.in_(("like", "announce")))
        .group_by(Interaction.status_id, Interaction.kind)).all()}
    mine = {(sid, kind) for sid, kind in session.execute(
        select(Interaction.status_id, Interaction.kind)
        .where(Interaction.actor_id == viewer.id, Interaction.status_id.in_(ids))).all()}
    replies = count_visible_replies(session, viewer, linked, ids)
    links = _mention_links(session, ids)
    out = []
    for row, status in zip(rows, shown, strict=True):
        author = actors.get(status.actor_id)
        if author is None or status.deleted_at is not None:
            continue
        parent_author = parents.get(status.in_reply_to_id or 0)
        out.append(Post(
            status=status, cursor=row.id, author=author,
            boosted_by=actors.get(row.actor_id) if row.reblog_of_id else None,
            reply_to=actors.get(parent_author) if parent_author else None,
            content=safe_html(status.content, links.get(status.id, ())), replies=replies.get(status.id, 0),
            favourites=counts.get((status.id, "like"), 0),
            boosts=counts.get((status.id, "announce"), 0),
            favourited=(status.id, "like") in mine, boosted=(status.id, "announce") in mine,
            mine=status.actor_id == viewer.id))
    return out
