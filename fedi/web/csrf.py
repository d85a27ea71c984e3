"""CSRF protection for HTML forms: a token per browser session, checked on every unsafe POST.

The token is an HMAC (the hub's secret) of the browser's session token, so it changes at
login and logout and needs no storage. Every route of the member site (and of the admin
console) is wrapped by ``guard_routes`` in its ``routes.py``: a POST, PUT, PATCH or DELETE
without the right token, or from another origin, gets the 403 page and the endpoint never
runs. Pages need nothing but the hidden field in each form::

    <form method="post" action="/settings/language">
      {{ csrf_input() }}
      …
    </form>

Scripts send the token as the ``X-CSRF-Token`` header (``csrf_token(request)``).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fedi.web.session import COOKIE, visitor_token
from fedi.web.state import hub_of

FIELD = "csrf_token"
HEADER = "x-csrf-token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
HTML_ROUTE = "voisins.html_route"


def token_for(secret: str, session_token: str) -> str:
    return hmac.new(secret.encode(), b"csrf\n" + session_token.encode(),
                    hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    """The token this browser's forms must send back (creates the visitor cookie if needed)."""
    return token_for(hub_of(request).settings.secret, visitor_token(request))


def csrf_input(request: Request) -> Markup:
    return Markup('<input type="hidden" name="{}" value="{}">').format(FIELD, csrf_token(request))


def token_ok(request: Request, sent: str | None) -> bool:
    session_token = request.cookies.get(COOKIE)
    if not sent or session_token is None or len(sent) > 200:
        return False
    expected = token_for(hub_of(request).settings.secret, session_token)
    return hmac.compare_digest(expected.encode(), sent.encode())


def same_origin(request: Request) -> bool:
    """False only when the browser says the form came from another site. (``null``, sent
    under some referrer policies and redirects, says nothing: the token decides.)"""
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return True
    base = urlsplit(hub_of(request).settings.base_url)
    sent = urlsplit(origin)
    return (sent.scheme, sent.netloc) == (base.scheme, base.netloc)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise HTTPException(400, "client disconnected")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


class CsrfGuard:
    """Wraps one route's app: marks it as an HTML route and checks unsafe requests."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[HTML_ROUTE] = True
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        request = Request(scope, _replay(body))
        if not same_origin(request):
            raise HTTPException(403, "cross-origin form")
        sent = request.headers.get(HEADER)
        if sent is None and request.headers.get("content-type", "").startswith(FORM_TYPES):
            form = await request.form()
            value = form.get(FIELD)
            sent = value if isinstance(value, str) else None
            await form.close()
        if not token_ok(request, sent):
            raise HTTPException(403, "missing or wrong CSRF token")
        await self.app(scope, _replay(body), send)


def guard_routes(routes: Iterable[BaseRoute]) -> list[BaseRoute]:
    """The same routes, each behind ``CsrfGuard`` (and marked as HTML routes)."""
    out: list[BaseRoute] = []
    for route in routes:
        if isinstance(route, Route | Mount) and not isinstance(route.app, CsrfGuard):
            route.app = CsrfGuard(route.app)
        out.append(route)
    return out


def jinja_csrf_input(context: Any) -> Markup:
    """``{{ csrf_input() }}`` in templates (installed by fedi.web.templating)."""
    request = context.get("request")
    if request is None:
        return Markup("")
    return csrf_input(request)
