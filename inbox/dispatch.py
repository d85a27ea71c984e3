"""The dispatch table: (activity type, object type) → a small handler."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from fedi.models import Actor
from fedi.vocab.parse import object_type
from inbox.prefetch import Prefetched
from outbox.context import PublishContext

log = logging.getLogger("voisins.inbox")


@dataclass(frozen=True)
class HandlerContext:
    session: Session
    publish: PublishContext
    actor: Actor  # the verified sender, stored
    known: Prefetched | None = None  # the worker's batch lookups, while they hold


Handler = Callable[[HandlerContext, dict[str, Any]], None]
_HANDLERS: dict[tuple[str, str | None], Handler] = {}


def handles(activity: str, *objects: str | None) -> Callable[[Handler], Handler]:
    """Register a handler for an activity type and embedded object types (None: a bare URI)."""

    def register(fn: Handler) -> Handler:
        for obj in objects or (None,):
            _HANDLERS[(activity, obj)] = fn
        return fn

    return register


def handler_for(doc: dict[str, Any]) -> Handler | None:
    key = (doc.get("type"), object_type(doc))
    return _HANDLERS.get(key) or _HANDLERS.get((doc.get("type"), "*"))  # type: ignore[arg-type]


def dispatch(ctx: HandlerContext, doc: dict[str, Any]) -> bool:
    """Run the handler for ``doc``; unknown types are logged and dropped (returns False)."""
    handler = handler_for(doc)
    if handler is None:
        log.info("dropped %s(%s) from %s: no handler", doc.get("type"), object_type(doc),
                 ctx.actor.uri)
        return False
    handler(ctx, doc)
    return True
