"""``/console/applications``: sign-ups waiting for approval, with their sponsor's history;
approve or refuse with a message (fedi.services.registration), and the hub's invitations."""

from __future__ import annotations

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.console.access import STAFF, by_of, done, page, reading, require_role, writing
from fedi.i18n import N_, translate
from fedi.keys import generate_private_key_pem
from fedi.models import Application, Invite
from fedi.services import audit, registration
from fedi.services.accounts_profile import announce_new_member
from fedi.services.invites import InviteError, invite_state, list_invites
from fedi.services.invites import revoke as revoke_invite
from fedi.services.membership import sponsor_history
from fedi.services.trades import label, list_trades
from fedi.site.page import path_id, publish_ctx, read_form
from fedi.web.state import hub_of
from fedi.web.templating import request_language

MAX_REASON = 2000
NOTICES = {"approved": N_("The application is approved: the account is ready."),
           "refused": N_("The application is refused."),
           "revoked": N_("The invitation is revoked.")}


def _applications_page(request: Request, error: str | None = None, status: int = 200,
                       reason: str = "", failed_id: int | None = None) -> Response:
    lang = request_language(request)
    with reading(request) as session:
        rows = [(app, sponsor_history(session, app.sponsor_user_id))
                for app in registration.list_applications(session)]
        trades = {t.slug: label(t, lang) for t in list_trades(session)}
    notice = NOTICES.get(request.query_params.get("done", ""))
    return page(request, "console/applications.html", {
        "nav": "applications", "rows": rows, "trades": trades, "error": error,
        "reason": reason, "failed_id": failed_id, "max_reason": MAX_REASON,
        "notice": translate(lang, notice) if notice else None}, status=status)


@require_role(*STAFF)
async def applications_page(request: Request) -> Response:
    return _applications_page(request)


async def _decide(request: Request, approve: bool) -> Response:
    app_id = path_id(request)
    form = await read_form(request, ("reason",), limit=MAX_REASON + 1)
    lang = request_language(request)
    reason = form["reason"].strip()
    if len(reason) > MAX_REASON:
        return _applications_page(request, translate(
            lang, "The message is too long (2000 characters at most)."), 422, reason, app_id)
    by = by_of(request)
    # The new member's key is made before the transaction (no write lock held meanwhile).
    key = await run_in_threadpool(generate_private_key_pem) if approve else None
    try:
        with writing(request) as session:
            app = session.get(Application, app_id)
            if app is None:
                raise HTTPException(404)
            if approve:
                user = registration.approve(session, hub_of(request).settings, app,
                                            private_key_pem=key)
                announce_new_member(session, publish_ctx(hub_of(request)), user.actor_id)
            else:
                registration.refuse(session, app, reason)
            audit.record(session, by.username, by.role,
                         "application.approve" if approve else "application.refuse",
                         f"@{app.username}", {"reason": reason} if reason else {})
    except registration.ApplicationError as exc:
        return _applications_page(request, translate(
            lang, "This application cannot be decided: %(why)s") % {"why": str(exc)}, 422,
            reason, app_id)
    return done("/console/applications?done=" + ("approved" if approve else "refused"))


@require_role(*STAFF)
async def approve(request: Request) -> Response:
    return await _decide(request, True)


@require_role(*STAFF)
async def refuse(request: Request) -> Response:
    return await _decide(request, False)


@require_role(*STAFF)
async def invites_page(request: Request) -> Response:
    lang = request_language(request)
    with reading(request) as session:
        rows = [(invite, invite_state(invite)) for invite in list_invites(session)]
    notice = NOTICES.get(request.query_params.get("done", ""))
    return page(request, "console/invites.html", {
        "nav": "invites", "rows": rows,
        "notice": translate(lang, notice) if notice else None})


@require_role(*STAFF)
async def revoke(request: Request) -> Response:
    code = request.path_params["code"][:64]
    by = by_of(request)
    with writing(request) as session:
        if session.scalar(select(Invite.id).where(Invite.code == code)) is None:
            raise HTTPException(404)
        try:
            invite = revoke_invite(session, code)
        except InviteError:
            raise HTTPException(404) from None
        audit.record(session, by.username, by.role, "invite.revoke", code,
                     {"inviter": invite.inviter_username or ""})
    return done("/console/invites?done=revoked")


routes = [
    Route("/console/applications", applications_page, methods=["GET"]),
    Route("/console/applications/{id}/approve", approve, methods=["POST"]),
    Route("/console/applications/{id}/refuse", refuse, methods=["POST"]),
    Route("/console/invites", invites_page, methods=["GET"]),
    Route("/console/invites/{code}/revoke", revoke, methods=["POST"]),
]
