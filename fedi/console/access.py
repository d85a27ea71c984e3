"""Who may open which console page, checked on the server for every page and action.

Each console endpoint is decorated with ``require_role(...)``, which records the roles on
the endpoint (``console_roles``; tests/console/test_console_routes.py walks the route
table and fails on an endpoint without it): logged-out visitors go to the login page, a
member without the role gets the 403 page, an admin without TOTP on a hub that requires
it goes to the set-up page. Admins may do everything; the moderator (the
community manager) runs membership and moderation, not roles nor hub settings.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fedi.db import transaction
from fedi.services.hub_settings import get_setting
from fedi.services.membership import By
from fedi.web.session import current_member, login_url, member_of
from fedi.web.state import hub_of
from fedi.web.templating import render

Endpoint = Callable[[Request], Awaitable[Response]]
STAFF = ("admin", "moderator")
ADMIN = ("admin",)
ROLES_ATTRIBUTE = "console_roles"


def require_role(*roles: str) -> Callable[[Endpoint], Endpoint]:
    def wrap(endpoint: Endpoint) -> Endpoint:
        @wraps(endpoint)
        async def run(request: Request) -> Response:
            member = current_member(request)
            if member is None:
                if request.method in ("GET", "HEAD"):
                    return RedirectResponse(login_url(request), status_code=303,
                                            headers={"Cache-Control": "no-store"})
                return RedirectResponse("/login", status_code=303)
            if member.user.role not in roles:
                raise HTTPException(403)
            if member.user.role == "admin" and totp_missing(request):
                return RedirectResponse("/settings/totp?required=1", status_code=303,
                                        headers={"Cache-Control": "no-store"})
            return await endpoint(request)

        setattr(run, ROLES_ATTRIBUTE, tuple(roles))
        return run

    return wrap


def totp_missing(request: Request) -> bool:
    """The hub requires TOTP of admins and this admin has not turned it on."""
    member = member_of(request)
    if member.user.totp_enabled_at is not None:
        return False
    with hub_of(request).read_sessions() as session:
        return bool(get_setting(session, "totp_required_for_admins"))


def by_of(request: Request) -> By:
    member = member_of(request)
    return By(member.username, member.user.role)


@contextmanager
def reading(request: Request) -> Iterator[Session]:
    with hub_of(request).read_sessions() as session:
        yield session


@contextmanager
def writing(request: Request) -> Iterator[Session]:
    with transaction(hub_of(request).write_sessions) as session:
        yield session


def page(request: Request, template: str, values: dict[str, Any], status: int = 200) -> Response:
    member = member_of(request)
    return render(request, template, {"is_admin": member.user.role == "admin",
                                      "role": member.user.role, **values}, status=status)


def done(path: str) -> Response:
    """Post/redirect/get to a console page."""
    if not path.startswith("/console"):
        path = "/console"
    return RedirectResponse(path, status_code=303, headers={"Cache-Control": "no-store"})
