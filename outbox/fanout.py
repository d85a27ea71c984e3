"""Local fan-out: home timeline rows and notifications for members of this hub. No HTTP."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from fedi.ids import new_id
from fedi.models import Actor, Follow, Interaction, Notification, Status, TimelineEntry


def add_to_timelines(session: Session, status: Status, owner_ids: Iterable[int], *,
                     new: bool = False) -> None:
    """Timeline rows for ``owner_ids``; ``new``: the status was just created, so no owner
    can have it yet (one query fewer on the inbox's hottest path)."""
    existing: set[int] = set() if new else set(session.scalars(
        select(TimelineEntry.owner_id).where(TimelineEntry.status_id == status.id)
    ))
    for owner_id in dict.fromkeys(owner_ids):
        if owner_id not in existing:
            # One row per owner: the row id cannot be the status id (it is the primary key);
            # timelines page on status_id (unique per owner, so indexed).
            session.add(TimelineEntry(id=new_id(), owner_id=owner_id, status_id=status.id))
            existing.add(owner_id)


def notify(session: Session, owner_id: int, type_: str, from_actor_id: int,
           status_id: int | None = None) -> None:
    if owner_id == from_actor_id:
        return
    session.add(Notification(id=new_id(), owner_id=owner_id, type=type_,
                             from_actor_id=from_actor_id, status_id=status_id))


def fan_out_status(session: Session, status: Status, mentioned_local: Iterable[int], *,
                   followers: Iterable[tuple[int, bool]] | None = None) -> None:
    """Timelines of the author (if local), local followers (unless direct) and mentioned
    members; "status" notifications for followers who asked for them. For a new status.

    ``followers``: the author's local accepted followers as (id, wants a notification),
    when the caller looked them up already (the inbox worker, for a whole batch)."""
    mentioned = list(mentioned_local)
    owners: list[int] = []
    author = session.get(Actor, status.actor_id)
    if author is not None and author.local:
        owners.append(author.id)
    subscribers: list[int] = []
    if status.visibility != "direct":
        if followers is None:
            followers = session.execute(
                select(Follow.follower_id, Follow.notify)
                .join(Actor, Actor.id == Follow.follower_id)
                .where(Follow.followee_id == status.actor_id, Follow.state == "accepted",
                       Actor.local)).all()
        for follower_id, wants_posts in followers:
            owners.append(follower_id)
            if wants_posts:
                subscribers.append(follower_id)
    owners.extend(mentioned)
    add_to_timelines(session, status, owners, new=True)
    if (mentioned or subscribers) and inspect(status).pending:
        session.flush()  # a flush would INSERT the Notification rows before their Status
    for actor_id in mentioned:
        notify(session, actor_id, "mention", status.actor_id, status.id)
    if status.reblog_of_id is None:
        for actor_id in subscribers:
            if actor_id not in mentioned:
                notify(session, actor_id, "status", status.actor_id, status.id)


def notify_boosters_of_edit(session: Session, status: Status) -> None:
    """Members who boosted a status are told it was edited (Mastodon's "update")."""
    boosters = session.scalars(
        select(Interaction.actor_id).join(Actor, Actor.id == Interaction.actor_id)
        .where(Interaction.status_id == status.id, Interaction.kind == "announce", Actor.local))
    for actor_id in set(boosters):
        notify(session, actor_id, "update", status.actor_id, status.id)
