"""``/settings/totp``: turn the TOTP second factor on (a secret and its ``otpauth://``
address for the authenticator app, then a first code to confirm) or off (password and a
code). Admins are sent here when the hub requires it before the console opens
(fedi.console.access)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fedi import totp
from fedi.api.errors import ApiError
from fedi.api.second_factor import check_code
from fedi.db import transaction, utcnow
from fedi.models import User
from fedi.services import second_factor
from fedi.services.accounts import check_password
from fedi.site.page import read_form
from fedi.web.session import member_of, require_member
from fedi.web.state import hub_of
from fedi.web.templating import render

MAX_PASSWORD = 1024
PATH = "/settings/totp"


def totp_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    member = member_of(request)
    hub = hub_of(request)
    with hub.read_sessions() as session:
        user = session.get(User, member.user.id)
        assert user is not None
        state = second_factor.setup_state(user)
        enabled_at = user.totp_enabled_at
    secret = state.secret
    account = f"{member.username}@{hub.settings.domain}"
    return render(request, "site/totp.html", {
        "nav": "settings", "enabled": state.enabled, "enabled_at": enabled_at,
        "secret": totp.grouped(secret) if secret else None,
        "uri": totp.provisioning_uri(secret, account, hub.settings.name) if secret else None,
        "account": account, "error": error,
        "required": request.query_params.get("required") == "1",
        "saved": request.query_params.get("saved", "")[:8],
    }, status=status)


def back(query: str = "") -> Response:
    return RedirectResponse(PATH + query, status_code=303, headers={"Cache-Control": "no-store"})


@require_member
async def totp_page(request: Request) -> Response:
    return totp_form(request)


@require_member
async def start(request: Request) -> Response:
    member = member_of(request)
    form = await read_form(request, ("required",), limit=8)
    with transaction(hub_of(request).write_sessions) as session:
        user = session.get(User, member.user.id)
        assert user is not None
        if second_factor.is_enabled(user):
            return back()
        second_factor.start_setup(session, user)
    return back("?required=1" if form["required"] == "1" else "")


@require_member
async def confirm(request: Request) -> Response:
    member = member_of(request)
    form = await read_form(request, ("code",), limit=32)
    with transaction(hub_of(request).write_sessions) as session:
        user = session.get(User, member.user.id)
        assert user is not None
        if second_factor.is_enabled(user):
            return back()
        if not user.totp_secret:
            return totp_form(request, "not_started", 422)
        outcome = second_factor.confirm_setup(session, user, form["code"], utcnow())
    if outcome != second_factor.OK:
        return totp_form(request, "code_" + outcome, 422)
    return back("?saved=on")


@require_member
async def disable(request: Request) -> Response:
    member = member_of(request)
    form = await read_form(request, ("password", "code"), limit=MAX_PASSWORD + 1)
    hub = hub_of(request)
    with hub.read_sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.id == member.user.id))
    password = form["password"]
    # argon2 runs with no transaction open.
    ok = stored is not None and len(password) <= MAX_PASSWORD and await run_in_threadpool(
        check_password, stored, password)
    if not ok:
        return totp_form(request, "password_wrong", 422)
    try:
        outcome = check_code(hub, member.user.id, form["code"])
    except ApiError:
        return totp_form(request, "rate_limited", 429)
    if outcome != second_factor.OK:
        return totp_form(request, "code_" + outcome, 422)
    with transaction(hub.write_sessions) as session:
        user = session.get(User, member.user.id)
        assert user is not None
        second_factor.disable(session, user)
    return back("?saved=off")


routes = [
    Route(PATH, totp_page, methods=["GET"], name="totp_settings"),
    Route(PATH + "/start", start, methods=["POST"]),
    Route(PATH + "/confirm", confirm, methods=["POST"]),
    Route(PATH + "/disable", disable, methods=["POST"]),
]
