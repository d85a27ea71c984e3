"""Favourite, boost, bookmark, pin (and their undo) on a status the caller may see."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.errors import unprocessable
from fedi.api.statuses import visible_status
from fedi.services import interactions
from fedi.services.interactions import InteractionError


def _original(call: Call) -> Any:
    status = visible_status(call)
    if status.reblog_of_id is not None:
        return visible_status(call, status.reblog_of_id)
    return status


async def favourite(call: Call) -> Any:
    status = _original(call)
    interactions.favourite(call.session, call.ctx, call.actor, status)
    call.session.flush()
    return call.render.status(status)


async def unfavourite(call: Call) -> Any:
    status = _original(call)
    interactions.unfavourite(call.session, call.ctx, call.actor, status)
    call.session.flush()
    return call.render.status(status)


async def reblog(call: Call) -> Any:
    status = _original(call)
    try:
        wrapper = interactions.reblog(call.session, call.ctx, call.actor, status)
    except InteractionError as exc:
        raise unprocessable(str(exc)) from None
    call.session.flush()
    return call.render.status(wrapper)


async def unreblog(call: Call) -> Any:
    status = _original(call)
    original = interactions.unreblog(call.session, call.ctx, call.actor, status)
    call.session.flush()
    return call.render.status(original)


def _simple(name: str) -> Any:
    async def act(call: Call) -> Any:
        status = _original(call)
        try:
            getattr(interactions, name)(call.session, call.actor, status)
        except InteractionError as exc:
            raise unprocessable(str(exc)) from None
        call.session.flush()
        return call.render.status(status)

    act.__name__ = name
    return act


async def mute_thread(call: Call) -> Any:
    return call.render.status(_original(call))


favourites = endpoint("write:favourites")
statuses = endpoint("write:statuses")
bookmarks = endpoint("write:bookmarks")
accounts = endpoint("write:accounts")
routes = [
    Route("/api/v1/statuses/{id}/favourite", favourites(favourite), methods=["POST"]),
    Route("/api/v1/statuses/{id}/unfavourite", favourites(unfavourite), methods=["POST"]),
    Route("/api/v1/statuses/{id}/reblog", statuses(reblog), methods=["POST"]),
    Route("/api/v1/statuses/{id}/unreblog", statuses(unreblog), methods=["POST"]),
    Route("/api/v1/statuses/{id}/bookmark", bookmarks(_simple("bookmark")), methods=["POST"]),
    Route("/api/v1/statuses/{id}/unbookmark", bookmarks(_simple("unbookmark")),
          methods=["POST"]),
    Route("/api/v1/statuses/{id}/pin", accounts(_simple("pin")), methods=["POST"]),
    Route("/api/v1/statuses/{id}/unpin", accounts(_simple("unpin")), methods=["POST"]),
    Route("/api/v1/statuses/{id}/mute", statuses(mute_thread), methods=["POST"]),
    Route("/api/v1/statuses/{id}/unmute", statuses(mute_thread), methods=["POST"]),
]
