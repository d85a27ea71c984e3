"""Block, Undo(Block), Flag (a report for the admins), Update(Person) (which also keeps the
directory listing of a linked hub's member current: ``fedi.services.mesh``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from fedi.convert.ap_to_model import InvalidObject, update_actor
from fedi.ids import new_id
from fedi.models import Actor, Block, Follow
from fedi.services import mesh
from fedi.services.reports import receive_flag
from fedi.vocab.parse import as_list, get_id
from fedi.vocab.safety import http_url
from inbox.dispatch import HandlerContext, handles, log


@handles("Block", None, "Person")
def handle_block(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    s = ctx.session
    target = s.scalar(select(Actor).where(Actor.uri == get_id(doc.get("object")), Actor.local))
    if target is None:
        return
    if not s.scalar(select(Block.id).where(Block.actor_id == ctx.actor.id,
                                           Block.target_id == target.id, Block.kind == "block")):
        s.add(Block(id=new_id(), kind="block", actor_id=ctx.actor.id, target_id=target.id,
                    uri=doc["id"]))
    s.execute(delete(Follow).where(
        ((Follow.follower_id == ctx.actor.id) & (Follow.followee_id == target.id))
        | ((Follow.follower_id == target.id) & (Follow.followee_id == ctx.actor.id))))


@handles("Undo", "Block")
def handle_undo_block(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    inner = doc["object"]
    ctx.session.execute(delete(Block).where(Block.actor_id == ctx.actor.id,
                                            Block.uri == get_id(inner)))


@handles("Flag", None, "*")
def handle_flag(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    """A report from another hub about one of our members (and their posts), kept for our
    moderators and attributed to the sending hub; a Flag naming nothing of ours is dropped."""
    objects = [o for o in (http_url(get_id(v)) for v in as_list(doc.get("object"))[:60]) if o]
    content = doc.get("content")
    row = receive_flag(ctx.session, ctx.actor, doc["id"], objects,
                       content if isinstance(content, str) else "")
    if row is None:
        log.info("Flag %s from %s names nothing of this hub: dropped", doc["id"], ctx.actor.uri)


@handles("Update", "Person", "Service", "Application")
def handle_update_person(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    obj = doc["object"]
    if obj.get("id") != ctx.actor.uri:
        return
    try:
        update_actor(ctx.actor, obj)
    except InvalidObject as exc:
        log.info("Update(Person) from %s refused: %s", ctx.actor.uri, exc)
        return
    if obj.get("type") == "Person":
        # A member of a linked hub joined, changed or left: the directory follows at once.
        mesh.apply_pushed_member(ctx.session, ctx.publish.settings, ctx.actor, obj)
