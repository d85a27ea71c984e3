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
A neighbourhood is a few hundred members a hub, so candidates are filtered in Python after
an SQL pre-filter; this hub's members always come first (search inside the network first).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.models import Actor, DirectoryListing, TradeCategory, User
from fedi.services.trades import find_trade, fold

MAX_QUERY = 200
MAX_LIMIT = 80
_WORD = re.compile(r"[a-z0-9]+")
_TAG = re.compile(r"<[^>]+>")
_INCLUSIVE = re.compile(r"·\w+(?:·\w+)?")


# Common French feminine endings → masculine, on folded words (longest first):
# coiffeuse → coiffeur, décoratrice → décorateur, électricienne → électricien,
# plombière → plombier, avocate → avocat, créative → créatif.
_FEMININE = (("trice", "teur"), ("euse", "eur"), ("ienne", "ien"), ("enne", "en"),
             ("ere", "er"), ("ive", "if"), ("ate", "at"))


def stem(word: str) -> str:
    """Reduce a folded French word's simple plural and common feminine forms to one key:
    chevaux → cheval, plombiers → plombier, avocates → avocat, coiffeuse → coiffeur.
    Queries and profiles go through the same function, so both sides meet."""
    if len(word) > 4 and word.endswith("aux"):
        word = word[:-3] + "al"
    elif len(word) > 3 and word[-1] in "sx":
        word = word[:-1]
    for ending, masculine in _FEMININE:
        if len(word) > len(ending) + 2 and word.endswith(ending):
            return word[:-len(ending)] + masculine
    return word


def _folded(text: str) -> list[str]:
    plain = html.unescape(_TAG.sub(" ", text or ""))
    return _WORD.findall(fold(plain).replace("·", " "))


def words(text: str) -> list[str]:
    """Folded, stemmed words of a text (HTML tags and entities removed)."""
    return [stem(w) for w in _folded(text)]


def terms(text: str) -> list[tuple[str, ...]]:
    """Each folded word of a query with its stem: either may start a profile's word (the
    stem meets « avocat » for « avocate », the word itself keeps a half-typed « oliv »
    meeting « olive »). An inclusive ending (« Plombier·ère ») marks a gender, not a word."""
    text = _INCLUSIVE.sub("", fold(text or ""))
    return [tuple(dict.fromkeys((w, stem(w)))) for w in _folded(text)]


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
    parts = [actor.display_name, actor.username, actor.business_name or "", actor.summary,
             actor.trade or "", labels.get(actor.trade or "", ""), actor.postal_code or ""]
    for item in actor.fields or []:
        parts.append(str(item.get("name", "")))
        parts.append(str(item.get("value", "")))
    folded = _folded(" ".join(parts))
    return set(folded) | {stem(w) for w in folded}


def _matches(document: set[str], wanted: list[tuple[str, ...]]) -> bool:
    return all(any(w.startswith(q) for w in document for q in forms) for forms in wanted)


def candidates(session: Session, linked: frozenset[str], *, local_only: bool = False,
               postal_code: str = "", trade_slug: str | None = None) -> list[Listing]:
    local = (select(Actor).join(User, User.actor_id == Actor.id)
             .where(Actor.local, Actor.type == "Person", Actor.deleted_at.is_(None),
                    User.disabled.is_(False)))
    remote = (select(Actor).join(DirectoryListing, DirectoryListing.actor_id == Actor.id)
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
    out = [Listing(a, True) for a in session.scalars(local)]
    if not local_only and linked:
        out += [Listing(a, False) for a in session.scalars(remote)]
    return out


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
    found = [item for item in candidates(session, linked, local_only=query.local_only,
                                         postal_code=postal, trade_slug=trade_slug)
             if not wanted or _matches(_document(item.actor, labels), wanted)]
    found.sort(key=lambda item: (not item.local, fold(item.actor.display_name or
                                                      item.actor.username), item.actor.id))
    limit = max(1, min(query.limit, MAX_LIMIT))
    offset = max(0, query.offset)
    return found[offset:offset + limit]
