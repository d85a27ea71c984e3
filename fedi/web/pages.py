"""Member pages (HTML). Without a session they show the login page, never private data."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.web.session import attach_cookie
from fedi.web.state import hub_of


def pick_language(request: Request) -> str:
    accept = request.headers.get("accept-language", "")
    for part in accept.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("fr"):
            return "fr"
    return "fr"


def login_page(request: Request, next_url: str = "/", error: str | None = None,
               status: int = 200) -> Response:
    hub = hub_of(request)
    response = hub.templates.TemplateResponse(
        request,
        "auth/login.html",
        {"hub_name": hub.settings.name, "next_url": next_url, "error": error,
         "lang": pick_language(request)},
        status_code=status,
        headers={"Cache-Control": "private", "Vary": "Accept, Accept-Language"},
    )
    attach_cookie(request, response)  # the form's CSRF token is made from this cookie
    return response


async def home(request: Request) -> Response:
    return login_page(request)


async def profile(request: Request) -> Response:
    return login_page(request, next_url=request.url.path)


routes = [
    Route("/", home),
    Route("/@{username}", profile),
]
