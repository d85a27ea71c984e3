"""Load what entities need in a few batched queries, then convert with
``fedi.convert.model_to_api``. One ``Renderer`` per request, bound to its viewer."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from functools import cache, cached_property
from typing import Any

from sqlalchemy import Row, bindparam, func, select
from sqlalchemy.orm import Session

from fedi.api.page_extras import page_extras
from fedi.api.polls import poll_entities
from fedi.convert import model_to_api as convert
from fedi.convert.media_entity import attachment
from fedi.models import (
    Actor,
    Block,
    Follow,
    Notification,
    Status,
    TradeCategory,
    User,
    UserSettings,
)
from fedi.services.media import attachment_rows, profile_urls
from fedi.services.moves import verified_move_target
from fedi.services.timelines import count_visible_replies, status_columns
from fedi.web.state import Hub

# The statements of a page, built once with the page's ids as a parameter: executing the
# same statement object again skips building it and computing its cache key, which cost
# more than running it (bench/timeline.py).
IDS = bindparam("ids", expanding=True)


@cache
def _originals() -> Any:
    return select(*status_columns()).where(Status.id.in_(IDS))


@cache
def _actors() -> Any:
    return select(*actor_columns()).where(Actor.id.in_(IDS))


@cache
def actor_columns() -> tuple[Any, ...]:
    """What a rendered account needs, as plain columns (no keys, no raw document)."""
    return tuple(c for c in Actor.__table__.c
                 if c.key not in ("raw", "public_key_pem", "private_key_pem",
                                   "directory_text", "directory_key"))


class Renderer:
    def __init__(self, session: Session, hub: Hub, viewer: Actor | None) -> None:
        self.session = session
        self.hub = hub
        self.viewer = viewer
        self.base = hub.urls.base
        self.domain = hub.settings.domain
        self._accounts: dict[int, dict[str, Any]] = {}

    @cached_property
    def linked(self) -> frozenset[str]:
        return self.hub.peers.allowed()

    @cached_property
    def trade_labels(self) -> dict[str, str]:
        """Trade key → French label (« plombier » → « Plombier·ère »), kept as long as the
        account counts (``[api] account_stats_ttl``) in this process: labels rarely change."""
        cache = stats_cache(self.hub)
        labels = cache.labels()
        if labels is None:
            labels = {slug: label for slug, label in self._rows(
                select(TradeCategory.slug, TradeCategory.label_fr))}
            cache.put_labels(labels)
        return labels

    def _rows(self, statement: Any, params: dict[str, Any] | None = None) -> list[Any]:
        """Plain rows through the session's connection (no ORM work for tuples)."""
        return list(self.session.connection().execute(statement, params).all())

    # -- accounts -----------------------------------------------------------------------

    def account_stats(self, ids: Iterable[int]) -> dict[int, convert.AccountStats]:
        """Counts per account, kept ``[api] account_stats_ttl`` seconds (default 30) in this
        process: counting a busy author's statuses costs more than the rest of a page."""
        cache = stats_cache(self.hub)
        ids = list(dict.fromkeys(ids))
        found = cache.get_many(ids)
        missing = [i for i in ids if i not in found]
        if missing:
            fresh = self._count(missing)
            cache.put_many(fresh)
            found.update(fresh)
        return found

    def _count(self, ids: list[int]) -> dict[int, convert.AccountStats]:
        followers = dict(self._rows(
            select(Follow.followee_id, func.count()).where(
                Follow.followee_id.in_(ids), Follow.state == "accepted")
            .group_by(Follow.followee_id)))
        following = dict(self._rows(
            select(Follow.follower_id, func.count()).where(
                Follow.follower_id.in_(ids), Follow.state == "accepted")
            .group_by(Follow.follower_id)))
        statuses = {row[0]: (row[1], row[2]) for row in self._rows(
            select(Status.actor_id, func.count(), func.max(Status.id)).where(
                Status.actor_id.in_(ids), Status.deleted_at.is_(None))
            .group_by(Status.actor_id))}
        return {i: convert.AccountStats(followers=followers.get(i, 0),
                                        following=following.get(i, 0),
                                        statuses=statuses.get(i, (0, None))[0],
                                        last_status_id=statuses.get(i, (0, None))[1])
                for i in ids}

    def accounts(self, actors: Sequence[Any]) -> list[dict[str, Any]]:
        """Account entities of ``actors``: ORM entities, or rows of ``actor_columns``."""
        missing = [a.id for a in actors if a.id not in self._accounts]
        stats = self.account_stats(missing)
        wanted = set(missing)
        pictures = profile_urls(self.session, [a for a in actors if a.id in wanted],
                                base=self.base, secret=self.hub.settings.secret)
        cache = stats_cache(self.hub)
        for actor in actors:
            if actor.id not in self._accounts:
                counts = stats.get(actor.id, convert.AccountStats())
                label = self.trade_labels.get(actor.trade) if actor.trade else None
                # A plain row is its own version: the entity built from the same row, counts
                # and label is reused; any change to the row builds it again.
                key = (tuple(actor), counts, label) if isinstance(actor, Row) else None
                entity = cache.entity(actor.id, key) if key is not None else None
                if entity is None:
                    entity = convert.account(actor, counts, base=self.base,
                                             local_domain=self.domain, trade_label=label)
                    if key is not None:
                        cache.put_entity(actor.id, key, entity)
                self._accounts[actor.id] = {**entity, **pictures.get(actor.id, {})}
        for actor in actors:
            if actor.moved_to_uri and "moved" not in self._accounts[actor.id]:
                self._accounts[actor.id]["moved"] = self.moved_account(actor)
        return [self._accounts[a.id] for a in actors]

    def moved_account(self, actor: Any) -> dict[str, Any] | None:
        """Mastodon's ``moved``: the account it moved to, when that account lists it back."""
        target = verified_move_target(self.session, actor)
        if target is None:
            return None
        self._accounts[actor.id]["moved"] = None  # a move back and forth renders once
        entity = dict(self.account(target))
        entity.pop("moved", None)
        return entity

    def account(self, actor: Actor) -> dict[str, Any]:
        return self.accounts([actor])[0]

    def credential_account(self, actor: Actor, user: User) -> dict[str, Any]:
        settings = self.session.get(UserSettings, user.id)
        requests = self.session.scalar(select(func.count()).select_from(Follow).where(
            Follow.followee_id == actor.id, Follow.state == "requested")) or 0
        return convert.credential_account(
            self.account(actor), actor, privacy=default_privacy(user),
            sensitive=bool(settings and settings.default_sensitive),
            language=settings.default_language if settings else None,
            note_source=settings.note_source if settings else convert.plain_text(actor.summary),
            follow_requests=requests, role=user.role)

    def actors_by_id(self, ids: Iterable[int]) -> dict[int, Actor]:
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        return {a.id: a for a in self.session.scalars(select(Actor).where(Actor.id.in_(ids)))}

    def _actor_rows(self, ids: Iterable[int]) -> dict[int, Any]:
        """Like ``actors_by_id``, as plain rows (what entities need, cheaper to load)."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return {}
        return {a.id: a for a in self._rows(_actors(), {"ids": ids})}

    # -- statuses -----------------------------------------------------------------------

    def statuses(self, rows: Sequence[Any], *, with_text: bool = False) -> list[dict[str, Any]]:
        """Status entities of ``rows``: ORM entities, or rows of ``status_columns``."""
        if not rows:
            return []
        s = self.session
        s.flush()  # the reads below go through the connection, without autoflush
        by_id = {r.id: r for r in rows}
        wanted = [r.reblog_of_id for r in rows if r.reblog_of_id and r.reblog_of_id not in by_id]
        if wanted:
            for original in self._rows(_originals(), {"ids": wanted}):
                by_id[original.id] = original
        ids = list(by_id)
        parents = [r.in_reply_to_id for r in by_id.values() if r.in_reply_to_id]
        viewer_id = self.viewer.id if self.viewer is not None else None
        # Mentions, tags, counts, parents' authors, replies: one statement for the page.
        page = page_extras(s, ids, parents, viewer_id)
        mentions, tags = page.mentions, page.tags
        counts, mine, parent_authors = page.counts, page.mine, page.parent_authors
        replies: dict[int, int] = {}
        if self.viewer is not None:
            replies = count_visible_replies(s, self.viewer, self.linked, ids,
                                            replies=page.replies)
        authors = self._actor_rows(r.actor_id for r in by_id.values())
        self.accounts(list(authors.values()))
        polls = poll_entities(s, viewer_id, [i for i in ids if i in page.with_poll])
        media = attachment_rows(s, [i for i in ids if i in page.with_media])

        def one(row: Status) -> dict[str, Any]:
            extras = convert.StatusExtras(
                mentions=mentions.get(row.id, []), tags=tags.get(row.id, []),
                replies=replies.get(row.id, 0), favourites=counts.get((row.id, "like"), 0),
                reblogs=counts.get((row.id, "announce"), 0),
                favourited=(row.id, "like") in mine, reblogged=(row.id, "announce") in mine,
                bookmarked=(row.id, "bookmark") in mine, pinned=(row.id, "pin") in mine,
                in_reply_to_account_id=parent_authors.get(row.in_reply_to_id or 0))
            reblog = None
            if row.reblog_of_id and row.reblog_of_id in by_id:
                reblog = one(by_id[row.reblog_of_id])
            entity = convert.status(row, self._accounts[row.actor_id], extras, base=self.base,
                                    local_domain=self.domain, reblog=reblog,
                                    with_text=with_text)
            if row.id in polls and reblog is None:
                entity["poll"] = polls[row.id]
            if reblog is None:
                entity["media_attachments"] = [attachment(m, self.base)
                                               for m in media.get(row.id, [])]
            return entity

        return [one(r) for r in rows if r.actor_id in authors]

    def status(self, row: Status, *, with_text: bool = False) -> dict[str, Any]:
        return self.statuses([row], with_text=with_text)[0]

    # -- notifications, relationships ---------------------------------------------------

    def notifications(self, rows: Sequence[Notification]) -> list[dict[str, Any]]:
        self.session.flush()  # the reads below go through the connection, without autoflush
        actors = self._actor_rows(n.from_actor_id for n in rows)
        self.accounts(list(actors.values()))
        status_ids = [n.status_id for n in rows if n.status_id]
        statuses = self._rows(_originals(), {"ids": status_ids}) if status_ids else []
        rendered = {int(e["id"]): e for e in self.statuses(statuses)}
        out = []
        for n in rows:
            if n.from_actor_id not in actors:
                continue
            out.append(convert.notification(n, self._accounts[n.from_actor_id],
                                            rendered.get(n.status_id or 0)))
        return out

    def relationships(self, target_ids: Sequence[int]) -> list[dict[str, Any]]:
        assert self.viewer is not None
        me = self.viewer.id
        ids = list(dict.fromkeys(target_ids))
        s = self.session
        out_rows = s.execute(select(Follow.followee_id, Follow.state, Follow.notify).where(
            Follow.follower_id == me, Follow.followee_id.in_(ids))).all()
        out_f = {r.followee_id: r.state for r in out_rows}
        notifying = {r.followee_id for r in out_rows if r.notify}
        in_f = dict(s.execute(select(Follow.follower_id, Follow.state).where(
            Follow.followee_id == me, Follow.follower_id.in_(ids))).all())
        mine = set(s.execute(select(Block.target_id, Block.kind).where(
            Block.actor_id == me, Block.target_id.in_(ids))).all())
        theirs = set(s.scalars(select(Block.actor_id).where(
            Block.target_id == me, Block.actor_id.in_(ids), Block.kind == "block")))
        return [convert.relationship(
            t, following=out_f.get(t) == "accepted", requested=out_f.get(t) == "requested",
            followed_by=in_f.get(t) == "accepted", requested_by=in_f.get(t) == "requested",
            blocking=(t, "block") in mine, blocked_by=t in theirs, muting=(t, "mute") in mine,
            notifying=t in notifying)
            for t in ids]


class StatsCache:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic,
                 max_size: int = 20_000) -> None:
        self.ttl = ttl
        self.clock = clock
        self.max_size = max_size
        self._items: dict[int, tuple[float, convert.AccountStats]] = {}
        self._labels: tuple[float, dict[str, str]] | None = None
        self._entities: dict[int, tuple[Any, dict[str, Any]]] = {}

    def get_many(self, ids: Iterable[int]) -> dict[int, convert.AccountStats]:
        now = self.clock()
        out = {}
        for i in ids:
            item = self._items.get(i)
            if item is not None and item[0] > now:
                out[i] = item[1]
        return out

    def put_many(self, values: dict[int, convert.AccountStats]) -> None:
        if self.ttl <= 0:
            return
        if len(self._items) + len(values) > self.max_size:
            self._items.clear()
        expires = self.clock() + self.ttl
        for i, stats in values.items():
            self._items[i] = (expires, stats)

    def forget(self, actor_id: int) -> None:
        self._items.pop(actor_id, None)

    def entity(self, actor_id: int, key: Any) -> dict[str, Any] | None:
        """The account entity built from exactly ``key`` (row, counts, label), if kept."""
        item = self._entities.get(actor_id)
        return item[1] if item is not None and item[0] == key else None

    def put_entity(self, actor_id: int, key: Any, entity: dict[str, Any]) -> None:
        if len(self._entities) >= self.max_size:
            self._entities.clear()
        self._entities[actor_id] = (key, entity)

    def labels(self) -> dict[str, str] | None:
        """The trade labels, while fresh."""
        item = self._labels
        return item[1] if item is not None and item[0] > self.clock() else None

    def put_labels(self, labels: dict[str, str]) -> None:
        if self.ttl > 0:
            self._labels = (self.clock() + self.ttl, labels)

    def forget_labels(self) -> None:
        self._labels = None


def stats_cache(hub: Hub) -> StatsCache:
    cache = hub.extras.get("account_stats")
    if cache is None:
        section = hub.settings.extra.get("api", {})
        ttl = section.get("account_stats_ttl", 30) if isinstance(section, dict) else 30
        cache = hub.extras["account_stats"] = StatsCache(float(ttl))
    return cache


def default_privacy(user: User) -> str:
    """The member's default Mastodon visibility (followers-only until they change it)."""
    value = user.default_visibility or "private"
    if value in convert.TO_API:
        return convert.TO_API[value]
    return value if value in convert.FROM_API and value != "local" else "private"
