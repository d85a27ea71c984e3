"""The mesh: linked hubs share their links and their members, and adjacent hubs link up.

Each hub serves two collections to its linked hubs only (signed fetch):

- ``/actor/links``: its own territory and the hubs it is linked with, with their territories.
  A hub reading it proposes a link (our Follow) to every hub there whose territory borders
  its own and that it does not know yet (setting ``propose_adjacent``), and accepts a
  waiting request of such a hub, but only when our admins listed the hub that serves it:
  a hub linked by a vouch or by the mesh vouches for nobody (``fedi.services.trust``).
- ``/members``: the members it lists (``discoverable``), as full ``Person`` documents, by
  pages. They fill the directory; in between, each member's ``Update(Person)`` (sent when
  they join, change their profile, are suspended or reinstated) lists or drops them at once
  (``apply_pushed_member``), and a ``Delete`` of the actor drops them.

The ``MeshWorker`` runs in the serve process (``run_once()`` for tests): it reads both
collections of a linked hub when the link forms, when that hub announces a change of its
links (``Add``/``Remove``), and every ``refresh`` otherwise.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from fedi.config import ConfigError, Settings
from fedi.convert.ap_to_model import InvalidObject, new_remote_actor, update_actor
from fedi.convert.model_to_ap import ordered_collection, person
from fedi.db import transaction, utcnow
from fedi.db_faults import Backoff
from fedi.http import Fetcher, RemoteError, Signer
from fedi.ids import Urls
from fedi.models import Actor, DirectoryListing, Neighbour, NeighbourSync, User
from fedi.services import trust
from fedi.services.hub_settings import get_setting
from fedi.services.media import with_profile_images
from fedi.services.neighbours import (
    ENDED,
    TERRITORY_CONTEXT,
    find_row,
    hub_actor,
    mark_sync_due,
    request_link,
    retry_later,
)
from fedi.services.periodic import run_periodically
from fedi.services.territory import adjacent_to_us, clean_territory
from fedi.vocab.parse import as_list, get_id, host_of
from outbox.context import PublishContext

log = logging.getLogger("voisins.mesh")

MEMBERS_PAGE = 50
MAX_PAGES = 100
MAX_LINKS = 500


# --- what we serve ---------------------------------------------------------------------------


def links_collection(session: Session, settings: Settings, urls: Urls) -> dict[str, Any]:
    rows = session.scalars(select(Neighbour).where(Neighbour.state == "linked")
                           .order_by(Neighbour.domain))
    items = [{"id": f"{settings.scheme}://{row.domain}/actor", "type": "Application",
              "territory": list(row.territory or [])} for row in rows]
    doc = ordered_collection(f"{urls.instance_actor}/links", items)
    doc["@context"] = TERRITORY_CONTEXT
    doc["territory"] = list(settings.territory)
    return doc


def listed_members(session: Session) -> Any:
    """Members this hub lists to its linked hubs: active and discoverable."""
    return (select(Actor).join(User, User.actor_id == Actor.id)
            .where(Actor.local, Actor.type == "Person", Actor.deleted_at.is_(None),
                   Actor.discoverable, User.disabled.is_(False)))


def members_collection(session: Session, urls: Urls, page: int | None) -> dict[str, Any]:
    """``/members``: the collection (with ``first``), or one page of ``Person`` documents."""
    base = urls.members
    if page is None:
        total = len(session.scalars(listed_members(session).with_only_columns(Actor.id)).all())
        doc = ordered_collection(base, None, total=total)
        doc["first"] = f"{base}?page=1"
        return doc
    rows = list(session.scalars(listed_members(session).order_by(Actor.id)
                                .offset((page - 1) * MEMBERS_PAGE).limit(MEMBERS_PAGE + 1)))
    items = [with_profile_images(session, person(actor, urls), actor, urls.base)
             for actor in rows[:MEMBERS_PAGE]]
    doc = ordered_collection(f"{base}?page={page}", items)
    doc["type"] = "OrderedCollectionPage"
    doc["partOf"] = base
    if len(rows) > MEMBERS_PAGE:
        doc["next"] = f"{base}?page={page + 1}"
    return doc


# --- what we do with what linked hubs serve ------------------------------------------------


def apply_links(session: Session, ctx: PublishContext, domain: str,
                doc: dict[str, Any]) -> list[str]:
    """Store a linked hub's links and territory; propose links to adjacent hubs. Returns the
    domains we proposed a link to."""
    row = find_row(session, domain, lock=True)
    configured = domain in ctx.settings.neighbours
    if not configured and (row is None or row.state != "linked"):
        return []
    territory = clean_territory(doc.get("territory"))
    if territory and row is not None:
        row.territory = territory
    links: list[dict[str, Any]] = []
    for item in as_list(doc.get("orderedItems"))[:MAX_LINKS]:
        uri = get_id(item)
        other = host_of(uri)
        if not other or uri != hub_actor(ctx, other) or other == domain:
            continue
        links.append({"domain": other, "territory": clean_territory(
            item.get("territory") if isinstance(item, dict) else None)})
    sync = session.get(NeighbourSync, domain)
    if sync is not None:
        sync.links = links
    proposed: list[str] = []
    if domain not in trust.vouchers(session, ctx.settings):
        return proposed  # a vouch does not chain: only hubs our admins listed vouch
    proposed += accept_vouched(session, ctx, [link["domain"] for link in links])
    if not get_setting(session, "propose_adjacent"):
        return proposed
    for link in links:
        other = link["domain"]
        if other == ctx.settings.domain or find_row(session, other) is not None:
            continue
        if adjacent_to_us(ctx.settings, link["territory"]):
            request_link(session, ctx, other, source="mesh")
            proposed.append(other)
    return proposed


def accept_vouched(session: Session, ctx: PublishContext, domains: list[str]) -> list[str]:
    """Accept the waiting requests of hubs that are now vouched for and border us (their
    request may have come before the voucher told us of them). Their territory is the one
    of their own ``/actor``, read when their signature was verified."""
    accepted = []
    for other in domains:
        row = find_row(session, other)
        if row is None or row.state != "pending":
            continue
        if trust.links_automatically(session, ctx.settings, other, row.territory or []):
            request_link(session, ctx, other, source="vouch")
            accepted.append(other)
    return accepted


def _own_listed_member(item: Any, domain: str) -> bool:
    """Is ``item`` a ``Person`` of ``domain``, with its own key there, that its hub lists
    (``discoverable``, not suspended)?"""
    if not isinstance(item, dict) or item.get("type") != "Person":
        return False
    uri = get_id(item)
    key = item.get("publicKey")
    return (host_of(uri) == domain and item.get("discoverable", False) is True
            and item.get("suspended") is not True
            and isinstance(key, dict) and key.get("owner") == uri
            and host_of(get_id(key.get("id"))) == domain)


def link_holds(session: Session, settings: Settings, domain: str) -> bool:
    """Is ``domain`` a linked hub right now (read from the database, never from a cache)?
    A configured neighbour is, unless its link ended since (as ``trust.vouchers`` says)."""
    row = find_row(session, domain)
    if row is not None and row.state in ENDED:
        return False
    return (row is not None and row.state == "linked") or domain in settings.neighbours


def apply_pushed_member(session: Session, settings: Settings, actor: Actor,
                        doc: dict[str, Any]) -> bool | None:
    """A member of a linked hub sent their ``Person`` (``Update``, signed with their own key,
    already verified and stored in ``actor``): list them in the directory, or drop them, as
    their hub's ``/members`` would, without waiting for the next sync. Only a member of a hub
    linked now, about themselves. Returns whether they are listed (None: not ours to judge)."""
    domain = actor.domain
    if (actor.local or get_id(doc) != actor.uri or host_of(actor.uri) != domain
            or not link_holds(session, settings, domain)):
        return None
    listed = _own_listed_member(doc, domain) and actor.deleted_at is None
    row = session.get(DirectoryListing, actor.id)
    if not listed:
        if row is not None:
            session.delete(row)
        return False
    if row is None:
        try:
            with session.begin_nested():
                session.add(DirectoryListing(actor_id=actor.id, domain=domain))
        except IntegrityError:
            pass  # listed meanwhile by the sync or a concurrent push
    return True


def drop_listing(session: Session, actor: Actor) -> None:
    """A remote member left (``Delete`` of the actor): out of the directory at once."""
    session.execute(delete(DirectoryListing).where(DirectoryListing.actor_id == actor.id)
                    .execution_options(synchronize_session=False))


def apply_members(session: Session, domain: str, items: list[Any],
                  read_since: datetime | None = None) -> int:
    """Store the members a linked hub lists, and make them (only them) its directory entries.
    ``read_since``: when we began reading the collection; a member listed since (by a push)
    stays, the collection we read being older than that listing."""
    listed: set[int] = set()
    for item in items:
        if not _own_listed_member(item, domain):
            continue  # only the hub's own listed members, with their own keys
        uri = get_id(item)
        try:
            with session.begin_nested():
                actor = session.scalar(select(Actor).where(Actor.uri == uri))
                if actor is None:
                    actor = new_remote_actor(item)
                    session.add(actor)
                elif actor.local:
                    continue
                else:
                    update_actor(actor, item)
                session.flush()
        except (InvalidObject, IntegrityError) as exc:
            log.info("member %s of %s skipped: %s", uri, domain, exc)
            continue
        listed.add(actor.id)
    stale = delete(DirectoryListing).where(
        DirectoryListing.domain == domain, DirectoryListing.actor_id.not_in(listed or {0}))
    if read_since is not None:
        stale = stale.where(DirectoryListing.listed_at < read_since)
    session.execute(stale.execution_options(synchronize_session=False))
    known = set(session.scalars(select(DirectoryListing.actor_id).where(
        DirectoryListing.domain == domain)))
    for actor_id in listed - known:
        session.add(DirectoryListing(actor_id=actor_id, domain=domain))
    return len(listed)


class MeshWorker:
    """Reads the links and members of linked hubs when due; proposes links to adjacent hubs."""

    def __init__(self, sessions: sessionmaker[Session], ctx: PublishContext, fetcher: Fetcher,
                 signer: Signer, *, refresh: timedelta = timedelta(hours=1),
                 lease: timedelta = timedelta(seconds=60), idle_poll: float = 0.5,
                 clock: Callable[[], datetime] = utcnow) -> None:
        self.sessions = sessions
        self.ctx = ctx
        self.fetcher = fetcher
        self.signer = signer
        self.refresh = refresh
        self.lease = lease
        self.idle_poll = idle_poll
        self.clock = clock
        self.backoff = Backoff()  # the hub's shares one DatabaseStatus (fedi.app)

    def _claim(self) -> list[str]:
        now = self.clock()
        with transaction(self.sessions) as session:
            linked = {d for d in set(session.scalars(select(Neighbour.domain).where(
                Neighbour.state == "linked"))) | set(self.ctx.settings.neighbours)
                if link_holds(session, self.ctx.settings, d)}
            known = set(session.scalars(select(NeighbourSync.domain)))
            for domain in linked - known:  # linked before this worker existed, or by hand
                mark_sync_due(session, domain, now)
            session.flush()
            rows = list(session.scalars(select(NeighbourSync).where(
                NeighbourSync.due_at <= now).with_for_update(skip_locked=True)))
            due = [r for r in rows if r.domain in linked]
            for row in due:
                row.due_at = now + self.lease
        return [r.domain for r in due]

    async def _fetch_members(self, domain: str) -> list[Any]:
        collection = await self.fetcher.fetch_object(
            f"{self.ctx.settings.scheme}://{domain}/members", signer=self.signer)
        items: list[Any] = list(as_list(collection.get("orderedItems")))
        url = get_id(collection.get("first"))
        for _ in range(MAX_PAGES):
            if not url or host_of(url) != domain:
                break
            page = await self.fetcher.fetch_object(url, signer=self.signer)
            items.extend(as_list(page.get("orderedItems")))
            url = get_id(page.get("next"))
        return items

    async def sync(self, domain: str) -> None:
        started = utcnow()  # the listings' own clock, not the worker's (tests move that one)
        try:
            links = await self.fetcher.fetch_object(
                f"{self.ctx.settings.scheme}://{domain}/actor/links", signer=self.signer)
            members = await self._fetch_members(domain)
        except RemoteError as exc:
            log.info("cannot read the collections of %s: %s", domain, exc)
            await asyncio.to_thread(self._failed, domain, str(exc))
            return
        await asyncio.to_thread(self._apply, domain, links, members, started)

    def _failed(self, domain: str, error: str) -> None:
        with transaction(self.sessions) as session:
            retry_later(session, domain, error, self.refresh)

    def _apply(self, domain: str, links: dict[str, Any], members: list[Any],
               started: datetime | None = None) -> None:
        with transaction(self.sessions) as session:
            if not link_holds(session, self.ctx.settings, domain):
                log.info("not applying the collections of %s: no longer linked", domain)
                return  # unlinked while we read them: its members stay out
            proposed = apply_links(session, self.ctx, domain, links)
            count = apply_members(session, domain, members, started)
            sync = session.get(NeighbourSync, domain)
            if sync is not None:
                sync.synced_at = self.clock()
                sync.due_at = self.clock() + self.refresh
                sync.attempts = 0
                sync.last_error = None
        log.info("synced %s: %d members, proposed %s", domain, count, proposed or "none")

    async def run_once(self) -> int:
        due = await asyncio.to_thread(self._claim)
        for domain in due:
            await self.sync(domain)
        return len(due)

    async def run_forever(self, stop: asyncio.Event) -> None:
        await run_periodically(self.run_once, stop, self.idle_poll, log, "mesh cycle",
                               backoff=self.backoff)


def mesh_options(settings: Settings) -> dict[str, Any]:
    """MeshWorker keyword arguments from the optional ``[mesh]`` table (``refresh_seconds``)."""
    table = settings.extra.get("mesh", {})
    if not isinstance(table, Mapping):
        raise ConfigError("mesh", "must be a table")
    options: dict[str, Any] = {}
    for key, value in table.items():
        if key != "refresh_seconds":
            raise ConfigError(f"mesh.{key}", "unknown key (known: refresh_seconds)")
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            raise ConfigError("mesh.refresh_seconds", f"expected a number, got {value!r}") from None
        if isinstance(value, bool) or seconds < 1:
            raise ConfigError("mesh.refresh_seconds", f"must be at least 1, got {value!r}")
        options["refresh"] = timedelta(seconds=seconds)
    return options
