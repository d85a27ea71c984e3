"""ORM hooks: flushed writes become streaming signals, delivered only if the write commits.

Watching the session (rather than each service) covers every write path: posts from the
API and from other hubs, boosts, edits, deletes, notifications from any service, token
revocations and member suspensions.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, sessionmaker

from fedi.models import Actor, Notification, OAuthToken, Status, User
from fedi.streaming.broker import Broker, Signal, forget_staged


def _changed_to(obj: Any, attr: str) -> Any:
    """The new value of ``attr`` if this flush set it, else None."""
    history = inspect(obj).attrs[attr].history
    return history.added[0] if history.added else None


def signals_of(session: Session) -> list[Signal]:
    """What this flush means for open streams (called in ``after_flush``)."""
    out: list[Signal] = []
    for obj in session.new:
        if isinstance(obj, Status):
            out.append({"k": "status", "id": obj.id})
        elif isinstance(obj, Notification):
            out.append({"k": "notification", "id": obj.id})
    for obj in session.dirty:
        if isinstance(obj, Status):
            if _changed_to(obj, "deleted_at") is not None:
                out.append({"k": "delete", "id": obj.id})
            elif _changed_to(obj, "edited_at") is not None and obj.deleted_at is None:
                out.append({"k": "edit", "id": obj.id})
        elif isinstance(obj, OAuthToken) and _changed_to(obj, "revoked_at") is not None:
            out.append({"k": "revoke", "token": obj.id})
        elif isinstance(obj, User) and _changed_to(obj, "disabled"):
            out.append({"k": "gone", "actor": obj.actor_id})
        elif isinstance(obj, Actor) and obj.local and _changed_to(obj, "deleted_at") is not None:
            out.append({"k": "gone", "actor": obj.id})
    for obj in session.deleted:
        if isinstance(obj, OAuthToken):
            out.append({"k": "revoke", "token": obj.id})
    return out


def watch(factory: sessionmaker[Session], broker: Broker) -> None:
    """Stage the signals of every flush of sessions from ``factory`` on ``broker``."""

    def after_flush(session: Session, _ctx: Any) -> None:
        signals = signals_of(session)
        if signals:
            broker.stage(session, signals)

    def after_rollback(session: Session, previous: Any) -> None:
        # A savepoint rolled back (one bad inbox item) keeps the batch's other signals: a
        # signal for a row that was undone finds nothing and sends nothing.
        if not previous.nested:
            forget_staged(session)

    event.listen(factory, "after_flush", after_flush)
    event.listen(factory, "after_commit", broker.committed)
    event.listen(factory, "after_soft_rollback", after_rollback)

