"""Announcement → Mastodon's ``Announcement`` entity
(https://docs.joinmastodon.org/entities/Announcement/)."""

from __future__ import annotations

from typing import Any

from fedi.convert.model_to_api import iso, iso_date_midnight
from fedi.models import Announcement


def announcement_entity(row: Announcement, read: bool) -> dict[str, Any]:
    """Mentions, linked statuses, tags, custom emojis and reactions are not used by this
    hub's announcements: always empty lists, as Mastodon sends when there are none."""
    moment = iso_date_midnight if row.all_day else iso
    published = row.published_at or row.created_at
    return {
        "id": str(row.id),
        "content": row.content_html,
        "starts_at": moment(row.starts_at) if row.starts_at else None,
        "ends_at": moment(row.ends_at) if row.ends_at else None,
        "all_day": bool(row.all_day),
        "published_at": iso(published),
        "updated_at": iso(row.updated_at),
        "read": read,
        "mentions": [],
        "statuses": [],
        "tags": [],
        "emojis": [],
        "reactions": [],
    }
