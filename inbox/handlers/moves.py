"""Move: an account moved to another hub (fedi.services.moves, FEDERATION.md)."""

from __future__ import annotations

from typing import Any

from fedi.services import moves
from inbox.dispatch import HandlerContext, handles, log


@handles("Move", None, "Person")
def handle_move(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    outcome = moves.receive_move(ctx.session, ctx.publish, ctx.actor, doc)
    log.info("Move from %s: %s", ctx.actor.uri, outcome)
