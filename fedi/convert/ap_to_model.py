"""Remote ActivityPub JSON → models (validated, bounded, sanitised). One direction only."""

from __future__ import annotations

from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import nh3

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor
from fedi.vocab.safety import URL_SCHEMES, http_url, link_href, same_host
from fedi.vocab.safety import username as valid_username

ACTOR_TYPES = {"Person", "Service", "Application", "Group", "Organization"}


class InvalidObject(ValueError):
    """A remote document does not have the shape we need."""


def _str(doc: dict[str, Any], key: str, limit: int, default: str = "") -> str:
    value = doc.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidObject(f"{key} must be a string")
    return value[:limit]


def _url(value: Any, key: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, dict):
        value = value.get("id") or value.get("href")
    url = http_url(value)
    if url is None:
        raise InvalidObject(f"{key} must be an http(s) URL")
    return url


#: alsoKnownAs entries kept from a remote actor (Mastodon keeps every one; a few suffice).
MAX_ALIASES = 16


def _uri_list(value: Any, limit: int) -> list[str]:
    """http(s) URIs from a URI, an object with an id, or a list of them; others dropped."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items[:limit * 4]:
        url = http_url(item.get("id") if isinstance(item, dict) else item)
        if url is not None and url not in out:
            out.append(url)
    return out[:limit]


REMOTE_TAGS = frozenset({"p", "br", "a", "span", "strong", "em", "ul", "ol", "li",
                         "blockquote", "code", "pre", "h1", "h2", "h3", "h4"})


def sanitize_html(html: str) -> str:
    """Remote HTML reduced to text formatting and http(s) links. No ``<img>`` at all (as
    Mastodon does): a remote post must not make every reader's app call a third party."""
    return _remote_cleaner().clean(html)


@lru_cache(maxsize=1)
def _remote_cleaner() -> nh3.Cleaner:
    """Built once: building the cleaner cost as much as cleaning a post with it."""
    return nh3.Cleaner(tags=set(REMOTE_TAGS), url_schemes=set(URL_SCHEMES))


def actor_url(value: Any, actor_uri: str) -> str | None:
    """An actor's profile page: http(s) and on the actor's own host, else dropped (as
    Mastodon's ``ActivityPub::ProcessAccountService#url`` does)."""
    url = link_href(value)
    return url if same_host(url, actor_uri) else None


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _same_origin(value: str | None, actor_uri: str, key: str) -> str | None:
    """``value`` when it is on the actor's own host (or absent), else InvalidObject.

    An actor's inbox, outbox, collections and shared inbox must live where the actor does:
    a document naming another host's followers collection or inbox would let one hub
    borrow another's addressing or make us deliver there (Lemmy PR #6673, Mastodon PR
    #4216; security-and-performance.md §5.1 row 8).
    """
    if value is not None and _origin(value) != _origin(actor_uri):
        raise InvalidObject(f"{key} is not on the actor's host")
    return value


def public_key_of(doc: dict[str, Any], key_id: str) -> tuple[str, str]:
    """(owner, PEM) of the key ``key_id`` in an actor or key document."""
    keys = doc.get("publicKey")
    if isinstance(keys, dict):
        keys = [keys]
    if not isinstance(keys, list):
        raise InvalidObject("no publicKey")
    for key in keys:
        if isinstance(key, dict) and key.get("id") == key_id:
            pem = key.get("publicKeyPem")
            owner = key.get("owner")
            if not isinstance(pem, str) or "BEGIN PUBLIC KEY" not in pem or len(pem) > 8192:
                raise InvalidObject("publicKeyPem is missing or malformed")
            if owner != doc.get("id"):
                raise InvalidObject("publicKey.owner is not the actor")
            if _origin(key_id) != _origin(owner):
                # A document may only speak for keys of its own host: otherwise an actor
                # fetched (maybe through a redirect) from one host claims another host's
                # keyId (CVE-2024-23832, Misskey #2546).
                raise InvalidObject("publicKey.id is not on the actor's host")
            return owner, pem
    raise InvalidObject(f"key {key_id} is not in the document")


