"""Read paths for statuses: home, local, neighbourhood, tag, profile, context, search.

Every query carries ``visible_to``, the SQL form of ``fedi.services.visibility.can_see``
for a local member (tests compare the two on every combination), so no timeline can
show a post its reader may not see.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import BigInteger, Select, and_, bindparam, exists, func, or_, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement

from fedi.models import Actor, Block, Follow, Interaction, Mention, Status, Tag, TimelineEntry

MAX_CONTEXT = 400
MAX_WINDOWS = 10


@dataclass(frozen=True)
class Page:
    """Mastodon paging: ``max_id`` (older than), ``since_id`` (newer than, newest first),
    ``min_id`` (just after, read oldest first then reversed), ``limit``."""

    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = 20

    @property
    def ascending(self) -> bool:
        return self.min_id is not None


def paginate(query: Select[Any], column: Any, page: Page) -> Select[Any]:
    if page.max_id is not None:
        query = query.where(column < page.max_id)
    if page.since_id is not None:
        query = query.where(column > page.since_id)
    if page.min_id is not None:
        return query.where(column > page.min_id).order_by(column.asc()).limit(page.limit)
    return query.order_by(column.desc()).limit(page.limit)


PAGE_BOUNDS = ("page_max_id", "page_since_id", "page_min_id")


@lru_cache(maxsize=1024)
def _paged(query: Select[Any], column: Any, bounds: tuple[bool, bool, bool],
           limit: int) -> Select[Any]:
    """``paginate`` with the cursors as parameters, built once per shape: executing the same
    statement object again skips building it and computing its cache key. ``query`` must
    itself be built once (``functools.cache``)."""
    max_id, since_id, min_id = (bindparam(n, type_=BigInteger) if on else None
                                for n, on in zip(PAGE_BOUNDS, bounds, strict=True))
    if max_id is not None:
        query = query.where(column < max_id)
    if since_id is not None:
        query = query.where(column > since_id)
    if min_id is not None:
        return query.where(column > min_id).order_by(column.asc()).limit(limit)
    return query.order_by(column.desc()).limit(limit)


def paged(query: Select[Any], column: Any, page: Page) -> tuple[Select[Any], dict[str, Any]]:
    """The statement of ``_paged`` for ``page``, and the cursors to bind."""
    values = (page.max_id, page.since_id, page.min_id)
    statement = _paged(query, column, tuple(v is not None for v in values), page.limit)
    return statement, {n: v for n, v in zip(PAGE_BOUNDS, values, strict=True) if v is not None}


def newest_first(rows: Sequence[Any], page: Page) -> list[Any]:
    return list(reversed(rows)) if page.ascending else list(rows)


# Hot read paths reuse statements built once, with the viewer and the linked domains as
# bound parameters: building these expressions costs more than running them.
VIEWER = bindparam("viewer_id", type_=BigInteger)
LINKED = bindparam("linked", expanding=True)
Neighbourhood = Callable[[Any], ColumnElement[bool]]


def _audience_rules(viewer: Any, neighbourhood: Neighbourhood, s: Any,
                    a: Any) -> ColumnElement[bool]:
    mentioned = exists().where(Mention.status_id == s.id, Mention.actor_id == viewer)
    follows = exists().where(Follow.follower_id == viewer, Follow.followee_id == s.actor_id,
                             Follow.state == "accepted")
    return or_(
        and_(s.visibility == "direct", mentioned),
        and_(s.visibility == "followers", or_(follows, mentioned)),
        and_(s.visibility == "hub", a.local),
        and_(s.visibility == "neighbourhood", neighbourhood(a)),
    )


def _visible(viewer: Any, neighbourhood: Neighbourhood, s: Any, a: Any) -> ColumnElement[bool]:
    original = aliased(Status)
    original_author = aliased(Actor)
    original_ok = exists(
        select(original.id).join(original_author, original_author.id == original.actor_id)
        .where(original.id == s.reblog_of_id, original.deleted_at.is_(None),
               original.reblog_of_id.is_(None), original_author.suspended_at.is_(None),
               or_(original.actor_id == viewer,
                   _audience_rules(viewer, neighbourhood, original, original_author))))
    return and_(s.deleted_at.is_(None), or_(
        s.actor_id == viewer,
        and_(a.suspended_at.is_(None), or_(s.reblog_of_id.is_(None), original_ok),
             _audience_rules(viewer, neighbourhood, s, a)),
    ))


def visible_to(viewer_id: int, linked: frozenset[str], s: Any = Status,
               a: Any = Actor) -> ColumnElement[bool]:
    """Statuses ``s`` (joined with their author ``a``) a local member may see."""
    domains = sorted(linked)

    def neighbourhood(actor: Any) -> ColumnElement[bool]:
        return or_(actor.local, actor.domain.in_(domains)) if domains else actor.local

    return _visible(viewer_id, neighbourhood, s, a)


def not_silenced(viewer_id: Any, s: Any = Status) -> ColumnElement[bool]:
    """Not from an account the viewer blocked or muted."""
    return ~exists().where(Block.actor_id == viewer_id, Block.target_id == s.actor_id)


@cache
def _bound_visible() -> ColumnElement[bool]:
    return _visible(VIEWER, lambda actor: or_(actor.local, actor.domain.in_(LINKED)),
                    Status, Actor)


def bound_visible() -> ColumnElement[bool]:
    """``visible_to`` with the viewer and the linked domains as parameters (``bound``)."""
    return _bound_visible()


@cache
def status_columns() -> tuple[Any, ...]:
    """What a rendered status needs (fedi.api.entities), as plain columns: the API's hot
    read paths return these rows (attribute access like the entity's) instead of ORM
    entities, which cost several times more to load."""
    return tuple(c for c in Status.__table__.c if c.key not in ("raw", "recipients"))


def _selected(rows: bool) -> Select[Any]:
    return select(*status_columns()) if rows else select(Status)


def _fetch(session: Session, query: Select[Any], params: dict[str, Any],
           rows: bool) -> list[Any]:
    """ORM entities, or (``rows``) plain rows read through the session's connection."""
    if rows:
        return list(session.connection().execute(query, params).all())
    return list(session.scalars(query, params).all())


@cache
def _visible_base(rows: bool = False) -> Select[Any]:
    return _selected(rows).join(Actor, Actor.id == Status.actor_id).where(_bound_visible())


@cache
def _home_filter(rows: bool = False) -> Select[Any]:
    return (_selected(rows).join(Actor, Actor.id == Status.actor_id)
            .where(_bound_visible(), not_silenced(VIEWER)))


@cache
def _replies_base() -> Select[Any]:
    return (select(Status.in_reply_to_id, func.count()).join(Actor, Actor.id == Status.actor_id)
            .where(_bound_visible()))


@cache
def _interactions_base() -> Select[Any]:
    return (select(Interaction.id, Status).join(Status, Status.id == Interaction.status_id)
            .join(Actor, Actor.id == Status.actor_id)
            .where(Interaction.actor_id == VIEWER, _bound_visible()))


def bound(viewer: Actor, linked: frozenset[str]) -> dict[str, Any]:
    """The parameters of the statements above for this viewer."""
    return {"viewer_id": viewer.id, "linked": sorted(linked)}


def _visible_statuses(viewer: Actor, linked: frozenset[str], rows: bool = False) -> Select[Any]:
    return _visible_base(rows)


@cache
def _home_candidates() -> Select[Any]:
    return select(TimelineEntry.status_id).where(TimelineEntry.owner_id == VIEWER)


@cache
def _home_window(rows: bool) -> Select[Any]:
    return _home_filter(rows).where(Status.id.in_(bindparam("window", expanding=True)))


@lru_cache(maxsize=64)
def _home_first_window(rows: bool, bounds: tuple[bool, bool, bool], window: int) -> Select[Any]:
    """The visible statuses among the first window of the member's timeline rows, in one
    statement: the window (a LIMIT subquery, which the planner cannot flatten) is read from
    the (owner, status) index first, as in ``home``'s loop."""
    candidates = _paged(_home_candidates(), TimelineEntry.status_id, bounds, window)
    return _home_filter(rows).where(Status.id.in_(candidates.scalar_subquery()))


def home(session: Session, viewer: Actor, linked: frozenset[str], page: Page, *,
         rows: bool = False) -> list[Any]:
    """The member's timeline rows, in windows read from the (owner, status) index, then the
    visible ones among them: one plan on SQLite and PostgreSQL alike, whatever the
    planner thinks of the visibility filter. ``rows``: plain rows (``status_columns``)
    rather than ORM entities."""
    params = bound(viewer, linked)
    # Fan-out on write already respects audiences: nearly every row is visible, so a
    # window just over the page saves loading rows that are not shown.
    window = max(page.limit + 5, 25)
    # Nearly always the first window fills the page: one statement. Otherwise (the end of
    # the timeline, or many hidden rows) the windows one by one, from the start.
    values = (page.max_id, page.since_id, page.min_id)
    first = _home_first_window(rows, tuple(v is not None for v in values), window)
    cursors = {n: v for n, v in zip(PAGE_BOUNDS, values, strict=True) if v is not None}
    found = _fetch(session, first, {**params, **cursors}, rows)
    if len(found) >= page.limit:
        found.sort(key=lambda r: r.id, reverse=not page.ascending)
        return newest_first(found[:page.limit], page)
    cursor = replace(page, limit=window)
    found = []
    connection = session.connection()
    for _ in range(MAX_WINDOWS):
        statement, cursors = paged(_home_candidates(), TimelineEntry.status_id, cursor)
        candidates = list(connection.execute(statement, {**params, **cursors}).scalars())
        if not candidates:
            break
        by_id = {r.id: r for r in _fetch(session, _home_window(rows),
                                         {**params, "window": candidates}, rows)}
        found.extend(by_id[c] for c in candidates if c in by_id)
        if len(found) >= page.limit or len(candidates) < window:
            break
        cursor = (replace(cursor, min_id=max(candidates)) if page.ascending
                  else replace(cursor, max_id=min(candidates)))
    return newest_first(found[:page.limit], page)


def public(session: Session, viewer: Actor, linked: frozenset[str], page: Page, *,
           local: bool, remote: bool = False, rows: bool = False) -> list[Any]:
    """``local``: this hub's hub and neighbourhood posts. Otherwise the neighbourhood: those
    plus neighbourhood posts of linked hubs (``remote``: only the latter). No boosts."""
    statement, cursors = paged(_public_base(rows, local, remote), Status.id, page)
    found = _fetch(session, statement, {**bound(viewer, linked), **cursors}, rows)
    return newest_first(found, page)


@cache
def _public_base(rows: bool, local: bool, remote: bool) -> Select[Any]:
    query = _visible_base(rows).where(
        Status.reblog_of_id.is_(None), Status.visibility.in_(("hub", "neighbourhood")),
        not_silenced(VIEWER))
    if local:
        return query.where(Actor.local)
    if remote:
        return query.where(Actor.local.is_(False), Status.visibility == "neighbourhood")
    return query


def tagged(session: Session, viewer: Actor, linked: frozenset[str], name: str, page: Page, *,
           local: bool = False) -> list[Status]:
    """A hashtag timeline is a public timeline: hub and neighbourhood posts only, never
    followers-only or direct ones (security-and-performance.md §5.3 #20)."""
    query = _visible_statuses(viewer, linked).where(
        Status.reblog_of_id.is_(None), Status.visibility.in_(("hub", "neighbourhood")),
        exists().where(Tag.status_id == Status.id, Tag.name == name.lower()),
        not_silenced(VIEWER))
    if local:
        query = query.where(Actor.local)
    rows = session.scalars(paginate(query, Status.id, page), bound(viewer, linked)).all()
    return newest_first(rows, page)


@dataclass(frozen=True)
class ProfileFilter:
    exclude_replies: bool = False
    exclude_reblogs: bool = False
    only_media: bool = False
    pinned: bool = False
    tagged: str | None = None


def by_account(session: Session, viewer: Actor, linked: frozenset[str], target: Actor,
               page: Page, flt: ProfileFilter, *, rows: bool = False) -> list[Any]:
    if flt.only_media:
        return []  # no media attachments on this hub yet
    if flt == ProfileFilter():
        statement, cursors = paged(_account_base(rows), Status.id, page)
        found = _fetch(session, statement,
                       {**bound(viewer, linked), **cursors, "target_id": target.id}, rows)
        return newest_first(found, page)
    query = _visible_statuses(viewer, linked, rows).where(Status.actor_id == target.id)
    if flt.exclude_replies:
        parent = aliased(Status)
        query = query.where(or_(Status.in_reply_to_id.is_(None),
                                exists().where(parent.id == Status.in_reply_to_id,
                                               parent.actor_id == target.id)))
    if flt.exclude_reblogs:
        query = query.where(Status.reblog_of_id.is_(None))
    if flt.pinned:
        query = query.where(exists().where(Interaction.status_id == Status.id,
                                           Interaction.actor_id == target.id,
                                           Interaction.kind == "pin"))
    if flt.tagged:
        query = query.where(exists().where(Tag.status_id == Status.id,
                                           Tag.name == flt.tagged.lower()))
    found = _fetch(session, paginate(query, Status.id, page), bound(viewer, linked), rows)
    return newest_first(found, page)


@cache
def _account_base(rows: bool) -> Select[Any]:
    return _visible_base(rows).where(
        Status.actor_id == bindparam("target_id", type_=BigInteger))


def by_interaction(session: Session, viewer: Actor, linked: frozenset[str], kind: str,
                   page: Page) -> list[tuple[int, Status]]:
    """The viewer's favourites or bookmarks still visible to them, with the cursor."""
    query = _interactions_base().where(Interaction.kind == kind)
    rows = session.execute(paginate(query, Interaction.id, page), bound(viewer, linked)).all()
    return [(cursor, row) for cursor, row in newest_first(rows, page)]


def visible_ids(session: Session, viewer: Actor, linked: frozenset[str],
                ids: Sequence[int]) -> set[int]:
    if not ids:
        return set()
    query = _visible_base().with_only_columns(Status.id).where(Status.id.in_(list(ids)))
    return set(session.scalars(query, bound(viewer, linked)))


def find_visible(session: Session, viewer: Actor, linked: frozenset[str],
                 status_id: int) -> Status | None:
    return session.scalar(_visible_base().where(Status.id == status_id), bound(viewer, linked))


def context(session: Session, viewer: Actor, linked: frozenset[str],
            status: Status) -> tuple[list[Status], list[Status]]:
    """Ancestors (oldest first) and descendants (thread order) the viewer may see."""
    ancestors: list[Status] = []
    parent_id = status.in_reply_to_id
    seen = {status.id}
    while parent_id is not None and parent_id not in seen and len(seen) < MAX_CONTEXT:
        seen.add(parent_id)
        parent = session.get(Status, parent_id)
        if parent is None:
            break
        if find_visible(session, viewer, linked, parent.id) is not None:
            ancestors.append(parent)
        parent_id = parent.in_reply_to_id
    ancestors.reverse()
    children: dict[int, list[Status]] = {}
    frontier = [status.id]
    found = 0
    while frontier and found < MAX_CONTEXT:
        rows = session.scalars(
            _visible_base()
            .where(Status.in_reply_to_id.in_(frontier), Status.reblog_of_id.is_(None))
            .order_by(Status.id), bound(viewer, linked)).all()
        frontier = []
        for row in rows:
            if row.id in seen:
                continue
            seen.add(row.id)
            children.setdefault(row.in_reply_to_id or 0, []).append(row)
            frontier.append(row.id)
            found += 1
    descendants: list[Status] = []

    def walk(node_id: int) -> None:
        for child in children.get(node_id, []):
            descendants.append(child)
            walk(child.id)

    walk(status.id)
    return ancestors, descendants


def search(session: Session, viewer: Actor, linked: frozenset[str], q: str, *, limit: int,
           offset: int, account_id: int | None = None, max_id: int | None = None,
           min_id: int | None = None) -> list[Status]:
    """Statuses the viewer may see whose text contains ``q``, or whose URL/URI is ``q``."""
    q = q.strip()
    if not q:
        return []
    if q.startswith(("http://", "https://")):
        cond = or_(Status.uri == q, Status.url == q)
    else:
        pattern = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        cond = or_(Status.content.ilike(pattern, escape="\\"),
                   Status.spoiler_text.ilike(pattern, escape="\\"))
    query = _visible_statuses(viewer, linked).where(cond, Status.reblog_of_id.is_(None))
    if account_id is not None:
        query = query.where(Status.actor_id == account_id)
    if max_id is not None:
        query = query.where(Status.id < max_id)
    if min_id is not None:
        query = query.where(Status.id > min_id)
    return list(session.scalars(query.order_by(Status.id.desc()).offset(offset).limit(limit),
                                bound(viewer, linked)))


def direct_statuses(session: Session, viewer: Actor, *, limit: int = 400) -> list[Status]:
    """Direct statuses the viewer wrote or was mentioned in, newest first: those the viewer
    may see (``visible_to``: a suspended member's messages are hidden like their posts)."""
    mentioned = exists().where(Mention.status_id == Status.id, Mention.actor_id == viewer.id)
    query = (_visible_base().where(Status.visibility == "direct",
                                   or_(Status.actor_id == viewer.id, mentioned),
                                   not_silenced(VIEWER))
             .order_by(Status.id.desc()).limit(limit))
    # A direct audience does not depend on the linked hubs.
    return list(session.scalars(query, bound(viewer, frozenset())))


def count_visible_replies(session: Session, viewer: Actor, linked: frozenset[str],
                          ids: Sequence[int], *,
                          replies: Sequence[int] | None = None) -> dict[int, int]:
    """Replies the viewer may see, per parent: counts never reveal hidden replies.

    Two steps, so that the planner cannot trade the ``in_reply_to_id`` index for another:
    the replies by parent first (most posts have none; ``replies`` when the caller read
    them already), then the visible ones among them."""
    if not ids:
        return {}
    connection = session.connection()
    if replies is None:
        replies = list(connection.execute(_replies_of(), {"parents": list(ids)}).scalars())
    if not replies:
        return {}
    return {parent: n for parent, n in connection.execute(
        _visible_replies(), {**bound(viewer, linked), "replies": replies}).all()}


@cache
def _replies_of() -> Select[Any]:
    return select(Status.id).where(
        Status.in_reply_to_id.in_(bindparam("parents", expanding=True)))


@cache
def _visible_replies() -> Select[Any]:
    return (_replies_base().where(Status.id.in_(bindparam("replies", expanding=True)))
            .group_by(Status.in_reply_to_id))


def by_authors(session: Session, viewer: Actor, linked: frozenset[str], author_ids: Any,
               page: Page, *, replies: bool = True) -> list[Status]:
    """Statuses (boosts too) by these authors that the viewer may see: a list's timeline.
    ``author_ids``: a subquery or a sequence of actor ids."""
    query = _visible_statuses(viewer, linked).where(Status.actor_id.in_(author_ids),
                                                     not_silenced(VIEWER))
    if not replies:
        query = query.where(Status.in_reply_to_id.is_(None))
    rows = session.scalars(paginate(query, Status.id, page), bound(viewer, linked)).all()
    return newest_first(rows, page)
