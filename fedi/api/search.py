"""``/api/v2/search`` and account search: members by name, handle, trade and profile fields;
statuses the caller may see; hashtags. ``resolve=true`` looks a member of a linked hub up
through WebFinger and a signed fetch."""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, bindparam, cast, exists, or_, select
from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.convert.ap_to_model import InvalidObject
from fedi.convert.model_to_api import tag as tag_entity
from fedi.http import RemoteError
from fedi.models import Actor, Follow, Neighbour, Status, Tag
from fedi.peers import ENDED_STATES
from fedi.services import directory
from fedi.services.accounts import INSTANCE_USERNAME
from fedi.services.timelines import search as search_statuses
from fedi.services.timelines import visible_to
from fedi.vocab.safety import hashtag_name
from fedi.webfinger import lookup

ACCOUNT_TYPES = ("Person", "Service", "Group", "Organization")
MAX_TAG_NAMES = 500  # hashtag names a prefix is checked against, in order


def _like(q: str) -> str:
    return "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def resolve_remote(call: Call, q: str) -> Actor | None:
    """A member of a linked hub named ``user@host`` or by actor URL, fetched and stored."""
    hub = call.hub
    if hub.fetcher is None or hub.resolver is None:
        return None
    try:
        if q.startswith(("http://", "https://")):
            uri = q
        else:
            user, _, host = q.partition("@")
            if not user or not hub.peers.is_allowed(host.lower()):
                return None
            uri = await lookup(hub.fetcher, q, scheme=hub.settings.scheme)
        actor = await hub.resolver.actor(uri)
    except (RemoteError, InvalidObject, ValueError):
        return None
    # SQLite readers see a snapshot: end this read transaction to see the stored actor.
    call.session.commit()
    return call.session.get(Actor, actor.id)


def _ended_hubs(call: Call) -> list[str]:
    """Hubs whose link ended (unlinked, refused, rejected): their members are found no more,
    as the directory lists them no more (unless an admin allows that server on its own)."""
    ended = call.session.scalars(select(Neighbour.domain).where(
        Neighbour.state.in_(ENDED_STATES)))
    return sorted(set(ended) - set(call.hub.settings.allowed))


async def search_accounts(call: Call, q: str, *, limit: int, offset: int, resolve: bool,
                          following: bool) -> list[Actor]:
    q = q.strip().removeprefix("acct:").lstrip("@")
    if not q:
        return []
    domain = call.hub.settings.domain
    found: list[Actor] = []
    exact_found = False
    gone = _ended_hubs(call)
    if "@" in q and " " not in q or q.startswith(("http://", "https://")):
        user, _, host = q.partition("@")
        host = host.lower() or domain
        exact = None
        if not q.startswith("http"):
            exact = call.session.scalar(select(Actor).where(
                Actor.username == (user.lower() if host == domain else user),
                Actor.domain == host, Actor.deleted_at.is_(None)))
        else:
            exact = call.session.scalar(select(Actor).where(
                or_(Actor.uri == q, Actor.url == q), Actor.deleted_at.is_(None)))
        if exact is not None and exact.domain in gone:
            exact = None
        if exact is None and resolve and host != domain:
            exact = await resolve_remote(call, q)
        if exact is not None and exact.type in ACCOUNT_TYPES:
            found.append(exact)
            exact_found = True
        q = user if not q.startswith("http") else ""
    if q:
        pattern = _like(q)
        query = select(Actor).where(
            Actor.deleted_at.is_(None), Actor.type.in_(ACCOUNT_TYPES),
            Actor.username != INSTANCE_USERNAME, Actor.domain.not_in(gone),
            or_(Actor.username.ilike(pattern, escape="\\"),
                Actor.display_name.ilike(pattern, escape="\\"),
                Actor.trade.ilike(pattern, escape="\\"),
                Actor.business_name.ilike(pattern, escape="\\"),
                Actor.postal_code == q,
                cast(Actor.fields, String).ilike(pattern, escape="\\")))
        if following:
            query = query.where(exists().where(
                Follow.follower_id == call.actor.id, Follow.followee_id == Actor.id,
                Follow.state == "accepted"))
        query = query.order_by(Actor.local.desc(), Actor.username, Actor.id)
        # The directory first, folded as it folds (case, accents, French feminine and plural
        # forms, trade labels), for this hub's members and linked hubs' alike; then other
        # known accounts by the plain match above.
        listed = [item.actor for item in directory.search(
            call.session, call.render.linked,
            directory.DirectoryQuery(text=q, limit=directory.MAX_LIMIT))]
        if following:
            followed = set(call.session.scalars(select(Follow.followee_id).where(
                Follow.follower_id == call.actor.id, Follow.state == "accepted")))
            listed = [a for a in listed if a.id in followed]
        matched = list(call.session.scalars(query.limit(offset + limit + 1)))
        known = {a.id for a in found}
        for actor in [*listed, *matched]:
            if actor.id not in known:
                known.add(actor.id)
                found.append(actor)
        pinned = 1 if exact_found else 0
        found = found[:pinned] + found[pinned + offset:]
    return found[:limit]


