"""Error answers for every route: an HTML page in the reader's language on HTML routes,
JSON (``fedi.web.errors``) for the client API, ActivityPub and machines.

A route is HTML when the member site or console wrapped it (``fedi.web.csrf.guard_routes``),
or when nothing claims it and the browser asks for HTML (an unknown address typed by hand).
Pages raise ``starlette.exceptions.HTTPException(404)`` (or 403, …) and get the right page.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from fedi.web import errors
from fedi.web.csrf import HTML_ROUTE
from fedi.web.templating import render

log = logging.getLogger("voisins")
MACHINE_PATHS = ("/api/", "/.well-known/", "/nodeinfo", "/oauth/token", "/oauth/revoke",
                 "/users/", "/actor", "/inbox", "/objects/", "/statuses/")
PAGES = {403: "site/errors/403.html", 404: "site/errors/404.html", 500: "site/errors/500.html"}


def wants_html(request: Request) -> bool:
    if request.scope.get(HTML_ROUTE):
        return True
    if request.url.path.startswith(MACHINE_PATHS):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/xhtml+xml" in accept


def error_page(request: Request, status: int) -> Response:
    template = PAGES.get(status, "site/errors/error.html")
    try:
        return render(request, template, {"status": status}, status=status)
    except Exception:  # the page itself failed (database down…): a plain answer still
        log.exception("error page %s failed", status)
        return Response(f"Error {status}", status_code=status, media_type="text/plain")


async def http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if wants_html(request):
        response = error_page(request, exc.status_code)
        response.headers.update(dict(exc.headers or {}))
        return response
    return await errors.http_exception(request, exc)


async def server_error(request: Request, exc: Exception) -> Response:
    if wants_html(request):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_page(request, 500)
    return await errors.server_error(request, exc)
