"""What a page of statuses needs beside its rows, read in ONE statement.

Mentions, tags, interaction counts (and the viewer's own), the authors of the statuses
replied to, the replies (to count the visible ones), and which statuses have a poll or
media: seven small lookups by status id. Each was a round trip, and on PostgreSQL each
also costs the server a statement (bench/timeline.py counts the database's CPU); as the
branches of one ``UNION ALL`` they cost one. Every branch has the same columns: a kind,
a status id, two integers and four texts, NULL where a branch has nothing to say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Text,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from fedi.models import Actor, Interaction, MediaAttachment, Mention, Poll, Status, Tag

IDS = bindparam("ids", expanding=True)
PARENTS = bindparam("parents", expanding=True)
VIEWER = bindparam("viewer_id", type_=BigInteger)


class MentionRow(NamedTuple):
    """What a rendered mention needs (fedi.convert.model_to_api.status)."""

    id: int
    username: str
    domain: str | None
    url: str | None
    uri: str


@dataclass
class PageExtras:
    mentions: dict[int, list[MentionRow]] = field(default_factory=dict)
    tags: dict[int, list[str]] = field(default_factory=dict)
    counts: dict[tuple[int, str], int] = field(default_factory=dict)
    mine: set[tuple[int, str]] = field(default_factory=set)
    parent_authors: dict[int, int] = field(default_factory=dict)
    replies: list[int] = field(default_factory=list)
    with_poll: set[int] = field(default_factory=set)
    with_media: set[int] = field(default_factory=set)


def _branch(kind: str, status_id: Any, n1: Any = None, n2: Any = None, t1: Any = None,
            t2: Any = None, t3: Any = None, t4: Any = None) -> Any:
    def number(v: Any) -> Any:
        return cast(null() if v is None else v, BigInteger)

    def text(v: Any) -> Any:
        return cast(null(), Text) if v is None else v

    return select(literal_column(f"'{kind}'").label("kind"), number(status_id).label("sid"),
                  number(n1).label("n1"), number(n2).label("n2"), text(t1).label("t1"),
                  text(t2).label("t2"), text(t3).label("t3"), text(t4).label("t4"))


@cache
def _statement(with_parents: bool) -> Any:
    own = func.max(case((Interaction.actor_id == VIEWER, 1), else_=0))
    branches = [
        _branch("m", Mention.status_id, Actor.id, None, Actor.username, Actor.domain,
                Actor.url, Actor.uri)
        .join_from(Mention, Actor, Actor.id == Mention.actor_id)
        .where(Mention.status_id.in_(IDS)),
        _branch("t", Tag.status_id, t1=Tag.name).where(Tag.status_id.in_(IDS)),
        _branch("i", Interaction.status_id, func.count(), own, Interaction.kind)
        .where(Interaction.status_id.in_(IDS))
        .group_by(Interaction.status_id, Interaction.kind),
        _branch("r", Status.in_reply_to_id, Status.id).where(Status.in_reply_to_id.in_(IDS)),
        _branch("q", Poll.status_id).where(Poll.status_id.in_(IDS)),
        _branch("a", MediaAttachment.status_id).where(MediaAttachment.status_id.in_(IDS)),
    ]
    if with_parents:
        branches.append(_branch("p", Status.id, Status.actor_id).where(Status.id.in_(PARENTS)))
    return union_all(*branches)


def page_extras(session: Session, ids: Sequence[int], parents: Sequence[int],
                viewer_id: int | None) -> PageExtras:
    """The extras of the statuses ``ids``; ``parents``: the statuses they reply to."""
    out = PageExtras()
    if not ids:
        return out
    params: dict[str, Any] = {"ids": list(ids), "viewer_id": viewer_id}
    if parents:
        params["parents"] = list(dict.fromkeys(parents))
    rows = session.connection().execute(_statement(bool(parents)), params).all()
    for kind, sid, n1, n2, t1, t2, t3, t4 in rows:
        if kind == "m":
            out.mentions.setdefault(sid, []).append(MentionRow(n1, t1, t2, t3, t4))
        elif kind == "t":
            out.tags.setdefault(sid, []).append(t1)
        elif kind == "i":
            out.counts[(sid, t1)] = n1
            if n2:
                out.mine.add((sid, t1))
        elif kind == "r":
            out.replies.append(n1)
        elif kind == "q":
            out.with_poll.add(sid)
        elif kind == "a":
            out.with_media.add(sid)
        elif kind == "p":
            out.parent_authors[sid] = n1
    return out
