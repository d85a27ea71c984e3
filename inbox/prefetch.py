"""What a batch of incoming posts would otherwise look up one item at a time.

The inbox worker processes up to a hundred activities per transaction; for the common case
(``Create`` of a post) each item used to ask the database whether the object was deleted
before, whether it exists already and who follows its author here: three queries per post.
:class:`Prefetched` answers them for the whole batch in three queries.

It is only valid while nothing in the batch changes those answers behind its back: the
worker drops it at the first item that is not a ``Create`` of a post, and the ``Create``
handler records each status it stores (:meth:`Prefetched.stored`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.models import Actor, Follow, Status, Tombstone

#: Object types whose ``Create`` the prefetch serves (inbox.handlers.notes).
POST_TYPES = frozenset({"Note", "Article", "Question"})
#: Values per IN (...) list (SQLite allows 32,766 parameters; PostgreSQL 65,535).
CHUNK = 500


def created_post_uri(doc: Any) -> str | None:
    """The object id of a ``Create`` of a post, else None."""
    if not isinstance(doc, dict) or doc.get("type") != "Create":
        return None
    obj = doc.get("object")
    if not isinstance(obj, dict) or obj.get("type") not in POST_TYPES:
        return None
    uri = obj.get("id")
    return uri if isinstance(uri, str) else None


@dataclass
class Prefetched:
    """Answers for the object ids in ``uris`` and the authors in ``authors``."""

    uris: frozenset[str]
    authors: frozenset[int]
    #: object id → author id of the status already stored with that id
    owners: dict[str, int] = field(default_factory=dict)
    #: object id → the actor that deleted it (None: unknown) for tombstoned ids
    tombstones: dict[str, str | None] = field(default_factory=dict)
    #: author id → [(local follower id, wants a notification)], accepted follows only
    followers: dict[int, list[tuple[int, bool]]] = field(default_factory=dict)

    def stored(self, uri: str, author_id: int) -> None:
        """A status with this id was just stored by this batch."""
        if uri in self.uris:
            self.owners[uri] = author_id


def _chunks(values: Iterable[Any]) -> Iterable[list[Any]]:
    items = list(values)
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]


def prefetch(session: Session, docs: Iterable[Any], author_ids: Iterable[int]) -> Prefetched:
    """Three queries for the posts created by ``docs`` and the followers of their authors."""
    uris = frozenset(u for u in map(created_post_uri, docs) if u is not None)
    authors = frozenset(author_ids)
    known = Prefetched(uris=uris, authors=authors)
    for chunk in _chunks(uris):
        known.owners.update(session.execute(
            select(Status.uri, Status.actor_id).where(Status.uri.in_(chunk))).all())
        known.tombstones.update(session.execute(
            select(Tombstone.uri, Tombstone.actor_uri).where(Tombstone.uri.in_(chunk))).all())
    for chunk in _chunks(authors):
        for followee, follower, notify in session.execute(
                select(Follow.followee_id, Follow.follower_id, Follow.notify)
                .join(Actor, Actor.id == Follow.follower_id)
                .where(Follow.followee_id.in_(chunk), Follow.state == "accepted", Actor.local)):
            known.followers.setdefault(followee, []).append((follower, bool(notify)))
    return known
