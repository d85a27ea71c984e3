"""Poll → the Mastodon ``Poll`` entity (client-api.md §2.7). One direction, no database."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fedi.convert.model_to_api import iso
from fedi.models import Poll


def poll(row: Poll, counts: list[int], voters_count: int | None, *, now: datetime,
         own_votes: list[int] | None, is_author: bool) -> dict[str, Any]:
    """``votes_count`` of each option is null while totals are hidden and the poll runs,
    except for its author (as Mastodon does); ``voted``/``own_votes`` only with a viewer."""
    expired = row.expires_at is not None and row.expires_at <= now
    hidden = bool(row.hide_totals) and not expired and not is_author
    entity: dict[str, Any] = {
        "id": str(row.id),
        "expires_at": iso(row.expires_at) if row.expires_at else None,
        "expired": expired,
        "multiple": bool(row.multiple),
        "votes_count": sum(counts),
        "voters_count": voters_count,
        "options": [{"title": title,
                     "votes_count": None if hidden else (counts[i] if i < len(counts) else 0)}
                    for i, title in enumerate(row.options)],
        "emojis": [],
    }
    if own_votes is not None:
        entity["voted"] = bool(own_votes) or is_author
        entity["own_votes"] = sorted(set(own_votes))
    return entity
