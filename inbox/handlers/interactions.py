"""Like, Announce and their Undo. A boost never widens an audience."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from fedi.ids import new_id
from fedi.models import Interaction, Status
from fedi.services.visibility import can_see
from fedi.vocab.parse import get_id
from inbox.dispatch import HandlerContext, handles, log
from outbox.fanout import notify


def _local_status(ctx: HandlerContext, doc: dict[str, Any]) -> Status | None:
    uri = get_id(doc.get("object"))
    status = ctx.session.scalar(select(Status).where(Status.uri == uri, Status.local))
    if status is None or not can_see(ctx.session, ctx.actor, status,
                                     is_linked=lambda d: d in ctx.publish.linked_domains()):
        return None
    return status


def _record(ctx: HandlerContext, doc: dict[str, Any], kind: str, note: str) -> None:
    status = _local_status(ctx, doc)
    if status is None:
        log.info("%s of a status %s cannot see dropped", doc["type"], ctx.actor.uri)
        return
    if kind == "announce" and status.visibility in ("followers", "direct"):
        log.info("Announce of a %s status refused", status.visibility)
        return
    s = ctx.session
    if s.scalar(select(Interaction.id).where(Interaction.actor_id == ctx.actor.id,
                                             Interaction.status_id == status.id,
                                             Interaction.kind == kind)):
        return
    if s.scalar(select(Interaction.id).where(Interaction.uri == doc["id"])):
        log.info("%s %s reuses a known activity id: dropped", doc["type"], doc["id"])
        return  # another actor's id (unique): never overwritten, and no retry loop
    s.add(Interaction(id=new_id(), kind=kind, actor_id=ctx.actor.id, status_id=status.id,
                      uri=doc["id"]))
    notify(s, status.actor_id, note, ctx.actor.id, status.id)


@handles("Like", None, "Note", "Article")
def handle_like(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    _record(ctx, doc, "like", "favourite")


@handles("Announce", None, "Note", "Article")
def handle_announce(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    _record(ctx, doc, "announce", "reblog")


@handles("Undo", "Like", "Announce")
def handle_undo_interaction(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    inner = get_id(doc.get("object"))
    ctx.session.execute(delete(Interaction).where(Interaction.uri == inner,
                                                  Interaction.actor_id == ctx.actor.id))
