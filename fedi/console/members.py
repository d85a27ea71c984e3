"""``/console/members``: the member list (search, filters), one member's page, suspend /
reinstate (admin and moderator), change role (admin only), and the invite tree."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.console.access import ADMIN, STAFF, by_of, done, page, reading, require_role, writing
from fedi.i18n import N_, translate
from fedi.services import membership
from fedi.services.invites import TreeEntry, invited_by, sponsor_chain
from fedi.services.membership import MemberFilter, MembershipError
from fedi.services.trades import label, list_trades
from fedi.site.page import publish_ctx, read_form
from fedi.web.state import hub_of
from fedi.web.templating import request_language

NOTICES = {
    "suspended": N_("The member is suspended."),
    "reinstated": N_("The member is reinstated."),
    "role": N_("The role was changed."),
    "deleted": N_("The account is deleted."),
}


def _filter(request: Request) -> MemberFilter:
    params = request.query_params
    return MemberFilter(q=params.get("q", "")[:100], role=params.get("role", "")[:16],
                        status=params.get("status", "")[:16], trade=params.get("trade", "")[:128],
                        postal_code=params.get("postal_code", "")[:16])


def _notice(request: Request, lang: str) -> str | None:
    notice = NOTICES.get(request.query_params.get("done", ""))
    return translate(lang, notice) if notice else None


@require_role(*STAFF)
async def members_page(request: Request) -> Response:
    lang = request_language(request)
    wanted = _filter(request)
    with reading(request) as session:
        rows = membership.search_members(session, wanted)
        trades = [(t.slug, label(t, lang)) for t in list_trades(session)]
    return page(request, "console/members.html", {
        "nav": "members", "rows": rows, "f": wanted, "trades": trades,
        "trade_labels": dict(trades), "roles": membership.ROLES,
        "statuses": membership.STATUSES, "notice": _notice(request, lang)})


def _member_page(request: Request, username: str, error: str | None = None,
                 status: int = 200) -> Response:
    lang = request_language(request)
    with reading(request) as session:
        try:
            user, actor = membership.find_member(session, username)
        except MembershipError:
            raise HTTPException(404) from None
        up = list(reversed(sponsor_chain(session, user.id)))
        down = invited_by(session, user.id)
        trades = {t.slug: label(t, lang) for t in list_trades(session)}
    notice = NOTICES.get(request.query_params.get("done", ""))
    return page(request, "console/member.html", {
        "nav": "members", "user": user, "actor": actor, "up": up, "down": down,
        "trade": trades.get(actor.trade or "", actor.trade or ""),
        "roles": membership.ROLES, "error": error,
        "notice": translate(lang, notice) if notice else None}, status=status)


@require_role(*STAFF)
async def member_page(request: Request) -> Response:
    return _member_page(request, request.path_params["username"][:64])


async def _change(request: Request, what: str) -> Response:
    username = request.path_params["username"][:64]
    form = await read_form(request, ("reason", "role"), limit=2000)
    lang = request_language(request)
    by = by_of(request)
    try:
        with writing(request) as session:
            if what == "suspend":
                membership.suspend(session, publish_ctx(hub_of(request)), by, username,
                                   form["reason"])
            elif what == "reinstate":
                membership.reinstate(session, publish_ctx(hub_of(request)), by, username)
            else:
                membership.set_role(session, by, username, form["role"])
    except MembershipError as exc:
        if exc.code == "unknown":
            raise HTTPException(404) from None
        return _member_page(request, username, error=exc.message(lang), status=422)
    flag = {"suspend": "suspended", "reinstate": "reinstated"}.get(what, "role")
    return done(f"/console/members/{username}?done={flag}")


@require_role(*STAFF)
async def suspend(request: Request) -> Response:
    return await _change(request, "suspend")


@require_role(*STAFF)
async def reinstate(request: Request) -> Response:
    return await _change(request, "reinstate")


@require_role(*ADMIN)
async def change_role(request: Request) -> Response:
    return await _change(request, "role")


@require_role(*STAFF)
async def tree_page(request: Request) -> Response:
    """The invite tree: up from a member to the root, and down to everyone they brought in
    (from the founders when no member is asked)."""
    name = request.query_params.get("member", "").strip()[:64]
    lang = request_language(request)
    error = None
    up: list[TreeEntry] = []
    down: list[TreeEntry] = []
    found = None
    with reading(request) as session:
        if name:
            try:
                user, actor = membership.find_member(session, name)
                found = actor.username
                up = list(reversed(sponsor_chain(session, user.id)))
                down = invited_by(session, user.id)
            except MembershipError as exc:
                error = exc.message(lang)
    return page(request, "console/tree.html", {
        "nav": "members", "name": name, "found": found, "up": up, "down": down,
        "error": error}, status=404 if error else 200)


routes = [
    Route("/console/members", members_page, methods=["GET"]),
    Route("/console/tree", tree_page, methods=["GET"]),
    Route("/console/members/{username}", member_page, methods=["GET"]),
    Route("/console/members/{username}/suspend", suspend, methods=["POST"]),
    Route("/console/members/{username}/reinstate", reinstate, methods=["POST"]),
    Route("/console/members/{username}/role", change_role, methods=["POST"]),
]
