"""Before a Move is stored: fetch its target afresh (signed GET), so that the handler checks
the target's current ``alsoKnownAs`` (Mastodon refetches the target the same way)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from fedi.convert.ap_to_model import InvalidObject
from fedi.http import RemoteError
from fedi.resolve import ActorResolver
from fedi.vocab.parse import get_id, host_of

log = logging.getLogger("voisins.inbox")


async def refresh_move_target(resolver: ActorResolver | None, is_allowed: Callable[[str], bool],
                              local_domain: str, doc: dict[str, Any]) -> None:
    """Refetch the target of a Move when it is on a hub we may fetch from; the handler
    ignores the Move if the target stays unknown or does not list the mover."""
    if doc.get("type") != "Move" or resolver is None:
        return
    target = get_id(doc.get("target"))
    host = host_of(target or "")
    if not target or not host or host == local_domain or not is_allowed(host):
        return
    try:
        await resolver.actor(target, refresh=True)
    except (RemoteError, InvalidObject) as exc:
        log.info("Move target %s could not be fetched: %s", target, exc)
