"""``/password/forgot``, ``/password/reset/<token>`` and ``/email/confirm/<token>``.

A reset request answers the same whether the address is a member's or not (same redirect,
same page, the same work on the server: fedi.services.mail_links.request_reset) and is
limited per address and per client address. The link mailed works once, for an hour; the
new password is hashed outside any transaction, then every web session and API token of
the member is ended.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fedi.api.ratelimit import client_address, limiter_of
from fedi.db import transaction
from fedi.services.mail_links import confirm_email, request_reset, reset_password, reset_target
from fedi.services.passwords import PasswordsBusy, password_work_of
from fedi.site.page import read_form
from fedi.web.session import end_all_sessions
from fedi.web.state import Hub, hub_of
from fedi.web.templating import render, request_language

RESET_PER_ADDRESS = 5  # requests an hour for one email address
RESET_PER_CLIENT = 30  # requests an hour from one client address
HOUR = 3600.0
MIN_PASSWORD = 8
MAX_PASSWORD = 1024


def _wake_sender(hub: Hub) -> None:
    sender = hub.extras.get("mail_sender")
    if sender is not None:
        sender.wake()


async def forgot_page(request: Request) -> Response:
    sent = request.query_params.get("sent") == "1"
    return render(request, "site/password_forgot.html", {"sent": sent, "error": None})


async def forgot_submit(request: Request) -> Response:
    hub = hub_of(request)
    form = await read_form(request, ("email",), limit=321)
    email = form["email"].strip()
    if not email or len(email) > 320 or "@" not in email:
        return render(request, "site/password_forgot.html",
                      {"sent": False, "error": "invalid"}, status=422)
    limiter = limiter_of(hub)
    per_client = limiter.hit(f"reset-ip:{client_address(request.scope)}", RESET_PER_CLIENT,
                             HOUR)
    per_address = limiter.hit(f"reset-address:{email.lower()}", RESET_PER_ADDRESS, HOUR)
    if not (per_client.allowed and per_address.allowed):
        window = per_client if not per_client.allowed else per_address
        return render(request, "site/password_forgot.html",
                      {"sent": False, "error": "rate_limited"}, status=429,
                      headers=window.headers())
    lang = request_language(request)

    def run() -> None:
        with transaction(hub.write_sessions) as session:
            request_reset(session, hub.settings, email, lang)

    await run_in_threadpool(run)
    _wake_sender(hub)
    return RedirectResponse("/password/forgot?sent=1", status_code=303,
                            headers={"Cache-Control": "no-store"})


def _invalid(request: Request) -> Response:
    return render(request, "site/password_invalid.html", status=404,
                  headers={"Referrer-Policy": "no-referrer"})


def _target(hub: Hub, token: str) -> int | None:
    with hub.read_sessions() as session:
        return reset_target(session, token)


async def reset_page(request: Request) -> Response:
    token = request.path_params["token"][:200]
    if await run_in_threadpool(_target, hub_of(request), token) is None:
        return _invalid(request)
    return render(request, "site/password_reset.html", {"token": token, "error": None},
                  headers={"Referrer-Policy": "no-referrer"})


async def reset_submit(request: Request) -> Response:
    hub = hub_of(request)
    token = request.path_params["token"][:200]
    form = await read_form(request, ("password", "confirmation"), limit=MAX_PASSWORD + 1)
    if await run_in_threadpool(_target, hub, token) is None:
        return _invalid(request)
    password = form["password"]
    error = None
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        error = "length"
    elif password != form["confirmation"]:
        error = "mismatch"
    if error is not None:
        return render(request, "site/password_reset.html", {"token": token, "error": error},
                      status=422, headers={"Referrer-Policy": "no-referrer"})
    try:
        password_hash = await password_work_of(hub.extras).hash(password)
    except PasswordsBusy:
        return render(request, "site/password_reset.html", {"token": token, "error": "busy"},
                      status=503, headers={"Referrer-Policy": "no-referrer"})

    def run() -> bool:
        with transaction(hub.write_sessions) as session:
            user_id = reset_password(session, token, password_hash)
            if user_id is None:
                return False
            end_all_sessions(session, user_id)  # every browser, this one included
            return True

    if not await run_in_threadpool(run):
        return _invalid(request)
    request.state.member = None
    return render(request, "site/password_done.html",
                  headers={"Referrer-Policy": "no-referrer"})


async def confirm_page(request: Request) -> Response:
    hub = hub_of(request)
    token = request.path_params["token"][:200]

    def run() -> bool:
        with transaction(hub.write_sessions) as session:
            return confirm_email(session, token)

    if not await run_in_threadpool(run):
        return _invalid(request)
    return render(request, "site/email_confirmed.html",
                  headers={"Referrer-Policy": "no-referrer"})


routes = [
    Route("/password/forgot", forgot_page, methods=["GET"], name="password_forgot"),
    Route("/password/forgot", forgot_submit, methods=["POST"]),
    Route("/password/reset/{token}", reset_page, methods=["GET"], name="password_reset"),
    Route("/password/reset/{token}", reset_submit, methods=["POST"]),
    Route("/email/confirm/{token}", confirm_page, methods=["GET"], name="email_confirm"),
]
