"""``/directory`` (« annuaire »): members by trade, keywords and postal code, this hub first,
then linked hubs. The same search and the same results as ``/api/v1/directory``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fedi.models import Actor
from fedi.services.directory import MAX_LIMIT, DirectoryQuery, search
from fedi.services.trades import label, list_trades
from fedi.site.page import linked, reading, show
from fedi.site.posts import profile_path
from fedi.web.session import require_member
from fedi.web.templating import request_language

PAGE = 40
MAX_OFFSET = 100_000


@dataclass(frozen=True)
class Row:
    actor: Actor
    local: bool
    trade: str
    path: str


def query_of(request: Request) -> DirectoryQuery:
    params = request.query_params
    raw_offset = params.get("offset", "0") or "0"
    if not (raw_offset.isascii() and raw_offset.isdigit()) or int(raw_offset) > MAX_OFFSET:
        raise HTTPException(400, "offset")
    return DirectoryQuery(text=params.get("q", "")[:200], trade=params.get("trade", "")[:128],
                          postal_code=params.get("postal_code", "")[:5],
                          local_only=params.get("local") in ("1", "true", "on"),
                          offset=int(raw_offset), limit=min(PAGE, MAX_LIMIT))


@require_member
async def directory_page(request: Request) -> Response:
    query = query_of(request)
    lang = request_language(request)
    searched = any(k in request.query_params for k in ("q", "trade", "postal_code", "local"))
    with reading(request) as (session, _actor, _user):
        found = search(session, linked(request), query)
        categories = list_trades(session)
        labels = {t.slug: label(t, lang) for t in categories}
        rows = [Row(item.actor, item.local,
                    labels.get(item.actor.trade or "", item.actor.trade or ""),
                    profile_path(item.actor)) for item in found]
    trades = sorted(labels.items(), key=lambda kv: kv[1].lower())
    more = None
    if len(rows) >= query.limit:
        params = dict(request.query_params)
        params["offset"] = str(query.offset + query.limit)
        more = params
    return show(request, "site/pages/directory.html", {
        "nav": "directory", "query": query, "rows": rows, "trades": trades,
        "searched": searched, "more": more,
        "local_rows": [r for r in rows if r.local], "neighbour_rows": [r for r in rows if not r.local],
    })


async def annuaire(request: Request) -> Response:
    query = request.url.query
    return RedirectResponse("/directory" + (f"?{query}" if query else ""), status_code=301)


routes = [
    Route("/directory", directory_page, methods=["GET"], name="directory"),
    Route("/annuaire", annuaire, methods=["GET"]),
]
