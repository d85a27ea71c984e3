"""Models → ActivityPub documents (one direction only)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Any

from fedi.config import Settings
from fedi.ids import Urls
from fedi.models import Actor, Status
from fedi.vocab.context import ACTOR_CONTEXT, AS, SECURITY
from fedi.vocab.safety import tag_url


def _field_value(value: str) -> str:
    if value.startswith(("https://", "http://")):
        href = escape(value, quote=True)
        text = escape(value.split("://", 1)[1].rstrip("/"))
        return f'<a href="{href}" rel="me nofollow noopener noreferrer" target="_blank">{text}</a>'
    return escape(value)


def person(actor: Actor, urls: Urls) -> dict[str, Any]:
    """A member as a Mastodon-shaped ``Person`` (served to linked hubs only)."""
    attachment = [
        {"type": "PropertyValue", "name": f["name"], "value": _field_value(f["value"])}
        for f in (actor.fields or [])
    ]
    doc: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": actor.uri,
        "type": "Person",
        "following": urls.following(actor.username),
        "followers": urls.followers(actor.username),
        "inbox": urls.inbox(actor.username),
        "outbox": urls.outbox(actor.username),
        "featured": f"{actor.uri}/collections/featured",
        "preferredUsername": actor.username,
        "name": actor.display_name or actor.username,
        "summary": actor.summary or "",
        "url": urls.profile(actor.username),
        "manuallyApprovesFollowers": True,
        "discoverable": bool(actor.discoverable),
        "indexable": False,
        "published": actor.created_at.strftime("%Y-%m-%dT00:00:00Z"),
        "publicKey": {
            "id": urls.key_id(actor.uri),
            "owner": actor.uri,
            "publicKeyPem": actor.public_key_pem,
        },
        "tag": [],
        "attachment": attachment,
        "endpoints": {"sharedInbox": urls.shared_inbox},
    }
    if actor.trade:
        doc["trade"] = actor.trade
    if actor.business_name:
        doc["businessName"] = actor.business_name
    if actor.postal_code:
        doc["postalCode"] = actor.postal_code
    if actor.suspended_at is not None:
        doc["suspended"] = True  # Mastodon's toot:suspended (FEDERATION.md, "Suspension")
    if actor.also_known_as:
        doc["alsoKnownAs"] = list(actor.also_known_as)  # FEDERATION.md, "Moving to another hub"
    if actor.moved_to_uri:
        doc["movedTo"] = actor.moved_to_uri
    return doc


def instance_actor(actor: Actor, urls: Urls, settings: Settings) -> dict[str, Any]:
    """The hub's ``Application`` actor at ``/actor``: unsigned fetches may read it."""
    return {
        "@context": ACTOR_CONTEXT,
        "id": urls.instance_actor,
        "type": "Application",
        "preferredUsername": settings.domain.split(":")[0],
        "name": settings.name,
        "inbox": f"{urls.instance_actor}/inbox",
        "outbox": f"{urls.instance_actor}/outbox",
        "url": f"{urls.base}/about",
        "manuallyApprovesFollowers": True,
        "publicKey": {
            "id": urls.key_id(urls.instance_actor),
            "owner": urls.instance_actor,
            "publicKeyPem": actor.public_key_pem,
        },
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "territory": list(settings.territory),
        "members": urls.members,
    }


def ordered_collection(
    collection_id: str, items: list[Any] | None = None, total: int | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": [AS, SECURITY],
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": len(items or []) if total is None else total,
    }
    if items is not None:
        doc["orderedItems"] = items
    return doc


def iso(dt_value: datetime) -> str:
    return dt_value.strftime("%Y-%m-%dT%H:%M:%SZ")


def note(status: Status, author: Actor, mentions: list[Actor],
         tags: Sequence[str] = ()) -> dict[str, Any]:
    """A local status as a ``Note`` (or ``Article``) addressed as it was first sent."""
    doc: dict[str, Any] = {
        "id": status.uri,
        "type": status.type,
        "attributedTo": author.uri,
        "content": status.content,
        "published": iso(status.created_at),
        "to": list(status.recipients.get("to", [])),
        "cc": list(status.recipients.get("cc", [])),
        "url": status.url or status.uri,
        "sensitive": bool(status.sensitive),
        "inReplyTo": status.in_reply_to_uri,
        "tag": [{"type": "Mention", "href": m.uri, "name": f"@{m.username}@{m.domain}"}
                for m in mentions],
    }
    if tags:
        base = author.uri.split("/users/", 1)[0]
        doc["tag"] += [{"type": "Hashtag", "href": tag_url(base, t), "name": f"#{t}"}
                       for t in tags]
    if status.spoiler_text:
        doc["summary"] = status.spoiler_text
    if status.title:
        doc["name"] = status.title
    if status.source is not None and status.type == "Article":
        doc["source"] = {"content": status.source, "mediaType": "text/markdown"}
    if status.language:
        doc["contentMap"] = {status.language: status.content}
    if status.edited_at:
        doc["updated"] = iso(status.edited_at)
    return doc


def tombstone(uri: str) -> dict[str, Any]:
    return {"id": uri, "type": "Tombstone"}
