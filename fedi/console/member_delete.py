"""``/console/members/<name>/delete``: an admin deletes a member's account, after a
confirmation page (the admin types the username). Same path as « Supprimer mon compte »
(fedi.services.erasure): suspended at once, ``Delete`` sent, data erased after the grace
period; the audit log records who did it and why."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.console.access import ADMIN, by_of, done, page, reading, require_role, writing
from fedi.services import audit, erasure, membership
from fedi.services.membership import MembershipError
from fedi.site.account_delete import purge_files
from fedi.site.page import publish_ctx, read_form
from fedi.web.state import hub_of
from fedi.web.templating import request_language


def _confirm_page(request: Request, username: str, error: str | None = None,
                  status: int = 200) -> Response:
    with reading(request) as session:
        try:
            user, actor = membership.find_member(session, username)
        except MembershipError:
            raise HTTPException(404) from None
        days = erasure.grace_days(session)
    return page(request, "console/member_delete.html", {
        "nav": "members", "user": user, "actor": actor, "grace_days": days, "error": error},
        status=status)


@require_role(*ADMIN)
async def confirm_page(request: Request) -> Response:
    return _confirm_page(request, request.path_params["username"][:64])


@require_role(*ADMIN)
async def delete_member(request: Request) -> Response:
    username = request.path_params["username"][:64]
    form = await read_form(request, ("confirm", "reason"), limit=2000)
    lang = request_language(request)
    if form["confirm"].strip().lstrip("@").lower() != username.lower():
        message = ("Tapez l'identifiant du membre pour confirmer." if lang == "fr"
                   else "Type the member's username to confirm.")
        return _confirm_page(request, username, message, 422)
    by = by_of(request)
    hub = hub_of(request)
    try:
        with writing(request) as session:
            user, actor = membership.find_member(session, username)
            if by.username == actor.username:
                raise MembershipError(
                    "self", "delete your own account from your settings",
                    "supprimez votre propre compte depuis vos paramètres")
            row = erasure.request_deletion(session, publish_ctx(hub), by, user, actor)
            if form["reason"].strip():
                audit.record(session, by.username, by.role, "member.delete.reason",
                             f"@{actor.username}", {"reason": form["reason"][:2000]})
            erased = row.erased_at is not None
    except MembershipError as exc:
        if exc.code == "unknown":
            raise HTTPException(404) from None
        return _confirm_page(request, username, exc.message(lang), 422)
    if erased:
        purge_files(hub)
    return done("/console/members?done=deleted")


routes = [
    Route("/console/members/{username}/delete", confirm_page, methods=["GET"]),
    Route("/console/members/{username}/delete", delete_member, methods=["POST"]),
]
