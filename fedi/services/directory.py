"""The directory (annuaire): members of this hub, then members of linked hubs.

Searchable by trade, postal code and keywords (name, username, business, bio, profile fields,
trade labels). Matching is French-aware: accents and case are ignored, simple plurals and
common feminine forms are reduced (« plombiers » finds « plombier », « journaux » finds
« journal », « avocate » finds « avocat », « coiffeuse » finds « coiffeur »), and a word
matches the start of a word (« menuis » finds « menuisière »). The same folding serves the
directory and account search (``/api/v2/search``), for local and remote profiles alike.

Who is listed: every active member of this hub; of a linked hub, only the members that hub
lists in its ``/members`` collection (its ``discoverable`` members), and only while linked.
Its members' ``Update``/``Delete`` keep that list current between two syncs
(``fedi.services.mesh``); a suspended or deleted member is never listed.
Each actor row keeps its folded words and sort key (``Actor.directory_text``,
``directory_key``, fedi.folding), so the database filters, orders and pages the directory
(issue 14: 10,000 members and 50 linked hubs); a profile without them (a bulk-loaded row) makes
this search fold every candidate in Python as before. This hub's members always come first
(search inside the network first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from fedi.folding import fold, matches, profile_parts, stem, terms, word_set, words
from fedi.models import Actor, DirectoryListing, TradeCategory, User
from fedi.services.trades import find_trade

MAX_QUERY = 200
MAX_LIMIT = 80

__all__ = ["DirectoryQuery", "Listing", "search", "stem", "terms", "words"]


@dataclass(frozen=True)
class DirectoryQuery:
    text: str = ""
    trade: str = ""
    postal_code: str = ""
    local_only: bool = False
    offset: int = 0
    limit: int = 40


@dataclass(frozen=True)
class Listing:
    actor: Actor
    local: bool


def _labels(session: Session) -> dict[str, str]:
    return {slug: f"{fr} {en}" for slug, fr, en in session.execute(
        select(TradeCategory.slug, TradeCategory.label_fr, TradeCategory.label_en))}


def _document(actor: Actor, labels: dict[str, str]) -> set[str]:
    parts = profile_parts(actor.display_name, actor.username, actor.business_name,
                          actor.summary, actor.trade, actor.postal_code, actor.fields)
    return word_set([*parts, labels.get(actor.trade or "", "")])


def _queries(linked: frozenset[str], columns: Any, *, local_only: bool, postal_code: str,
             trade_slug: str | None) -> list[Any]:
    """The directory's two candidate queries: this hub's members, linked hubs' listed ones."""
    local = (select(*columns).join(User, User.actor_id == Actor.id)
             .where(Actor.local, Actor.type == "Person", Actor.deleted_at.is_(None),
                    User.disabled.is_(False)))
    remote = (select(*columns).join(DirectoryListing, DirectoryListing.actor_id == Actor.id)
              .where(Actor.local.is_(False), Actor.deleted_at.is_(None),
                     Actor.suspended_at.is_(None),
                     DirectoryListing.domain == Actor.domain,
                     DirectoryListing.domain.in_(sorted(linked))))
    if postal_code:
        local = local.where(Actor.postal_code.startswith(postal_code, autoescape=True))
        remote = remote.where(Actor.postal_code.startswith(postal_code, autoescape=True))
    if trade_slug is not None:
        local = local.where(Actor.trade == trade_slug)
        remote = remote.where(Actor.trade == trade_slug)
    return [local] if local_only or not linked else [local, remote]


def candidates(session: Session, linked: frozenset[str], *, local_only: bool = False,
               postal_code: str = "", trade_slug: str | None = None) -> list[Listing]:
    queries = _queries(linked, (Actor,), local_only=local_only, postal_code=postal_code,
                       trade_slug=trade_slug)
    return [Listing(a, i == 0) for i, q in enumerate(queries) for a in session.scalars(q)]


def _term_condition(forms: tuple[str, ...], labels: dict[str, str]) -> Any:
    """One query term in SQL: one of its forms starts a word of the stored document, or of
    the labels of the actor's trade category (folded words are [a-z0-9]: no LIKE escapes)."""
    slugs = [slug for slug, label in labels.items() if matches(word_set([label]), [forms])]
    return or_(*[Actor.directory_text.like(f"% {form}%") for form in forms],
               Actor.trade.in_(slugs) if slugs else false())


def _folded_page(session: Session, linked: frozenset[str], wanted: list[tuple[str, ...]],
                 labels: dict[str, str], limit: int, offset: int, *, local_only: bool,
                 postal_code: str, trade_slug: str | None) -> list[Listing] | None:
    """The page filtered, ordered and cut by the database from the stored documents; None
    while an actor has none (a bulk-loaded row): then every profile is folded here.

    This hub's members, then linked hubs', each in ``directory_key`` order: an index
    (ix_actors_directory_key) gives the rows in order, so a page reads about as many rows
    as it shows (or as the filter skips), whatever the size of the hub."""
    if session.scalar(select(Actor.id).where(Actor.directory_text.is_(None)).limit(1)):
        return None
    condition = and_(true(), *[_term_condition(forms, labels) for forms in wanted])
    queries = [q.where(condition) for q in _queries(
        linked, (Actor.id,), local_only=local_only, postal_code=postal_code,
        trade_slug=trade_slug)]
    ids: list[tuple[int, bool]] = []
    skip = offset
    for rank, query in enumerate(queries):
        if len(ids) >= limit:
            break
        page = list(session.scalars(query.order_by(Actor.directory_key, Actor.id)
                                    .offset(skip).limit(limit - len(ids))))
        ids += [(i, rank == 0) for i in page]
        if skip and not page:  # the offset goes past this hub's members: how far past
            skip -= session.scalar(select(func.count()).select_from(query.subquery())) or 0
            skip = max(0, skip)
        else:
            skip = 0
    actors = {a.id: a for a in session.scalars(select(Actor).where(
        Actor.id.in_([i for i, _ in ids])))}
    return [Listing(actors[i], local) for i, local in ids if i in actors]


def search(session: Session, linked: frozenset[str], query: DirectoryQuery) -> list[Listing]:
    """Members matching ``query``: this hub's first, then linked hubs', by name."""
    text = query.text[:MAX_QUERY]
    postal = re.sub(r"\D", "", query.postal_code)[:5]
    trade_slug = None
    extra_words: list[tuple[str, ...]] = []
    if query.trade.strip():
        category = find_trade(session, query.trade)
        if category is not None:
            trade_slug = category.slug
        else:  # not one of our categories: a neighbour's own trade, matched as words
            extra_words = terms(query.trade[:MAX_QUERY])
    wanted = terms(text) + extra_words
    labels = _labels(session)
    limit = max(1, min(query.limit, MAX_LIMIT))
    offset = max(0, query.offset)
    page = _folded_page(session, linked, wanted, labels, limit, offset,
                        local_only=query.local_only, postal_code=postal, trade_slug=trade_slug)
    if page is not None:
        return page
    found = [item for item in candidates(session, linked, local_only=query.local_only,
                                         postal_code=postal, trade_slug=trade_slug)
             if not wanted or matches(_document(item.actor, labels), wanted)]
    found.sort(key=lambda item: (not item.local, fold(item.actor.display_name or
                                                      item.actor.username), item.actor.id))
    return found[offset:offset + limit]
