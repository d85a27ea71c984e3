"""Who an outgoing activity goes to: inbox URLs, shared inboxes deduplicated, allowed hubs only.

Every inbox is one an actor document advertised (``endpoints.sharedInbox``, else ``inbox``):
an allowed server's paths are never guessed (Takahē's shared inbox is ``/inbox/``, others'
differ). Only a linked hub's ``members`` collection is delivered to that hub's shared inbox,
as one of its stored actors advertises it (a Voisins hub's ``/inbox`` until one is known).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.models import Actor, Follow
from fedi.vocab.parse import addressed, host_of
from outbox.context import PublishContext


def remote_follower_inboxes(session: Session, author: Actor) -> list[str]:
    rows = session.execute(
        select(Actor.shared_inbox, Actor.inbox)
        .join(Follow, Follow.follower_id == Actor.id)
        .where(Follow.followee_id == author.id, Follow.state == "accepted", Actor.local.is_(False),
               Actor.deleted_at.is_(None))
    ).all()
    return [shared or inbox for shared, inbox in rows if shared or inbox]


def _hub_shared_inbox(session: Session, ctx: PublishContext, domain: str) -> str:
    """A linked hub's shared inbox, as its actors advertise it."""
    advertised = session.scalar(select(Actor.shared_inbox).where(
        Actor.domain == domain, Actor.local.is_(False), Actor.shared_inbox.is_not(None))
        .limit(1))
    return advertised or f"{ctx.settings.scheme}://{domain}/inbox"


def inboxes_for(session: Session, ctx: PublishContext, author: Actor,
                doc: dict[str, Any], extra_actor_uris: Iterable[str] = ()) -> list[str]:
    """Inbox URLs for a document from a local author, never to a hub that is not allowed."""
    targets = addressed(doc) | set(extra_actor_uris)
    inboxes: list[str] = []
    if author.followers_url and author.followers_url in targets:
        inboxes.extend(remote_follower_inboxes(session, author))
    linked = ctx.linked_domains()
    for uri in targets:
        host = host_of(uri)
        if not host or host == ctx.settings.domain:
            continue
        if uri == ctx.members_collection(host):
            if host in linked:
                inboxes.append(_hub_shared_inbox(session, ctx, host))
            continue
        actor = session.scalar(select(Actor).where(Actor.uri == uri, Actor.local.is_(False)))
        if actor is not None and (actor.shared_inbox or actor.inbox):
            inboxes.append(actor.shared_inbox or actor.inbox or "")
    seen: dict[str, None] = {}
    for url in inboxes:
        if url and ctx.is_allowed(host_of(url)) and url not in seen:
            seen[url] = None
    return list(seen)
