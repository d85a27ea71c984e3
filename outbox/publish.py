"""publish(): the one entry point every feature uses to send an activity.

In the caller's transaction it stores the activity, then enqueues one delivery per inbox,
so a post and its deliveries commit (or fail) together: nothing is lost between them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from fedi.ids import new_id
from fedi.models import Actor, OutboxActivity
from fedi.vocab.parse import get_id
from outbox.context import PublishContext
from outbox.queue import enqueue_deliveries
from outbox.recipients import inboxes_for


def publish(session: Session, ctx: PublishContext, actor: Actor, doc: dict[str, Any], *,
            extra_recipients: Iterable[str] = (), federate: bool = True,
            activity_id: int | None = None) -> OutboxActivity:
    """Store ``doc`` (whose ``id`` is already set) and queue its deliveries."""
    row = OutboxActivity(
        id=activity_id or new_id(),
        uri=doc["id"],
        actor_id=actor.id,
        type=doc["type"],
        object_uri=get_id(doc.get("object")),
        payload=doc,
    )
    session.add(row)
    session.flush()
    if federate:
        inboxes = inboxes_for(session, ctx, actor, doc, extra_recipients)
        if inboxes:
            enqueue_deliveries(session, row, inboxes)
            session.info.setdefault("after_commit", []).append(ctx.wake)
    return row
