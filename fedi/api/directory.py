"""``GET /api/v1/directory``: the neighbourhood directory for a member's app.

Mastodon's parameters (``offset``, ``limit``, ``local``; ``order`` is accepted, the order is
always this hub first, then linked hubs, by name) plus Voisins' ``q`` (keywords), ``trade``
and ``postal_code``. Members only: nothing of the directory is public.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.errors import ApiError
from fedi.services.directory import DirectoryQuery, search


async def directory(call: Call) -> Any:
    p = call.params
    order = p.str("order", "active", max_len=16)
    if order not in ("active", "new"):
        raise ApiError(422, "Validation failed: order must be active or new")
    query = DirectoryQuery(
        text=p.str("q", "", max_len=200) or "", trade=p.str("trade", "", max_len=128) or "",
        postal_code=p.str("postal_code", "", max_len=5) or "", local_only=p.bool("local"),
        offset=p.int("offset", 0, low=0, high=100_000), limit=p.int("limit", 40, low=1, high=80))
    found = search(call.session, call.render.linked, query)
    return call.render.accounts([item.actor for item in found])


routes = [
    Route("/api/v1/directory", endpoint(("read:accounts",), body=False)(directory)),
]
