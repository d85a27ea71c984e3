"""Favourite, boost, bookmark, pin, block and mute: local rows, notifications, and the
Like/Announce/Block activities (and their Undo) for other hubs.

A boost never widens an audience (DESIGN.md): a followers-only post can be boosted only by
its author, to the same followers (as Mastodon does); a direct post never; a hub or
neighbourhood post is boosted to that same audience.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from fedi.convert.model_to_ap import iso
from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, Block, Follow, Interaction, Status, TimelineEntry
from fedi.services.posting import addressing
from fedi.services.relationships import reject_follow, unfollow
from fedi.vocab import build
from outbox.context import PublishContext
from outbox.fanout import fan_out_status, notify
from outbox.publish import publish

MAX_PINS = 5


class InteractionError(ValueError):
    """The action is not allowed on this status or account (422 in the API)."""


def _find(session: Session, actor: Actor, status: Status, kind: str) -> Interaction | None:
    return session.scalar(select(Interaction).where(
        Interaction.actor_id == actor.id, Interaction.status_id == status.id,
        Interaction.kind == kind))


def _author(session: Session, status: Status) -> Actor:
    author = session.get(Actor, status.actor_id)
    assert author is not None
    return author


def _send_to_author(session: Session, ctx: PublishContext, actor: Actor, status: Status,
                    doc: dict[str, Any]) -> None:
    author = _author(session, status)
    if not author.local and status.visibility != "hub":
        publish(session, ctx, actor, doc, extra_recipients=[author.uri])


def favourite(session: Session, ctx: PublishContext, actor: Actor, status: Status) -> None:
    if _find(session, actor, status, "like") is not None:
        return
    row_id = new_id()
    uri = f"{actor.uri}/likes/{row_id}"
    session.add(Interaction(id=row_id, kind="like", actor_id=actor.id, status_id=status.id,
                            uri=uri))
    author = _author(session, status)
    if author.local:
        notify(session, author.id, "favourite", actor.id, status.id)
    _send_to_author(session, ctx, actor, status,
                    build.activity("Like", uri, actor.uri, status.uri, to=[author.uri]))


def unfavourite(session: Session, ctx: PublishContext, actor: Actor, status: Status) -> None:
    row = _find(session, actor, status, "like")
    if row is None:
        return
    author = _author(session, status)
    inner = build.activity("Like", row.uri or "", actor.uri, status.uri)
    session.delete(row)
    _send_to_author(session, ctx, actor, status,
                    build.undo(f"{row.uri}/undo", actor.uri, inner, to=[author.uri]))


def _announce_addressing(ctx: PublishContext, actor: Actor, original: Status,
                         author: Actor) -> dict[str, list[str]]:
    extra = [] if author.local else [author]
    return addressing(ctx, actor, original.visibility, extra)


def reblog(session: Session, ctx: PublishContext, actor: Actor, status: Status) -> Status:
    """Boost ``status`` (or the original of a boost) to its own audience; returns the wrapper."""
    original = session.get(Status, status.reblog_of_id) if status.reblog_of_id else status
    if original is None or original.deleted_at is not None:
        raise InteractionError("This status was deleted")
    own_followers_only = original.visibility == "followers" and original.actor_id == actor.id
    if original.visibility not in ("hub", "neighbourhood") and not own_followers_only:
        # Mastodon's rule: only the author may boost a followers-only post (to the same
        # followers); a direct post never.
        raise InteractionError("Followers-only and direct posts cannot be boosted")
    existing = session.scalar(select(Status).where(
        Status.actor_id == actor.id, Status.reblog_of_id == original.id,
        Status.deleted_at.is_(None)))
    if existing is not None:
        return existing
    author = _author(session, original)
    wrapper_id = new_id()
    uri = f"{actor.uri}/statuses/{wrapper_id}/activity"
    recipients = _announce_addressing(ctx, actor, original, author)
    wrapper = Status(id=wrapper_id, uri=uri, actor_id=actor.id, local=True,
                     visibility=original.visibility, reblog_of_id=original.id, content="",
                     recipients=recipients, created_at=utcnow())
    session.add(wrapper)
    session.flush()
    if _find(session, actor, original, "announce") is None:
        session.add(Interaction(id=new_id(), kind="announce", actor_id=actor.id,
                                status_id=original.id, uri=uri))
    fan_out_status(session, wrapper, [])
    if author.local:
        notify(session, author.id, "reblog", actor.id, original.id)
    doc = build.activity("Announce", uri, actor.uri, original.uri, to=recipients["to"],
                         cc=recipients["cc"], published=iso(wrapper.created_at))
    publish(session, ctx, actor, doc, federate=original.visibility != "hub",
            extra_recipients=[] if author.local else [author.uri])
    return wrapper


def unreblog(session: Session, ctx: PublishContext, actor: Actor, status: Status) -> Status:
    """Undo a boost; returns the original status."""
    original = session.get(Status, status.reblog_of_id) if status.reblog_of_id else status
    assert original is not None
    wrappers = list(session.scalars(select(Status).where(
        Status.actor_id == actor.id, Status.reblog_of_id == original.id,
        Status.deleted_at.is_(None))))
    session.execute(delete(Interaction).where(Interaction.actor_id == actor.id,
                                              Interaction.status_id == original.id,
                                              Interaction.kind == "announce"))
    author = _author(session, original)
    for wrapper in wrappers:
        wrapper.deleted_at = utcnow()
        session.execute(delete(TimelineEntry).where(TimelineEntry.status_id == wrapper.id))
        inner = build.activity("Announce", wrapper.uri, actor.uri, original.uri)
        recipients = wrapper.recipients or {}
        doc = build.undo(f"{wrapper.uri}/undo", actor.uri, inner,
                         to=list(recipients.get("to", [])), cc=list(recipients.get("cc", [])))
        publish(session, ctx, actor, doc, federate=original.visibility != "hub",
                extra_recipients=[] if author.local else [author.uri])
    return original


def bookmark(session: Session, actor: Actor, status: Status) -> None:
    if _find(session, actor, status, "bookmark") is None:
        session.add(Interaction(id=new_id(), kind="bookmark", actor_id=actor.id,
                                status_id=status.id))


def unbookmark(session: Session, actor: Actor, status: Status) -> None:
    session.execute(delete(Interaction).where(Interaction.actor_id == actor.id,
                                              Interaction.status_id == status.id,
                                              Interaction.kind == "bookmark"))


def pin(session: Session, actor: Actor, status: Status) -> None:
    if status.actor_id != actor.id or status.reblog_of_id is not None:
        raise InteractionError("Only your own posts can be pinned")
    if status.visibility == "direct":
        raise InteractionError("Direct messages cannot be pinned")
    if _find(session, actor, status, "pin") is not None:
        return
    pins = session.scalar(select(func.count()).select_from(Interaction).where(
        Interaction.actor_id == actor.id, Interaction.kind == "pin")) or 0
    if pins >= MAX_PINS:
        raise InteractionError(f"You can pin at most {MAX_PINS} posts")
    session.add(Interaction(id=new_id(), kind="pin", actor_id=actor.id, status_id=status.id))


def unpin(session: Session, actor: Actor, status: Status) -> None:
    session.execute(delete(Interaction).where(Interaction.actor_id == actor.id,
                                              Interaction.status_id == status.id,
                                              Interaction.kind == "pin"))


def _find_block(session: Session, actor: Actor, target: Actor, kind: str) -> Block | None:
    return session.scalar(select(Block).where(Block.actor_id == actor.id,
                                              Block.target_id == target.id, Block.kind == kind))


def block(session: Session, ctx: PublishContext, actor: Actor, target: Actor) -> None:
    """Block: both follows end, and a remote account's hub is told (Mastodon does)."""
    if actor.id == target.id:
        raise InteractionError("You cannot block yourself")
    if _find_block(session, actor, target, "block") is not None:
        return
    row_id = new_id()
    uri = f"{actor.uri}/blocks/{row_id}"
    session.add(Block(id=row_id, kind="block", actor_id=actor.id, target_id=target.id, uri=uri))
    unfollow(session, ctx, actor, target)
    if session.scalar(select(Follow.id).where(Follow.follower_id == target.id,
                                              Follow.followee_id == actor.id)):
        reject_follow(session, ctx, actor, target)
    if not target.local:
        publish(session, ctx, actor, build.activity("Block", uri, actor.uri, target.uri,
                                                    to=[target.uri]),
                extra_recipients=[target.uri])


def unblock(session: Session, ctx: PublishContext, actor: Actor, target: Actor) -> None:
    row = _find_block(session, actor, target, "block")
    if row is None:
        return
    session.delete(row)
    if not target.local:
        inner = build.activity("Block", row.uri or "", actor.uri, target.uri)
        publish(session, ctx, actor, build.undo(f"{row.uri}/undo", actor.uri, inner,
                                                to=[target.uri]),
                extra_recipients=[target.uri])


def mute(session: Session, actor: Actor, target: Actor) -> None:
    if actor.id == target.id:
        raise InteractionError("You cannot mute yourself")
    if _find_block(session, actor, target, "mute") is None:
        session.add(Block(id=new_id(), kind="mute", actor_id=actor.id, target_id=target.id))


def unmute(session: Session, actor: Actor, target: Actor) -> None:
    row = _find_block(session, actor, target, "mute")
    if row is not None:
        session.delete(row)
