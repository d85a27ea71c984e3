"""Remote ActivityPub JSON → models (validated, bounded, sanitised). One direction only."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import nh3

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor

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
    if not isinstance(value, str) or len(value) > 2048:
        raise InvalidObject(f"{key} must be a URL")
    if urlsplit(value).scheme not in ("http", "https"):
        raise InvalidObject(f"{key} must be an http(s) URL")
    return value


def sanitize_html(html: str) -> str:
    return nh3.clean(html, tags={"p", "br", "a", "span", "strong", "em", "ul", "ol", "li",
                                 "blockquote", "code", "pre", "h1", "h2", "h3", "h4"})


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
            return owner, pem
    raise InvalidObject(f"key {key_id} is not in the document")


def update_actor(actor: Actor, doc: dict[str, Any]) -> Actor:
    """Copy the fields we keep from a remote actor document onto a row."""
    if doc.get("type") not in ACTOR_TYPES:
        raise InvalidObject(f"type {doc.get('type')!r} is not an actor type")
    uri = doc["id"]
    username = _str(doc, "preferredUsername", 255)
    if not username:
        raise InvalidObject("preferredUsername is missing")
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    actor.uri = uri
    actor.username = username
    actor.domain = urlsplit(uri).netloc.lower()
    actor.type = doc["type"]
    actor.display_name = _str(doc, "name", 255) or username
    actor.summary = sanitize_html(_str(doc, "summary", 20_000))
    actor.url = _url(doc.get("url"), "url") if not isinstance(doc.get("url"), list) else None
    actor.inbox = _url(doc.get("inbox"), "inbox")
    actor.shared_inbox = _url(endpoints.get("sharedInbox"), "sharedInbox")
    actor.outbox = _url(doc.get("outbox"), "outbox")
    actor.followers_url = _url(doc.get("followers"), "followers")
    actor.following_url = _url(doc.get("following"), "following")
    actor.locked = bool(doc.get("manuallyApprovesFollowers", False))
    actor.discoverable = bool(doc.get("discoverable", False))
    fields = []
    for item in doc.get("attachment") or []:
        if isinstance(item, dict) and item.get("type") == "PropertyValue":
            name, value = item.get("name"), item.get("value")
            if isinstance(name, str) and isinstance(value, str):
                fields.append({"name": name[:255], "value": sanitize_html(value[:2048])})
    actor.fields = fields[:16]
    actor.trade = _str(doc, "trade", 128) or None
    actor.business_name = _str(doc, "businessName", 255) or None
    actor.postal_code = _str(doc, "postalCode", 16) or None
    key = doc.get("publicKey")
    if isinstance(key, dict) and isinstance(key.get("publicKeyPem"), str):
        actor.key_id = key.get("id") if isinstance(key.get("id"), str) else None
        actor.public_key_pem = key["publicKeyPem"]
    actor.raw = doc
    actor.fetched_at = utcnow()
    actor.updated_at = utcnow()
    return actor


def new_remote_actor(doc: dict[str, Any]) -> Actor:
    actor = Actor(id=new_id(), local=False, created_at=utcnow(), fields=[])
    return update_actor(actor, doc)
