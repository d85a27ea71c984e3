"""Account migration between hubs, as Mastodon does it (FEDERATION.md, "Moving to another
hub"): the new account lists the old one in ``alsoKnownAs``; the old hub sends
``Move {actor: old, object: old, target: new}`` to the old account's followers; their hubs
check that the target lists the old account, then unfollow the old account and follow the
new one, which approves them at once because they followed the old one.

Which followers those are, the new hub learns from the old hub itself: a second ``Move``
addressed to the new account alone carries ``movedFollowers`` (the old account's followers
when it moved). Nobody else gets that list.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, Follow, MovedFollower
from fedi.services.accounts_profile import announce_profile
from fedi.services.relationships import (
    RelationshipError,
    accept_follow,
    follow,
    unfollow,
)
from fedi.vocab import build
from fedi.vocab.parse import get_id
from fedi.vocab.safety import http_url
from outbox.context import PublishContext
from outbox.publish import publish

log = logging.getLogger("voisins.moves")

#: Aliases a member may list (Mastodon has no limit; a few cover every real move).
MAX_ALIASES = 10
#: Followers carried by a Move to its target (a neighbourhood account has far fewer).
MAX_MOVED_FOLLOWERS = 20_000
FOLLOWERS_PROPERTY = "movedFollowers"


class MoveError(ValueError):
    """An alias or a move was refused; ``code`` names the reason for the pages."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def federates_with(ctx: PublishContext, actor: Actor) -> bool:
    """Is ``actor`` on this hub, a linked hub or an allowed server (FEDERATION.md's trust)?"""
    if actor.local:
        return True
    domain = actor.domain.lower()
    return domain in ctx.linked_domains() or domain in ctx.settings.allowed


def lists_alias(target: Actor, origin_uri: str) -> bool:
    return origin_uri in (target.also_known_as or [])


def verified_move_target(session: Session, actor: Actor) -> Actor | None:
    """Where ``actor`` moved, when that account lists it back; a bare claim counts for
    nothing (anyone can write ``movedTo`` in their own document)."""
    if not actor.moved_to_uri:
        return None
    target = session.scalar(select(Actor).where(Actor.uri == actor.moved_to_uri,
                                                Actor.deleted_at.is_(None)))
    if target is None or target.id == actor.id or not lists_alias(target, actor.uri):
        return None
    return target


# -- the new hub: aliases ------------------------------------------------------------------

def add_alias(session: Session, ctx: PublishContext, member: Actor, alias: Actor) -> None:
    """List ``alias`` (the account being moved from) in the member's ``alsoKnownAs``."""
    if alias.id == member.id:
        raise MoveError("alias_self", "an account cannot be its own alias")
    if alias.type != "Person" or alias.deleted_at is not None:
        raise MoveError("alias_unknown", "this account cannot be an alias")
    if not federates_with(ctx, alias):
        raise MoveError("alias_untrusted", f"{alias.domain} is not a linked hub")
    current = list(member.also_known_as or [])
    if alias.uri in current:
        return
    if len(current) >= MAX_ALIASES:
        raise MoveError("alias_limit", f"at most {MAX_ALIASES} aliases")
    member.also_known_as = [*current, alias.uri]
    announce_profile(session, ctx, member)


def remove_alias(session: Session, ctx: PublishContext, member: Actor, uri: str) -> None:
    current = list(member.also_known_as or [])
    if uri not in current:
        raise MoveError("alias_unknown", "this account is not an alias")
    current.remove(uri)
    member.also_known_as = current or None
    announce_profile(session, ctx, member)


# -- the old hub: starting the move --------------------------------------------------------

def _followers(session: Session, actor: Actor) -> list[Actor]:
    return list(session.scalars(
        select(Actor).join(Follow, Follow.follower_id == Actor.id)
        .where(Follow.followee_id == actor.id, Follow.state == "accepted",
               Actor.deleted_at.is_(None))
        .order_by(Follow.id)))


