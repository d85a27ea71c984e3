"""``/settings/email`` (ask for a new address, with the password) and ``/email/change/<token>``
(the link mailed to the new address). The answer to a request is the same whether the new
address can be used or not (fedi.services.email_change)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fedi.api.ratelimit import limiter_of
from fedi.db import transaction
from fedi.models import User
from fedi.services.email_change import apply_change, request_change, valid_address
from fedi.services.passwords import PasswordsBusy, password_work_of
from fedi.site.page import read_form
from fedi.site.settings import MAX_PASSWORD, settings_form
from fedi.web.session import member_of, require_member
from fedi.web.state import Hub, hub_of
from fedi.web.templating import render

CHANGES_PER_HOUR = 5  # requests an hour for one member
HOUR = 3600.0


def wake_sender(hub: Hub) -> None:
    sender = hub.extras.get("mail_sender")
    if sender is not None:
        sender.wake()


@require_member
async def change_email(request: Request) -> Response:
    hub = hub_of(request)
    member = member_of(request)
    form = await read_form(request, ("email", "password"), limit=MAX_PASSWORD + 1)
    address, password = form["email"].strip(), form["password"]
    if not valid_address(address):
        return settings_form(request, "email_invalid", 422)
    window = limiter_of(hub).hit(f"email-change:{member.user.id}", CHANGES_PER_HOUR, HOUR)
    if not window.allowed:
        return settings_form(request, "email_rate_limited", 429)
    with hub.read_sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.id == member.user.id))
    try:
        ok = stored is not None and len(password) <= MAX_PASSWORD and (
            await password_work_of(hub.extras).verify(stored, password)).ok
    except PasswordsBusy:
        return settings_form(request, "password_busy", 503)
    if not ok:
        return settings_form(request, "email_password_wrong", 422)
    with transaction(hub.write_sessions) as session:
        user = session.get(User, member.user.id)
        if user is not None:
            request_change(session, hub.settings, user, address)
    wake_sender(hub)
    return RedirectResponse("/settings?saved=email#email", status_code=303,
                            headers={"Cache-Control": "no-store"})


async def change_page(request: Request) -> Response:
    hub = hub_of(request)
    token = request.path_params["token"][:200]

    def run() -> bool:
        with transaction(hub.write_sessions) as session:
            return apply_change(session, token)

    headers = {"Referrer-Policy": "no-referrer"}
    if not await run_in_threadpool(run):
        return render(request, "site/password_invalid.html", status=404, headers=headers)
    return render(request, "site/email_changed.html", headers=headers)


routes = [
    Route("/settings/email", change_email, methods=["POST"]),
    Route("/email/change/{token}", change_page, methods=["GET"], name="email_change"),
]
