"""Models → Mastodon client API entities (one direction only, no database).

Field lists follow client-api.md §2: every key strict clients (Tusky, Ice Cubes, toot)
require is present, ids are strings, dates are ``2026-01-01T12:00:00.000Z``.
The loading of what an entity needs (counts, viewer flags) happens in ``fedi.api.entities``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any

from fedi import __version__
from fedi.convert.articles import preview_html
from fedi.models import Actor, Notification, OAuthApp, Status
from fedi.vocab.safety import hashtag_name, http_url, tag_url

MASTODON_VERSION = f"4.2.0 (compatible; Voisins {__version__})"
MAX_CHARACTERS = 5000
# Our audiences (DESIGN.md) ↔ Mastodon visibilities.
TO_API = {"neighbourhood": "public", "hub": "unlisted", "followers": "private", "direct": "direct"}
FROM_API = {"public": "neighbourhood", "unlisted": "hub", "local": "hub", "private": "followers",
            "direct": "direct"}
NOTIFICATION_TYPES = ("mention", "status", "reblog", "follow", "follow_request", "favourite",
                      "poll", "update")
_TAG_RE = re.compile(r"<[^>]+>")


def iso(value: datetime) -> str:
    """``2026-01-01T12:00:00.000Z``: Ice Cubes reads exactly this shape (client-api.md §6)."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def iso_date_midnight(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT00:00:00.000Z")


