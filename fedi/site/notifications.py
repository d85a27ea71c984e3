"""``/notifications``: follow requests to answer, then mentions, replies, favourites, boosts
and new followers (a notification whose post the member can no longer see is hidden)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.models import Actor, Notification, Status
from fedi.services import relationships
from fedi.services.notifications import follow_requests, list_notifications
from fedi.services.relationships import RelationshipError
from fedi.site.page import (
    back,
    linked,
    page_of,
    path_id,
    publish_ctx,
    read_form,
    reading,
    show,
    writing,
)
from fedi.site.posts import Post, build_posts
from fedi.web.session import require_member
from fedi.web.state import hub_of


@dataclass(frozen=True)
class Item:
    notification: Notification
    who: Actor
    post: Post | None


@require_member
async def notifications_page(request: Request) -> Response:
    page = page_of(request, limit=30)
    with reading(request) as (session, actor, _user):
        nb = linked(request)
        rows = list_notifications(session, actor, nb, page)
        senders = {a.id: a for a in session.query(Actor).filter(
            Actor.id.in_([n.from_actor_id for n in rows]))} if rows else {}
        statuses = [session.get(Status, n.status_id) for n in rows if n.status_id]
        posts = {p.id: p for p in build_posts(session, actor, nb,
                                              [s for s in statuses if s is not None])}
        items = [Item(n, senders[n.from_actor_id], posts.get(n.status_id or 0))
                 for n in rows if n.from_actor_id in senders]
        requests = follow_requests(session, actor) if page.max_id is None else []
    return show(request, "site/pages/notifications.html", {
        "nav": "notifications", "items": items, "requests": requests, "limit": page.limit,
        "next_max_id": rows[-1].id if len(rows) >= page.limit else None,
    })


def _answer(accept: bool):  # type: ignore[no-untyped-def]
    @require_member
    async def answer(request: Request) -> Response:
        follower_id = path_id(request)
        form = await read_form(request, ("next",))
        hub = hub_of(request)
        with writing(request) as (session, actor, _user):
            follower = session.get(Actor, follower_id)
            if follower is None:
                raise HTTPException(404)
            try:
                if accept:
                    relationships.accept_follow(session, publish_ctx(hub), actor, follower)
                else:
                    relationships.reject_follow(session, publish_ctx(hub), actor, follower)
            except RelationshipError:
                raise HTTPException(404) from None
        return back(form["next"] or "/notifications")

    answer.__name__ = "accept_request" if accept else "reject_request"
    return answer


routes = [
    Route("/notifications", notifications_page, methods=["GET"], name="notifications"),
    Route("/notifications/requests/{id}/accept", _answer(True), methods=["POST"]),
    Route("/notifications/requests/{id}/reject", _answer(False), methods=["POST"]),
]
