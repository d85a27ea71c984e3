"""503 while the database is away: an answer clients and remote hubs retry, not a 500.

Every route may meet a database that is stopped, restarting or full (``fedi.db_faults``
says which errors mean that). This middleware turns those errors into ``503 Service
Unavailable`` with ``Retry-After``: ``{"error": …}`` for the client API (translated by
``fedi.api.error_language``, which wraps it), ActivityPub and the inbox (remote hubs keep
the activity and deliver it again later, as Mastodon does for any 5xx), and a page in the
reader's language for the site and the console. The page is rendered without the database
(no member, no session). One log line per outage (``DatabaseStatus``), no traceback.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fedi import i18n
from fedi.db_faults import RETRY_AFTER_SECONDS, is_unavailable
from fedi.i18n import N_
from fedi.web.error_pages import wants_html
from fedi.web.state import hub_of

MESSAGE = N_("The hub's database is unavailable for a moment; try again shortly")
HEADERS = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}


def unavailable_page(request: Request) -> Response:
    """The 503 page, in the language asked (``?lang=``, then the browser's), else French."""
    lang = (
        i18n.normalize(request.query_params.get("lang"))
        or i18n.negotiate(request.headers.get("accept-language"))
        or i18n.DEFAULT_LANGUAGE
    )
    hub = hub_of(request)
    return hub.templates.TemplateResponse(
        request,
        "site/errors/503.html",
        {"hub_name": hub.settings.name, "member": None, "lang": lang, "status": 503},
        status_code=503,
        headers={**HEADERS, "Content-Language": lang},
    )


def unavailable_response(request: Request) -> Response:
    if wants_html(request):
        return unavailable_page(request)
    return JSONResponse({"error": MESSAGE}, status_code=503, headers=HEADERS)


class DatabaseOutage:
    """Answers 503 + Retry-After when a route fails because the database is unavailable."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._websocket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        began = scope["app"].state.hub.database.clock()

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started or not is_unavailable(exc):
                raise
            request = Request(scope, receive)
            where = f"{request.method} {request.url.path}"
            hub_of(request).database.went_away(exc, where, began=began)
            await unavailable_response(request)(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A streaming socket: closed with 1013 (try again later), as servers do when busy."""
        closed = False

        async def watch(message: Message) -> None:
            nonlocal closed
            if message["type"] == "websocket.close":
                closed = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if closed or not is_unavailable(exc):
                raise
            scope["app"].state.hub.database.went_away(exc, f"the socket {scope['path']}")
            await send({"type": "websocket.close", "code": 1013})