def start_move(session: Session, ctx: PublishContext, origin: Actor, target: Actor) -> None:
    """Move the local member ``origin`` to ``target`` (already fetched afresh)."""
    if not origin.local:
        raise MoveError("move_not_local", "only a member of this hub can move from here")
    if target.id == origin.id:
        raise MoveError("move_self", "an account cannot move to itself")
    if target.type != "Person" or target.deleted_at is not None:
        raise MoveError("move_unknown", "this account cannot be moved to")
    if not federates_with(ctx, target):
        raise MoveError("move_untrusted", f"{target.domain} is not a linked hub")
    if not lists_alias(target, origin.uri):
        raise MoveError("move_not_alias", f"{target.handle} does not list this account "
                                          "as an alias")
    followers = _followers(session, origin)
    origin.moved_to_uri = target.uri
    origin.moved_at = utcnow()
    move_id = f"{origin.uri}/moves/{new_id()}"
    doc = build.activity("Move", move_id, origin.uri, origin.uri,
                         to=[origin.followers_url or ""])
    doc["target"] = target.uri
    publish(session, ctx, origin, doc)
    follower_uris = [f.uri for f in followers][:MAX_MOVED_FOLLOWERS]
    if target.local:
        record_followers(session, ctx, target, origin.uri, follower_uris)
    else:
        told = build.activity("Move", f"{move_id}/target", origin.uri, origin.uri,
                              to=[target.uri])
        told["target"] = target.uri
        told[FOLLOWERS_PROPERTY] = follower_uris
        publish(session, ctx, origin, told)
    announce_profile(session, ctx, origin)  # movedTo, for every copy of the profile
    for follower in followers:
        if follower.local:
            refollow(session, ctx, follower, origin, target)
    log.info("%s moved to %s (%d followers)", origin.uri, target.uri, len(followers))


# -- every hub: following the move ---------------------------------------------------------

def refollow(session: Session, ctx: PublishContext, follower: Actor, origin: Actor,
             target: Actor) -> None:
    """A local follower of ``origin`` follows ``target`` instead (Mastodon's
    UnfollowFollowWorker); a local target approves them at once."""
    old = session.scalar(select(Follow).where(Follow.follower_id == follower.id,
                                              Follow.followee_id == origin.id))
    try:
        row = follow(session, ctx, follower, target, notify=bool(old and old.notify))
    except RelationshipError as exc:
        log.info("%s cannot follow %s after a move: %s", follower.uri, target.uri, exc)
        return
    if target.local and row.state != "accepted":
        accept_follow(session, ctx, target, follower)
    unfollow(session, ctx, follower, origin)


def record_followers(session: Session, ctx: PublishContext, target: Actor, origin_uri: str,
                     follower_uris: list[str]) -> None:
    """Remember who followed ``origin_uri``; approve those already asking to follow."""
    uris = list(dict.fromkeys(u for u in follower_uris if http_url(u)))[:MAX_MOVED_FOLLOWERS]
    if not uris:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for start in range(0, len(uris), 500):
        chunk = uris[start:start + 500]
        session.execute(insert(MovedFollower).values([
            {"id": new_id(), "target_id": target.id, "origin_uri": origin_uri,
             "follower_uri": uri, "created_at": utcnow()} for uri in chunk
        ]).on_conflict_do_nothing(index_elements=["target_id", "follower_uri"]))
        waiting = session.scalars(
            select(Actor).join(Follow, Follow.follower_id == Actor.id)
            .where(Follow.followee_id == target.id, Follow.state == "requested",
                   Actor.uri.in_(chunk)))
        for follower in list(waiting):
            accept_follow(session, ctx, target, follower)


def followed_before(session: Session, target: Actor, follower: Actor) -> bool:
    """Did ``follower`` follow an account that moved to the local ``target``?"""
    return session.scalar(select(MovedFollower.id).where(
        MovedFollower.target_id == target.id,
        MovedFollower.follower_uri == follower.uri).limit(1)) is not None


def receive_move(session: Session, ctx: PublishContext, origin: Actor,
                 doc: dict[str, Any]) -> str:
    """A Move from ``origin`` (the verified sender); the outcome, for the log.

    The target must be stored (the inbox fetched it afresh before storing the activity),
    be here or on a hub this hub federates with, and list ``origin`` in ``alsoKnownAs``;
    otherwise nothing changes.
    """
    if get_id(doc.get("object")) != origin.uri:
        return "ignored: an actor can only move itself"
    target_uri = get_id(doc.get("target"))
    target = session.scalar(select(Actor).where(Actor.uri == target_uri,
                                                Actor.deleted_at.is_(None)))
    if target is None or target.id == origin.id or target.type != "Person":
        return "ignored: unknown target"
    if not federates_with(ctx, target):
        return f"ignored: {target.domain} is not a hub this one federates with"
    if not lists_alias(target, origin.uri):
        return "ignored: the target does not list the mover in alsoKnownAs"
    origin.moved_to_uri = target.uri
    origin.moved_at = origin.moved_at or utcnow()
    carried = doc.get(FOLLOWERS_PROPERTY)
    if target.local and isinstance(carried, list):
        record_followers(session, ctx, target, origin.uri,
                         [u for u in carried[:MAX_MOVED_FOLLOWERS] if isinstance(u, str)])
    moved = 0
    for follower in _followers(session, origin):
        if follower.local:
            refollow(session, ctx, follower, origin, target)
            moved += 1
    return f"moved to {target.uri}: {moved} local followers follow it now"
