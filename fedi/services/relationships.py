"""Follow, accept or reject a follow request, unfollow: local and across hubs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.ids import new_id
from fedi.models import Actor, Follow
from fedi.services.accounts import INSTANCE_USERNAME
from fedi.vocab import build
from outbox.context import PublishContext
from outbox.fanout import notify as add_notification
from outbox.publish import publish


class RelationshipError(ValueError):
    """A relationship change was refused; the message says why."""


def may_list_follows(viewer: Actor | None, owner: Actor) -> bool:
    """May ``viewer`` see whom ``owner`` follows and who follows them?

    One rule for the client API and the ActivityPub collections (FEDERATION.md): the owner
    always; another member of the owner's own hub unless the owner hides them (Mastodon's
    ``hide_collections``); nobody else, members of other hubs included. Everyone sees the
    counts.
    """
    if viewer is None or not owner.local or not viewer.local:
        return False
    if viewer.id == owner.id:
        return True
    return viewer.username != INSTANCE_USERNAME and not owner.hide_collections


def find_follow(session: Session, follower_id: int, followee_id: int) -> Follow | None:
    return session.scalar(select(Follow).where(Follow.follower_id == follower_id,
                                               Follow.followee_id == followee_id))


def follow(session: Session, ctx: PublishContext, follower: Actor, target: Actor, *,
           notify: bool | None = None) -> Follow:
    """Ask to follow ``target``: every member is locked, so this makes a follow request.
    ``notify``: be told of each of their new posts (None leaves the choice as it was)."""
    if follower.id == target.id:
        raise RelationshipError("you cannot follow yourself")
    if target.type != "Person" or target.deleted_at is not None:
        raise RelationshipError("this account cannot be followed")
    if not target.local and not ctx.is_allowed(target.domain):
        raise RelationshipError(f"{target.domain} is not a linked hub")
    existing = find_follow(session, follower.id, target.id)
    if existing is not None:
        if notify is not None:
            existing.notify = notify
        return existing
    row_id = new_id()
    uri = f"{follower.uri}/follows/{row_id}"
    locked = target.locked or target.local
    row = Follow(id=row_id, follower_id=follower.id, followee_id=target.id, uri=uri,
                 state="requested" if locked else "accepted", notify=bool(notify))
    session.add(row)
    session.flush()
    if target.local:
        add_notification(session, target.id, "follow_request" if locked else "follow", follower.id)
    else:
        publish(session, ctx, follower, build.follow(uri, follower.uri, target.uri),
                extra_recipients=[target.uri])
    return row


def follow_doc(session: Session, row: Follow) -> dict[str, object]:
    follower = session.get(Actor, row.follower_id)
    followee = session.get(Actor, row.followee_id)
    assert follower is not None and followee is not None
    return {"id": row.uri, "type": "Follow", "actor": follower.uri, "object": followee.uri}


def accept_follow(session: Session, ctx: PublishContext, followee: Actor, follower: Actor) -> Follow:
    """Approve a follow request; a remote follower gets a signed Accept."""
    row = find_follow(session, follower.id, followee.id)
    if row is None:
        raise RelationshipError("there is no such follow request")
    if row.state == "accepted":
        return row
    row.state = "accepted"
    add_notification(session, followee.id, "follow", follower.id)
    if not follower.local:
        doc = build.accept(f"{followee.uri}/accepts/{row.id}", followee.uri,
                           follow_doc(session, row), follower.uri)
        publish(session, ctx, followee, doc, extra_recipients=[follower.uri])
    return row


def reject_follow(session: Session, ctx: PublishContext, followee: Actor, follower: Actor) -> None:
    """Refuse a follow request (or remove a follower); a remote follower gets a Reject."""
    row = find_follow(session, follower.id, followee.id)
    if row is None:
        raise RelationshipError("there is no such follow request")
    doc = follow_doc(session, row)
    session.delete(row)
    if not follower.local:
        publish(session, ctx, followee,
                build.reject(f"{followee.uri}/rejects/{row.id}", followee.uri, doc, follower.uri),
                extra_recipients=[follower.uri])


def unfollow(session: Session, ctx: PublishContext, follower: Actor, target: Actor) -> None:
    row = find_follow(session, follower.id, target.id)
    if row is None:
        return
    doc = follow_doc(session, row)
    session.delete(row)
    if not target.local:
        publish(session, ctx, follower,
                build.undo(f"{row.uri}/undo", follower.uri, doc, to=[target.uri]),
                extra_recipients=[target.uri])
