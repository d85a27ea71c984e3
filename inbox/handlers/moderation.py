"""Block, Undo(Block), Flag (a report for the admins), Update(Person) (which also keeps the
directory listing of a linked hub's member current: ``fedi.services.mesh``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select

from fedi.convert.ap_to_model import InvalidObject, update_actor
from fedi.ids import new_id
from fedi.models import Actor, Block, Follow, Report
from fedi.services import mesh
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
    s = ctx.session
    objects = [o for o in (http_url(get_id(v)) for v in as_list(doc.get("object"))[:50]) if o]
    target = s.scalar(select(Actor).where(Actor.uri.in_(objects), Actor.local))
    content = doc.get("content")
    s.add(Report(id=new_id(), uri=doc["id"], reporter_uri=ctx.actor.uri,
                 target_actor_id=target.id if target else None,
                 status_uris=[o for o in objects if target is None or o != target.uri],
                 comment=content[:5000] if isinstance(content, str) else ""))


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
