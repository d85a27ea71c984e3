"""Profile changes of a local member, published as ``Update(Person)`` to their followers
and linked hubs."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from fedi.convert.model_to_ap import person
from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor
from fedi.services.posting import render_text
from fedi.vocab import build
from outbox.context import PublishContext
from outbox.publish import publish

POSTAL_RE = re.compile(r"^\d{5}$")
MAX_FIELDS = 4


class ProfileError(ValueError):
    """A profile change was refused; the message says why (422 in the API)."""


@dataclass(frozen=True)
class ProfileChanges:
    """Only the fields that are not None change; an empty string clears an optional one."""

    display_name: str | None = None
    note: str | None = None
    fields: list[tuple[str, str]] | None = None
    discoverable: bool | None = None
    trade: str | None = None
    business_name: str | None = None
    postal_code: str | None = None
    website: str | None = None


def _bounded(value: str, limit: int, name: str) -> str:
    value = value.strip()
    if len(value) > limit:
        raise ProfileError(f"{name} is over {limit} characters")
    return value


def apply_changes(actor: Actor, changes: ProfileChanges) -> None:
    """Validate everything first, then change the row (nothing changes on error)."""
    updates: dict[str, object] = {}
    if changes.display_name is not None:
        updates["display_name"] = _bounded(changes.display_name, 100, "display_name")
    if changes.note is not None:
        note = _bounded(changes.note, 1000, "note")
        updates["summary"] = render_text(note, []) if note else ""
    if changes.fields is not None:
        if len(changes.fields) > MAX_FIELDS:
            raise ProfileError(f"at most {MAX_FIELDS} profile fields")
        updates["fields"] = [{"name": _bounded(n, 255, "field name"),
                              "value": _bounded(v, 255, "field value")}
                             for n, v in changes.fields if n.strip() or v.strip()]
    if changes.discoverable is not None:
        updates["discoverable"] = changes.discoverable
    if changes.trade is not None:
        updates["trade"] = _bounded(changes.trade, 128, "trade") or None
    if changes.business_name is not None:
        updates["business_name"] = _bounded(changes.business_name, 255, "business_name") or None
    if changes.postal_code is not None:
        code = changes.postal_code.strip()
        if code and not POSTAL_RE.match(code):
            raise ProfileError("postal_code must be 5 digits")
        updates["postal_code"] = code or None
    if changes.website is not None:
        site = _bounded(changes.website, 2048, "website")
        if site and not site.startswith(("https://", "http://")):
            raise ProfileError("website must start with https:// or http://")
        updates["website"] = site or None
    for key, value in updates.items():
        setattr(actor, key, value)


def update_profile(session: Session, ctx: PublishContext, actor: Actor,
                   changes: ProfileChanges) -> Actor:
    """Change a local member's profile and send ``Update(Person)``."""
    if not actor.local:
        raise ProfileError("only local members have a profile here")
    apply_changes(actor, changes)
    actor.updated_at = utcnow()
    session.flush()
    doc = {k: v for k, v in person(actor, ctx.urls).items() if k != "@context"}
    linked = sorted(d for d in ctx.linked_domains() if d != ctx.settings.domain)
    update = build.activity("Update", f"{actor.uri}#updates/{new_id()}", actor.uri, doc,
                            to=[actor.followers_url or ""],
                            cc=[ctx.members_collection(d) for d in linked])
    publish(session, ctx, actor, update)
    return actor
