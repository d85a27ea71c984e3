"""``/invitations``: a member invites a neighbour (co-optation). The link they create names
them as sponsor; they see who joined through each link, and who waits for an admin.
Members may invite unless the hub's ``members_may_invite`` setting is off (admins always)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.i18n import translate
from fedi.models import Actor, Invite, Sponsorship, User
from fedi.services.accounts import EMAIL_RE
from fedi.services.hub_settings import get_setting
from fedi.services.invites import (
    MAX_NOTE,
    InviteError,
    applications_of_sponsor,
    create_invite,
    invite_state,
    list_invites,
)
from fedi.services.invites import revoke as revoke_invite
from fedi.services.mail_links import send_invitation
from fedi.site.page import Refused, back, read_form, reading, refusable, show, writing
from fedi.web.session import member_of, require_member
from fedi.web.state import hub_of
from fedi.web.templating import request_language

USES = (1, 5, 10)
LIFETIMES = (7, 14, 30)  # days


@dataclass(frozen=True)
class Joined:
    username: str
    display_name: str
    present: bool


@dataclass(frozen=True)
class InviteRow:
    invite: Invite
    state: str
    url: str
    joined: list[Joined]


def may_invite(session: Session, user: User) -> bool:
    return user.role == "admin" or bool(get_setting(session, "members_may_invite"))


def _rows(session: Session, base: str, user: User) -> list[InviteRow]:
    invites = list_invites(session, user.id)
    ids = [i.id for i in invites]
    joined: dict[int, list[Joined]] = {}
    if ids:
        found = session.execute(
            select(Sponsorship.invite_id, Sponsorship.member_username, Actor.display_name,
                   Actor.id)
            .outerjoin(User, User.id == Sponsorship.member_user_id)
            .outerjoin(Actor, Actor.id == User.actor_id)
            .where(Sponsorship.invite_id.in_(ids)).order_by(Sponsorship.created_at)).all()
        for invite_id, username, display_name, actor_id in found:
            joined.setdefault(invite_id, []).append(
                Joined(username, display_name or username, actor_id is not None))
    return [InviteRow(i, invite_state(i), f"{base}/invite/{i.code}", joined.get(i.id, []))
            for i in invites]


def _page(request: Request, error: str | None = None, created: str | None = None,
          status: int = 200, mailed: str | None = None) -> Response:
    hub = hub_of(request)
    with reading(request) as (session, _actor, user):
        allowed = may_invite(session, user)
        rows = _rows(session, hub.urls.base, user)
        waiting = [a for a in applications_of_sponsor(session, user.id)
                   if a.state in ("pending", "waitlisted")]
        mode = get_setting(session, "registration_mode")
    return show(request, "site/pages/invitations.html", {
        "nav": "", "allowed": allowed, "rows": rows, "waiting": waiting, "mode": mode,
        "error": error, "created": created, "uses": USES, "lifetimes": LIFETIMES,
        "max_note": MAX_NOTE, "mailed": mailed,
    }, status=status)


@require_member
async def invitations_page(request: Request) -> Response:
    created = request.query_params.get("created")
    mailed = request.query_params.get("mailed")
    return _page(request, created=created[:64] if created else None,
                 mailed=mailed[:320] if created and mailed else None)


@require_member
@refusable
async def create(request: Request) -> Response:
    form = await read_form(request, ("uses", "days", "note", "email", "lang"), limit=2000)
    lang = request_language(request)
    uses = int(form["uses"]) if form["uses"].isascii() and form["uses"].isdigit() else 0
    days = int(form["days"]) if form["days"].isascii() and form["days"].isdigit() else 0
    if uses not in USES or days not in LIFETIMES:
        return _page(request, error=translate(lang, "Choose how many people and for how long."),
                     status=422)
    address = form["email"].strip()
    if address and (len(address) > 320 or not EMAIL_RE.match(address)):
        return _page(request, error=translate(lang, "This email address is not valid."),
                     status=422)
    with writing(request) as (session, _actor, user):
        if not may_invite(session, user):
            raise HTTPException(403)
        try:
            invite = create_invite(session, user, max_uses=uses, lifetime=timedelta(days=days),
                                   note=form["note"])
        except InviteError as exc:
            raise Refused(_page(request, error=exc.message(lang), status=422)) from None
        if address:
            send_invitation(session, hub_of(request).settings, invite,
                            member_of(request).actor.display_name or member_of(request).username,
                            address, form["lang"] if form["lang"] in ("fr", "en") else lang)
    if address:
        wake = hub_of(request).extras.get("mail_sender")
        if wake is not None:
            wake.wake()
        return back(f"/invitations?created={invite.code}&mailed={quote(address)}")
    return back(f"/invitations?created={invite.code}")


@require_member
async def revoke(request: Request) -> Response:
    code = request.path_params["code"][:64]
    with writing(request) as (session, _actor, user):
        invite = session.scalar(select(Invite).where(Invite.code == code,
                                                     Invite.inviter_user_id == user.id))
        if invite is None:
            raise HTTPException(404)
        revoke_invite(session, code)
    return back("/invitations")


routes = [
    Route("/invitations", invitations_page, methods=["GET"], name="invitations"),
    Route("/invitations", create, methods=["POST"]),
    Route("/invitations/{code}/revoke", revoke, methods=["POST"]),
]
