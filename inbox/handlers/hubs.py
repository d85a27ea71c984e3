"""Follow, Accept, Reject and Undo between hubs' instance actors (the link protocol), and
Add/Remove of a hub to a linked hub's links collection.

A member's follow and a hub's link use the same activity types, so these handlers take the
(Follow, Accept, Reject, Undo) entries of the dispatch table and pass every activity that is
not between two ``/actor``s to the member handlers of ``inbox.handlers.follows``. This module
is imported after ``follows`` so that its registrations are the ones in the table.
"""

from __future__ import annotations

from typing import Any

from fedi.services import neighbours
from fedi.vocab.parse import get_id
from inbox.dispatch import HandlerContext, handles, log
from inbox.handlers import follows


def _from_hub(ctx: HandlerContext) -> bool:
    return ctx.actor.type == "Application" and neighbours.is_hub_actor(ctx.publish, ctx.actor.uri)


def _ours(ctx: HandlerContext, uri: str | None) -> bool:
    return uri == ctx.publish.urls.instance_actor


@handles("Follow", None, "Person", "Application")
def handle_follow(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    if not (_from_hub(ctx) and _ours(ctx, get_id(doc.get("object")))):
        follows.handle_follow(ctx, doc)
        return
    outcome = neighbours.receive_follow(ctx.session, ctx.publish, ctx.actor, doc)
    log.info("link request from %s: %s", ctx.actor.domain, outcome)


def _answers_our_follow(ctx: HandlerContext, doc: dict[str, Any]) -> bool:
    inner = doc.get("object")
    if isinstance(inner, dict):
        return _ours(ctx, get_id(inner.get("actor")))
    follow_id = get_id(inner) or ""
    return follow_id.startswith(ctx.publish.urls.instance_actor + "/follows/")


@handles("Accept", None, "Follow")
def handle_accept(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    if not (_from_hub(ctx) and _answers_our_follow(ctx, doc)):
        follows.handle_accept_follow(ctx, doc)
        return
    if not neighbours.receive_accept(ctx.session, ctx.publish, ctx.actor, doc):
        log.info("Accept from %s matches no link request of ours", ctx.actor.domain)


@handles("Reject", None, "Follow")
def handle_reject(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    if not (_from_hub(ctx) and _answers_our_follow(ctx, doc)):
        follows.handle_reject_follow(ctx, doc)
        return
    neighbours.receive_end(ctx.session, ctx.publish, ctx.actor, "rejected")


@handles("Undo", "Follow")
def handle_undo(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    inner = doc["object"]
    if not (_from_hub(ctx) and get_id(inner.get("actor")) == ctx.actor.uri
            and _ours(ctx, get_id(inner.get("object")))):
        follows.handle_undo_follow(ctx, doc)
        return
    neighbours.receive_end(ctx.session, ctx.publish, ctx.actor, "unlinked")


@handles("Add", "Application")
@handles("Remove", "Application")
def handle_links_changed(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    if _from_hub(ctx) and get_id(doc.get("target")) == f"{ctx.actor.uri}/links":
        neighbours.links_changed(ctx.session, ctx.actor)