def update_actor(actor: Actor, doc: dict[str, Any]) -> Actor:
    """Copy the fields we keep from a remote actor document onto a row.

    Everything is read and checked before the row is touched, so a refused document (an
    Update(Person) included) leaves the stored actor exactly as it was.
    """
    if doc.get("type") not in ACTOR_TYPES:
        raise InvalidObject(f"type {doc.get('type')!r} is not an actor type")
    uri = doc.get("id")
    if not isinstance(uri, str) or _url(uri, "id") is None:
        raise InvalidObject("id must be an http(s) URL")
    username = _str(doc, "preferredUsername", 255)
    if not username:
        raise InvalidObject("preferredUsername is missing")
    if valid_username(username) is None:
        raise InvalidObject("preferredUsername is not a valid username")
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    url = actor_url(doc.get("url"), uri)
    inbox = _same_origin(_url(doc.get("inbox"), "inbox"), uri, "inbox")
    shared_inbox = _same_origin(_url(endpoints.get("sharedInbox"), "sharedInbox"), uri,
                                "sharedInbox")
    outbox = _same_origin(_url(doc.get("outbox"), "outbox"), uri, "outbox")
    followers = _same_origin(_url(doc.get("followers"), "followers"), uri, "followers")
    following = _same_origin(_url(doc.get("following"), "following"), uri, "following")
    display_name = _str(doc, "name", 255) or username
    summary = sanitize_html(_str(doc, "summary", 20_000))
    trade = _str(doc, "trade", 128) or None
    business_name = _str(doc, "businessName", 255) or None
    postal_code = _str(doc, "postalCode", 16) or None
    fields = []
    attachment = doc.get("attachment")
    for item in attachment if isinstance(attachment, list) else []:
        if isinstance(item, dict) and item.get("type") == "PropertyValue":
            name, value = item.get("name"), item.get("value")
            if isinstance(name, str) and isinstance(value, str) and len(fields) < 16:
                fields.append({"name": name[:255], "value": sanitize_html(value[:2048])})
    also_known_as = _uri_list(doc.get("alsoKnownAs"), MAX_ALIASES)
    moved = doc.get("movedTo")
    moved_to = http_url(moved.get("id") if isinstance(moved, dict) else moved)
    key = doc.get("publicKey")
    key_id: str | None = None
    pem: str | None = None
    if isinstance(key, dict) and isinstance(key.get("publicKeyPem"), str):
        key_id = key.get("id") if isinstance(key.get("id"), str) else None
        if key_id is not None and _origin(key_id) != _origin(uri):
            # As in public_key_of: a document speaks only for its own host's keys. keyId is
            # unique among actors, so a claimed foreign keyId would also be squatted.
            raise InvalidObject("publicKey.id is not on the actor's host")
        pem = key["publicKeyPem"]

    actor.uri = uri
    actor.username = username
    actor.domain = urlsplit(uri).netloc.lower()
    actor.type = doc["type"]
    actor.display_name = display_name
    actor.summary = summary
    actor.url = url
    actor.inbox = inbox
    actor.shared_inbox = shared_inbox
    actor.outbox = outbox
    actor.followers_url = followers
    actor.following_url = following
    actor.locked = bool(doc.get("manuallyApprovesFollowers", False))
    actor.discoverable = bool(doc.get("discoverable", False))
    actor.fields = fields[:16]
    actor.trade = trade
    actor.business_name = business_name
    actor.postal_code = postal_code
    if pem is not None:
        actor.key_id = key_id
        actor.public_key_pem = pem
    # Mastodon's toot:suspended: the actor's own hub suspended them; hide their posts here too.
    if doc.get("suspended") is True:
        actor.suspended_at = actor.suspended_at or utcnow()
    else:
        actor.suspended_at = None
    # Claims until checked: a movedTo counts only where the target lists this actor back
    # (fedi.services.moves.verified_move).
    actor.also_known_as = also_known_as or None
    actor.moved_to_uri = moved_to if moved_to != uri else None
    actor.raw = doc
    actor.fetched_at = utcnow()
    actor.updated_at = utcnow()
    return actor


def new_remote_actor(doc: dict[str, Any]) -> Actor:
    actor = Actor(id=new_id(), local=False, created_at=utcnow(), fields=[])
    return update_actor(actor, doc)