def search_tags(call: Call, q: str, limit: int, offset: int) -> list[str]:
    q = q.strip().lstrip("#").lower()
    if not q or len(q) > 128:
        return []
    linked = call.render.linked
    # The names first (an index answers the prefix: ix_status_tags_name_prefix), then, name
    # by name, whether one status the caller may see carries it: the database stops at the
    # first, rather than joining every tagged status of a big hub to group them.
    names = call.session.scalars(
        select(Tag.name).where(Tag.name.like(q.replace("%", "").replace("_", "\\_") + "%",
                                             escape="\\"))
        .distinct().order_by(Tag.name).limit(MAX_TAG_NAMES))
    shown = exists().where(Tag.name == bindparam("name"), Status.id == Tag.status_id,
                           Actor.id == Status.actor_id,
                           Status.visibility.in_(("hub", "neighbourhood")),
                           visible_to(call.actor.id, linked))
    found: list[str] = []
    for name in names:
        # Names stored before hashtags were checked are not passed on (fedi.vocab.safety).
        if hashtag_name(name) == name and call.session.scalar(select(shown),
                                                              {"name": name}):
            found.append(name)
            if len(found) >= offset + limit:
                break
    return found[offset:offset + limit]


async def search_v2(call: Call) -> Any:
    p = call.params
    q = p.str("q", "", max_len=500) or ""
    kind = p.str("type", max_len=32)
    limit = p.int("limit", 20, low=1, high=40)
    offset = p.int("offset", 0, low=0, high=10_000)
    result: dict[str, Any] = {"accounts": [], "statuses": [], "hashtags": []}
    if kind in (None, "", "accounts"):
        actors = await search_accounts(call, q, limit=limit, offset=offset,
                                       resolve=p.bool("resolve"), following=p.bool("following"))
        result["accounts"] = call.render.accounts(actors)
    if kind in (None, "", "statuses"):
        rows = search_statuses(call.session, call.actor, call.render.linked, q, limit=limit,
                               offset=offset, account_id=p.id("account_id"),
                               max_id=p.id("max_id"), min_id=p.id("min_id"))
        result["statuses"] = call.render.statuses(rows)
    if kind in (None, "", "hashtags"):
        base = call.hub.urls.base
        result["hashtags"] = [tag_entity(n, base=base) for n in search_tags(call, q, limit, offset)]
    return result


async def search_v1(call: Call) -> Any:
    result = await search_v2(call)
    result["hashtags"] = [h["name"] for h in result["hashtags"]]
    return result


routes = [
    Route("/api/v2/search", endpoint("read:search", body=False)(search_v2)),
    Route("/api/v1/search", endpoint("read:search", body=False)(search_v1)),
]
