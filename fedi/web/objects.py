"""Signed GETs of statuses and collections: served only to who may see them, else 404."""

from __future__ import annotations

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.convert.events import EVENT_CONTEXT
from fedi.convert.media_entity import with_documents
from fedi.convert.model_to_ap import ordered_collection
from fedi.models import Actor, Follow, Mention, Status
from fedi.services.accounts import find_local_actor
from fedi.services.events import ap_object
from fedi.services.media import attachments_of
from fedi.services.relationships import may_list_follows
from fedi.services.visibility import can_see
from fedi.verification import RequestRejected
from fedi.vocab.context import AS, accepts_activitypub
from fedi.web.html_links import html_view
from fedi.web.signed import ap_json, not_found, rejected, verify
from fedi.web.state import hub_of

PAGE = 20


async def _viewer(request: Request) -> Actor | Response:
    """The signing actor (stored), or the response to send instead."""
    if not accepts_activitypub(request.headers.get("accept", "")):
        return html_view(request)
    try:
        signer = await verify(request)
    except RequestRejected as exc:
        return rejected(exc)
    hub = hub_of(request)
    with hub.read_sessions() as session:
        actor = session.scalar(select(Actor).where(Actor.uri == signer.actor_uri))
    if actor is None:
        return not_found()
    return actor


def _mentions(session, status: Status) -> list[Actor]:  # type: ignore[no-untyped-def]
    return list(session.scalars(select(Actor).join(Mention, Mention.actor_id == Actor.id)
                                .where(Mention.status_id == status.id)))


async def get_status(request: Request) -> Response:
    viewer = await _viewer(request)
    if isinstance(viewer, Response):
        return viewer
    hub = hub_of(request)
    try:
        status_id = int(request.path_params["status_id"])
    except ValueError:
        return not_found()
    with hub.read_sessions() as session:
        author = find_local_actor(session, request.path_params["username"])
        status = session.get(Status, status_id)
        if (author is None or status is None or status.actor_id != author.id
                or not can_see(session, viewer, status, is_linked=hub.peers.is_linked)):
            return not_found()
        doc = ap_object(session, hub.settings, hub.urls.base, status, author,
                        _mentions(session, status))
        with_documents(doc, attachments_of(session, [status.id]).get(status.id, []),
                       hub.urls.base)
    doc["@context"] = EVENT_CONTEXT if doc.get("type") == "Event" else AS
    return ap_json(doc)


async def get_outbox(request: Request) -> Response:
    """The member's statuses that this requester may see (newest first, one page)."""
    viewer = await _viewer(request)
    if isinstance(viewer, Response):
        return viewer
    hub = hub_of(request)
    with hub.read_sessions() as session:
        author = find_local_actor(session, request.path_params["username"])
        if author is None:
            return not_found()
        statuses = session.scalars(select(Status).where(
            Status.actor_id == author.id, Status.deleted_at.is_(None), Status.local,
            Status.reblog_of_id.is_(None)).order_by(Status.id.desc()).limit(200))
        visible = [s for s in statuses
                   if can_see(session, viewer, s, is_linked=hub.peers.is_linked)][:PAGE]
        items = [{"id": f"{s.uri}/activity", "type": "Create", "actor": author.uri,
                  "object": ap_object(session, hub.settings, hub.urls.base, s, author,
                                      _mentions(session, s))} for s in visible]
    return ap_json(ordered_collection(hub.urls.outbox(author.username), items))


async def _relations(request: Request, followers: bool) -> Response:
    viewer = await _viewer(request)
    if isinstance(viewer, Response):
        return viewer
    hub = hub_of(request)
    with hub.read_sessions() as session:
        member = find_local_actor(session, request.path_params["username"])
        if member is None:
            return not_found()
        mine, other = ((Follow.followee_id, Follow.follower_id) if followers
                       else (Follow.follower_id, Follow.followee_id))
        total = session.scalar(select(func.count()).select_from(Follow).where(
            mine == member.id, Follow.state == "accepted")) or 0
        # The API's rule (may_list_follows): another hub's signed fetch gets the count only.
        items: list[str] | None = None
        if may_list_follows(viewer, member):
            items = list(session.scalars(
                select(Actor.uri).join(Follow, other == Actor.id)
                .where(mine == member.id, Follow.state == "accepted")
                .order_by(Follow.id.desc()).limit(PAGE)))
    url = hub.urls.followers(member.username) if followers else hub.urls.following(member.username)
    return ap_json(ordered_collection(url, items, total=total))


async def get_followers(request: Request) -> Response:
    return await _relations(request, followers=True)


async def get_following(request: Request) -> Response:
    return await _relations(request, followers=False)


async def get_featured(request: Request) -> Response:
    viewer = await _viewer(request)
    if isinstance(viewer, Response):
        return viewer
    hub = hub_of(request)
    name = request.path_params["username"]
    return ap_json(ordered_collection(f"{hub.urls.actor(name)}/collections/featured", []))


routes = [
    Route("/users/{username}/statuses/{status_id}", get_status),
    Route("/users/{username}/statuses/{status_id}/activity", get_status),
    Route("/users/{username}/outbox", get_outbox),
    Route("/users/{username}/followers", get_followers),
    Route("/users/{username}/following", get_following),
    Route("/users/{username}/collections/featured", get_featured),
]
