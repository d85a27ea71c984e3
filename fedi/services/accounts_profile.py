"""Profile changes of a local member, published as ``Update(Person)`` to their followers
and linked hubs.

The neighbourhood rules of sign-up hold for every later change: the postal code stays in
the hub's territory and the trade in the hub's list, free under the trade rule (keeping
one's own trade is fine). Those checks are sign-up's own (``fedi.services.registration``)
and raise its ``RegistrationError``, with the same messages in French and English.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from fedi.config import Settings
from fedi.convert.model_to_ap import person
from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor
from fedi.services.media import with_profile_images
from fedi.services.posting import render_text
from fedi.services.registration import check_postal_code, check_trade, trade_taken
from fedi.services.trades import TradeTaken
from fedi.vocab import build
from outbox.context import PublishContext
from outbox.publish import publish

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
    hide_collections: bool | None = None


def _bounded(value: str, limit: int, name: str) -> str:
    value = value.strip()
    if len(value) > limit:
        raise ProfileError(f"{name} is over {limit} characters")
    return value


def apply_changes(session: Session, settings: Settings, actor: Actor,
                  changes: ProfileChanges) -> None:
    """Validate everything first, then change the row (nothing changes on error).

    Raises ProfileError, or RegistrationError for the neighbourhood rules."""
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
    if changes.business_name is not None:
        updates["business_name"] = _bounded(changes.business_name, 255, "business_name") or None
    if changes.postal_code is not None:
        code = changes.postal_code.strip()
        check_postal_code(settings, code)
        updates["postal_code"] = code
    if changes.trade is not None:
        try:
            updates["trade"] = check_trade(session, changes.trade.strip(), actor=actor).slug
        except TradeTaken as exc:
            raise trade_taken(exc) from None
    if changes.website is not None:
        site = _bounded(changes.website, 2048, "website")
        if site and not site.startswith(("https://", "http://")):
            raise ProfileError("website must start with https:// or http://")
        updates["website"] = site or None
    if changes.hide_collections is not None:
        updates["hide_collections"] = changes.hide_collections
    for key, value in updates.items():
        setattr(actor, key, value)


def update_profile(session: Session, ctx: PublishContext, actor: Actor,
                   changes: ProfileChanges) -> Actor:
    """Change a local member's profile and send ``Update(Person)``."""
    if not actor.local:
        raise ProfileError("only local members have a profile here")
    apply_changes(session, ctx.settings, actor, changes)
    announce_profile(session, ctx, actor)
    return actor


def announce_profile(session: Session, ctx: PublishContext, actor: Actor) -> None:
    """Send the member's current ``Person`` as an ``Update`` to their followers and to the
    linked hubs (a profile change, a suspension, a reinstatement)."""
    actor.updated_at = utcnow()
    session.flush()
    doc = {k: v for k, v in person(actor, ctx.urls).items() if k != "@context"}
    with_profile_images(session, doc, actor, ctx.urls.base)
    linked = sorted(d for d in ctx.linked_domains() if d != ctx.settings.domain)
    update = build.activity("Update", f"{actor.uri}#updates/{new_id()}", actor.uri, doc,
                            to=[actor.followers_url or ""],
                            cc=[ctx.members_collection(d) for d in linked])
    publish(session, ctx, actor, update)


def announce_new_member(session: Session, ctx: PublishContext, actor_id: int) -> None:
    """A member just joined: their ``Person`` goes to the linked hubs at once (an ``Update``
    addressed to each one's ``/members``, as for a profile change), so that their directories
    list the member now rather than at their next sync of our ``/members``."""
    actor = session.get(Actor, actor_id)
    if actor is None or not actor.discoverable:
        return
    if any(d != ctx.settings.domain for d in ctx.linked_domains()):
        announce_profile(session, ctx, actor)