def date_of_id(status_id: int) -> str:
    """The day an id was made (ids are milliseconds << 16)."""
    moment = datetime.fromtimestamp((status_id >> 16) / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%d")


def api_visibility(visibility: str) -> str:
    return TO_API.get(visibility, "private")


def audience_of(api_value: str | None, *, local_only: bool, default: str) -> str:
    """The audience for a requested Mastodon visibility; ``local_only`` narrows to the hub."""
    chosen = FROM_API.get(api_value or "", FROM_API.get(default, "followers"))
    if local_only and chosen == "neighbourhood":
        return "hub"
    return chosen


def plain_text(html: str) -> str:
    text = html.replace("<br>", "\n").replace("</p><p>", "\n\n")
    return _TAG_RE.sub("", text).replace("&lt;", "<").replace("&gt;", ">").replace(
        "&quot;", '"').replace("&#x27;", "'").replace("&amp;", "&")


def field_html(value: str) -> str:
    if value.startswith(("https://", "http://")) and " " not in value:
        href = escape(value, quote=True)
        text = escape(value.split("://", 1)[1].rstrip("/"))
        return f'<a href="{href}" rel="me nofollow noopener noreferrer" target="_blank">{text}</a>'
    return escape(value)


@dataclass(frozen=True)
class AccountStats:
    followers: int = 0
    following: int = 0
    statuses: int = 0
    last_status_id: int | None = None


def profile_fields(actor: Actor, *, french: bool = True,
                   trade_label: str | None = None) -> list[dict[str, Any]]:
    """The member's own fields, after the structured ones of the profile card (the trade by
    its label, « Plombier·ère », when it is one of ours, never by its internal key)."""
    labels = (("Métier / Trade", trade_label or actor.trade), ("Entreprise / Business", actor.business_name),
              ("Code postal / Postal code", actor.postal_code), ("Site / Website", actor.website))
    out = [{"name": name, "value": field_html(value), "verified_at": None}
           for name, value in labels if value]
    for item in actor.fields or []:
        if isinstance(item, dict):
            value = str(item.get("value", ""))
            out.append({"name": str(item.get("name", "")),
                        "value": field_html(value) if actor.local else value,
                        "verified_at": None})
    return out


def account(actor: Actor, stats: AccountStats, *, base: str, local_domain: str,
            trade_label: str | None = None) -> dict[str, Any]:
    acct = actor.username if actor.domain == local_domain else f"{actor.username}@{actor.domain}"
    avatar = f"{base}/media/missing.png"
    return {
        "id": str(actor.id),
        "username": actor.username,
        "acct": acct,
        "url": http_url(actor.url) or actor.uri,
        "uri": actor.uri,
        "display_name": actor.display_name or "",
        "note": actor.summary or "",
        "avatar": avatar,
        "avatar_static": avatar,
        "header": avatar,
        "header_static": avatar,
        "locked": bool(actor.locked or actor.local),
        "bot": actor.type in ("Service", "Application"),
        "group": actor.type == "Group",
        "discoverable": bool(actor.discoverable),
        "indexable": False,
        "noindex": True,
        "hide_collections": bool(actor.hide_collections),
        "created_at": iso_date_midnight(actor.created_at),
        "last_status_at": date_of_id(stats.last_status_id) if stats.last_status_id else None,
        "statuses_count": stats.statuses,
        "followers_count": stats.followers,
        "following_count": stats.following,
        "emojis": [],
        "fields": profile_fields(actor, trade_label=trade_label),
        "roles": [],
        # Voisins extensions (ignored by apps): the structured profile card.
        "trade": actor.trade,
        "trade_label": trade_label or actor.trade,
        "business_name": actor.business_name,
        "postal_code": actor.postal_code,
        "website": actor.website,
    }


def credential_account(entity: dict[str, Any], actor: Actor, *, privacy: str, sensitive: bool,
                       language: str | None, note_source: str, follow_requests: int,
                       role: str) -> dict[str, Any]:
    entity = dict(entity)
    entity["source"] = {
        "privacy": privacy,
        "sensitive": sensitive,
        "language": language,
        "note": note_source,
        "fields": [{"name": str(f.get("name", "")), "value": str(f.get("value", "")),
                    "verified_at": None} for f in (actor.fields or []) if isinstance(f, dict)],
        "follow_requests_count": follow_requests,
        "indexable": False,
        "discoverable": bool(actor.discoverable),
        "hide_collections": bool(actor.hide_collections),
        "attribution_domains": [],
    }
    entity["role"] = {"id": {"admin": "3", "moderator": "2"}.get(role, "-99"),
                      "name": role if role in ("admin", "moderator") else "",
                      "permissions": "0", "color": "", "highlighted": role != "member"}
    return entity


@dataclass
class StatusExtras:
    """What a status entity needs besides its row: mentioned actors, tags, counts, and the
    viewer's own interactions with it."""

    mentions: list[Any] = field(default_factory=list)  # Actor rows: id, username, domain, url, uri
    tags: list[str] = field(default_factory=list)
    replies: int = 0
    favourites: int = 0
    reblogs: int = 0
    favourited: bool = False
    reblogged: bool = False
    bookmarked: bool = False
    pinned: bool = False
    in_reply_to_account_id: int | None = None


def status(row: Status, author: dict[str, Any], extras: StatusExtras, *, base: str,
           local_domain: str, reblog: dict[str, Any] | None = None,
           with_text: bool = False) -> dict[str, Any]:
    content = row.content or ""
    if row.type == "Article":
        content = preview_html(row.title, content, row.url or row.uri)
    elif row.title:
        content = f"<p><strong>{escape(row.title)}</strong></p>{content}"
    entity: dict[str, Any] = {
        "id": str(row.id),
        "uri": row.uri,
        # Checked again here (defence in depth): never a non-http(s) URL to an app, even
        # from a row stored before the rule (fedi.vocab.safety).
        "url": None if row.reblog_of_id else (http_url(row.url) or row.uri),
        "created_at": iso(row.created_at),
        "account": author,
        "content": "" if reblog is not None else content,
        "visibility": api_visibility(row.visibility),
        "local_only": row.visibility == "hub",
        "sensitive": bool(row.sensitive),
        "spoiler_text": row.spoiler_text or "",
        "media_attachments": [],
        "application": None,
        "mentions": [{"id": str(m.id), "username": m.username,
                      "url": http_url(m.url) or m.uri,
                      "acct": m.username if m.domain == local_domain
                      else f"{m.username}@{m.domain}"} for m in extras.mentions],
        "tags": [{"name": t, "url": tag_url(base, t)} for t in extras.tags
                 if hashtag_name(t) == t],
        "emojis": [],
        "reblogs_count": extras.reblogs,
        "favourites_count": extras.favourites,
        "replies_count": extras.replies,
        "in_reply_to_id": str(row.in_reply_to_id) if row.in_reply_to_id else None,
        "in_reply_to_account_id": (str(extras.in_reply_to_account_id)
                                   if extras.in_reply_to_account_id else None),
        "reblog": reblog,
        "poll": None,
        "card": None,
        "language": row.language,
        "edited_at": iso(row.edited_at) if row.edited_at else None,
        "favourited": extras.favourited,
        "reblogged": extras.reblogged,
        "muted": False,
        "bookmarked": extras.bookmarked,
        "pinned": extras.pinned,
        "filtered": [],
    }
    if with_text:
        entity["text"] = row.source if row.source is not None else plain_text(row.content)
    return entity


def status_edit(content: str, spoiler_text: str, sensitive: bool, created_at: datetime,
                author: dict[str, Any]) -> dict[str, Any]:
    return {"content": content, "spoiler_text": spoiler_text, "sensitive": sensitive,
            "created_at": iso(created_at), "account": author, "poll": None,
            "media_attachments": [], "emojis": []}


# Mastodon 4.3's grouped notifications: favourites and boosts of one status, and follows,
# within a 12-hour span share a group; every other notification is its own group.
GROUPABLE_NOTIFICATIONS = frozenset({"favourite", "reblog", "follow"})
GROUP_SPAN_HOURS = 12


def notification_group_key(row: Notification,
                           grouped: frozenset[str] = GROUPABLE_NOTIFICATIONS) -> str:
    """``<type>-<status id>-<hour bucket>`` (``follow--<bucket>``) or ``ungrouped-<id>``."""
    if row.type not in grouped or row.type not in GROUPABLE_NOTIFICATIONS:
        return f"ungrouped-{row.id}"
    hours = int(row.created_at.timestamp()) // 3600
    return f"{row.type}-{row.status_id or ''}-{hours - hours % GROUP_SPAN_HOURS}"


def notification(row: Notification, from_account: dict[str, Any],
                 status_entity: dict[str, Any] | None) -> dict[str, Any]:
    return {"id": str(row.id), "type": row.type, "created_at": iso(row.created_at),
            "account": from_account, "status": status_entity,
            "group_key": notification_group_key(row)}


def relationship(target_id: int, *, following: bool, requested: bool, followed_by: bool,
                 requested_by: bool, blocking: bool, blocked_by: bool, muting: bool,
                 notifying: bool = False) -> dict[str, Any]:
    return {"id": str(target_id), "following": following, "showing_reblogs": following,
            "notifying": notifying, "languages": None, "followed_by": followed_by,
            "blocking": blocking, "blocked_by": blocked_by, "muting": muting,
            "muting_notifications": muting, "requested": requested,
            "requested_by": requested_by, "domain_blocking": False, "endorsed": False,
            "note": ""}


def application(app: OAuthApp, *, with_secret: bool) -> dict[str, Any]:
    uris = app.redirect_uris.split("\n") if app.redirect_uris else []
    entity: dict[str, Any] = {
        "id": str(app.id), "name": app.name, "website": app.website,
        "scopes": app.scopes.split(), "redirect_uri": "\n".join(uris), "redirect_uris": uris,
        "vapid_key": "",
    }
    if with_secret:
        entity.update(client_id=app.client_id, client_secret=app.client_secret,
                      client_secret_expires_at=0)
    return entity


def conversation(root_id: int, accounts: list[dict[str, Any]], last: dict[str, Any] | None,
                 unread: bool) -> dict[str, Any]:
    return {"id": str(root_id), "unread": unread, "accounts": accounts, "last_status": last}


def marker(last_read_id: str, version: int, updated_at: datetime) -> dict[str, Any]:
    return {"last_read_id": last_read_id, "version": version, "updated_at": iso(updated_at)}


def tag(name: str, *, base: str, following: bool = False) -> dict[str, Any]:
    return {"name": name, "url": tag_url(base, name), "history": [], "following": following}
