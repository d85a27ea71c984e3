"""``/login`` and ``/logout``: session login with the member's email or username.

Passwords are checked by the API's login check (the same rate limits as the OAuth login:
per address, and failures per account) with no write transaction open while argon2 runs.
A member with the TOTP second factor on also gives a fresh code from their app
(fedi.api.second_factor); that is asked only once the password is right.
A successful login starts a new session (fedi.web.session).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import NoMatchFound, Route

from fedi.api.errors import ApiError
from fedi.api.ratelimit import client_address
from fedi.api.second_factor import check_code
from fedi.services import second_factor
from fedi.web.session import current_member, login_session, logout_session
from fedi.web.state import Hub, hub_of
from fedi.web.templating import render

MAX_LOGIN = 320
MAX_PASSWORD = 1024


def safe_next(value: str | None) -> str:
    """A local path to go back to after login; anything else is the home page."""
    value = (value or "").strip()
    if (not value.startswith("/") or value.startswith(("//", "/\\")) or len(value) > 2000
            or any(c in value for c in "\r\n\t\\")):
        return "/"
    return value


def reset_link(request: Request) -> str | None:
    """The « forgotten password » page, once the mail feature adds a route of that name."""
    try:
        return str(request.url_for("password_forgot").path)
    except NoMatchFound:
        return None


def login_form(request: Request, next_url: str, error: str | None = None, login: str = "",
               status: int = 200) -> Response:
    return render(request, "site/login.html", {
        "next_url": next_url, "error": error, "login": login, "reset_link": reset_link(request),
        "code_asked": error in CODE_ERRORS.values(),
    }, status=status)


# What a refused second factor shows (site/login.html, oauth/authorize.html).
CODE_ERRORS = {second_factor.MISSING: "totp_missing", second_factor.WRONG: "totp_wrong",
               second_factor.USED: "totp_used"}


async def check_login(hub: Hub, login: str, password: str, address: str,
                      user_agent: str = "") -> int | None:
    """The id of the member with this login and password, or None; ``ApiError`` 429 past
    the limits (503 when the password checks are saturated)."""
    try:  # the login check of the authentication rework (issue 13), when it is there
        from fedi.api.logins import verify_login as verify  # type: ignore[import-not-found]
    except ImportError:
        from fedi.api.oauth import verify_login

        with hub.read_sessions() as session:  # deferred: no write lock while hashing
            user = await verify_login(hub, session, login, password, address)
        return user.id if user is not None else None
    user_id: int | None = await verify(hub, login, password, address, user_agent=user_agent)
    return user_id


async def login_page(request: Request) -> Response:
    next_url = safe_next(request.query_params.get("next"))
    if current_member(request) is not None:
        return RedirectResponse(next_url, status_code=303)
    return login_form(request, next_url)


async def login_submit(request: Request) -> Response:
    hub = hub_of(request)
    async with request.form() as form:
        login = str(form.get("login", ""))[:MAX_LOGIN + 1].strip().lstrip("@")
        password = str(form.get("password", ""))[:MAX_PASSWORD + 1]
        code = str(form.get("code", ""))[:32]
        next_url = safe_next(str(form.get("next", "")))
    try:
        user_id = await check_login(hub, login, password, client_address(request.scope),
                                    request.headers.get("user-agent", ""))
        outcome = check_code(hub, user_id, code) if user_id is not None else None
    except ApiError as exc:
        if exc.status not in (429, 503):
            raise
        error = "rate_limited" if exc.status == 429 else "busy"
        return login_form(request, next_url, error=error, login=login, status=exc.status)
    if user_id is None:
        return login_form(request, next_url, error="bad_login", login=login, status=401)
    if outcome != second_factor.OK:
        return login_form(request, next_url, error=CODE_ERRORS.get(outcome or "", "totp_wrong"),
                          login=login, status=401)
    response = RedirectResponse(next_url, status_code=303, headers={"Cache-Control": "no-store"})
    login_session(request, response, user_id)
    return response


async def logout_page(request: Request) -> Response:
    if current_member(request) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "site/logout.html")


async def logout_submit(request: Request) -> Response:
    response = RedirectResponse("/login", status_code=303, headers={"Cache-Control": "no-store"})
    logout_session(request, response)
    return response


routes = [
    Route("/login", login_page, methods=["GET"], name="login"),
    Route("/login", login_submit, methods=["POST"]),
    Route("/logout", logout_page, methods=["GET"], name="logout"),
    Route("/logout", logout_submit, methods=["POST"]),
]
