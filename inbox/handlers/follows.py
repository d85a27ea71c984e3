"""Follow, Accept(Follow), Reject(Follow), Undo(Follow)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from fedi.ids import new_id
from fedi.models import Actor, Follow
from fedi.services import moves
from fedi.services.relationships import accept_follow
from fedi.vocab.parse import get_id
from inbox.dispatch import HandlerContext, handles, log
from outbox.fanout import notify


@handles("Follow", None, "Person")
def handle_follow(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    """A follow request for a local member: every member approves followers by hand."""
    target_uri = get_id(doc.get("object"))
    s = ctx.session
    target = s.scalar(select(Actor).where(Actor.uri == target_uri, Actor.local,
                                          Actor.type == "Person", Actor.deleted_at.is_(None)))
    if target is None:
        log.info("Follow of unknown local actor %s dropped", target_uri)
        return
    existing = s.scalar(select(Follow).where(Follow.follower_id == ctx.actor.id,
                                             Follow.followee_id == target.id))
    if existing is not None:
        existing.uri = doc["id"]
        if existing.state == "requested" and moves.followed_before(s, target, ctx.actor):
            accept_follow(s, ctx.publish, target, ctx.actor)
        return
    s.add(Follow(id=new_id(), follower_id=ctx.actor.id, followee_id=target.id, uri=doc["id"],
                 state="requested"))
    if moves.followed_before(s, target, ctx.actor):
        # They followed the account that moved here: approved at once (as Mastodon's
        # MoveWorker has the old account's followers follow the new one).
        s.flush()
        accept_follow(s, ctx.publish, target, ctx.actor)
        return
    notify(s, target.id, "follow_request", ctx.actor.id)


def _our_follow(ctx: HandlerContext, doc: dict[str, Any]) -> Follow | None:
    """The Follow of ours that an Accept/Reject answers, by id or by (follower, followee)."""
    obj = doc.get("object")
    s = ctx.session
    follow_id = get_id(obj)
    row = None
    if follow_id:
        row = s.scalar(select(Follow).where(Follow.uri == follow_id,
                                            Follow.followee_id == ctx.actor.id))
    if row is None and isinstance(obj, dict):
        follower = s.scalar(select(Actor).where(Actor.uri == get_id(obj.get("actor")),
                                                Actor.local))
        if follower is not None:
            row = s.scalar(select(Follow).where(Follow.follower_id == follower.id,
                                                Follow.followee_id == ctx.actor.id))
    return row


@handles("Accept", None, "Follow")
def handle_accept_follow(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    row = _our_follow(ctx, doc)
    if row is None:
        log.info("Accept of an unknown Follow from %s dropped", ctx.actor.uri)
        return
    row.state = "accepted"


@handles("Reject", None, "Follow")
def handle_reject_follow(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    row = _our_follow(ctx, doc)
    if row is not None:
        ctx.session.delete(row)


@handles("Undo", "Follow")
def handle_undo_follow(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    obj = doc["object"]
    target = ctx.session.scalar(select(Actor).where(Actor.uri == get_id(obj.get("object")),
                                                    Actor.local))
    if target is None:
        return
    ctx.session.execute(delete(Follow).where(Follow.follower_id == ctx.actor.id,
                                             Follow.followee_id == target.id))
