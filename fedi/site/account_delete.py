"""``/settings/delete``: « Supprimer mon compte ».

The member confirms with their password, after a warning that says what goes and what
stays. The account is then suspended at once, the ``Delete`` of the actor goes out, and the
personal data is erased at once or after the hub's grace period (fedi.services.erasure).
A wrong password shows the form again and changes nothing.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.db import transaction
from fedi.models import Actor, User
from fedi.services import erasure
from fedi.services.accounts import check_password
from fedi.services.membership import By, MembershipError
from fedi.site.page import publish_ctx, read_form
from fedi.web.session import logout_session, member_of, require_member
from fedi.web.state import Hub, hub_of
from fedi.web.templating import render, request_language

MAX_PASSWORD = 1024


def delete_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    with hub_of(request).read_sessions() as session:
        days = erasure.grace_days(session)
    return render(request, "site/account_delete.html", {
        "nav": "settings", "error": error, "grace_days": days}, status=status)


@require_member
async def delete_page(request: Request) -> Response:
    return delete_form(request)


def purge_files(hub: Hub) -> None:
    """Delete the erased member's media files now rather than at the privacy job's next
    pass (an account erased at once should not leave its pictures behind for minutes)."""
    from fedi.api.media import media_of

    _settings, storage = media_of(hub)
    with transaction(hub.write_sessions) as session:
        erasure.purge_media(session, storage.delete)


@require_member
async def delete_account(request: Request) -> Response:
    member = member_of(request)
    hub = hub_of(request)
    form = await read_form(request, ("password",), limit=MAX_PASSWORD + 1)
    password = form["password"]
    with hub.read_sessions() as session:
        stored = session.scalar(select(User.password_hash).where(User.id == member.user.id))
    # argon2 runs with no transaction open (as the password change does).
    ok = (stored is not None and 0 < len(password) <= MAX_PASSWORD
          and await run_in_threadpool(check_password, stored, password))
    if not ok:
        return delete_form(request, "password_wrong", 422)
    try:
        with transaction(hub.write_sessions) as session:
            user = session.get(User, member.user.id)
            actor = session.get(Actor, member.user.actor_id)
            assert user is not None and actor is not None
            row = erasure.request_deletion(session, publish_ctx(hub),
                                           By(actor.username, user.role), user, actor)
            erased = row.erased_at is not None
    except MembershipError as exc:
        return delete_form(request, exc.message(request_language(request)), 422)
    if erased:
        purge_files(hub)
    request.state.member = None  # the page is shown logged out
    response = render(request, "site/account_deleted.html", {"erased": erased})
    logout_session(request, response)
    return response


routes = [
    Route("/settings/delete", delete_page, methods=["GET"], name="account_delete"),
    Route("/settings/delete", delete_account, methods=["POST"]),
]
