"""Timelines: home, public (``local=true``: this hub; otherwise the neighbourhood), tag,
and the caller's favourites and bookmarks."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route

from fedi.api.auth import Call, endpoint, json_response
from fedi.api.pagination import link_header, page_of
from fedi.services import timelines
from fedi.vocab.safety import hashtag_name


def _page_response(call: Call, rows: list[Any], cursors: list[int] | None = None) -> Any:
    return json_response(call.render.statuses(rows), headers=link_header(
        call.hub.urls.base, call.request.url.path, call.params,
        cursors if cursors is not None else [r.id for r in rows]))


async def home(call: Call) -> Any:
    rows = timelines.home(call.session, call.actor, call.render.linked, page_of(call.params),
                          rows=True)
    return _page_response(call, rows)


async def public(call: Call) -> Any:
    p = call.params
    rows = timelines.public(call.session, call.actor, call.render.linked, page_of(p),
                            local=p.bool("local"), remote=p.bool("remote"), rows=True)
    if p.bool("only_media"):
        rows = []
    return _page_response(call, rows)


async def tag(call: Call) -> Any:
    name = hashtag_name(call.request.path_params["tag"])
    p = call.params
    rows = [] if name is None else timelines.tagged(
        call.session, call.actor, call.render.linked, name, page_of(p), local=p.bool("local"))
    if p.bool("only_media"):
        rows = []
    return _page_response(call, rows)


def _by_interaction(kind: str) -> Any:
    async def listing(call: Call) -> Any:
        pairs = timelines.by_interaction(call.session, call.actor, call.render.linked, kind,
                                         page_of(call.params))
        return _page_response(call, [s for _c, s in pairs], [c for c, _s in pairs])

    listing.__name__ = kind
    return listing


read = endpoint("read:statuses", body=False, read_only=True)
routes = [
    Route("/api/v1/timelines/home", read(home)),
    Route("/api/v1/timelines/public", read(public)),
    Route("/api/v1/timelines/tag/{tag}", read(tag)),
    Route("/api/v1/favourites", endpoint("read:favourites", body=False, read_only=True)(
        _by_interaction("like"))),
    Route("/api/v1/bookmarks", endpoint("read:bookmarks", body=False, read_only=True)(
        _by_interaction("bookmark"))),
]
