"""ActivityPub GETs: the instance actor (unsigned) and members (signed, allowed hubs only)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.convert.model_to_ap import instance_actor, person
from fedi.models import Actor
from fedi.services.accounts import ensure_instance_actor, find_local_actor
from fedi.services.media import with_profile_images
from fedi.verification import RequestRejected
from fedi.vocab.context import accepts_activitypub
from fedi.web.html_links import html_view
from fedi.web.signed import ap_json, not_found, rejected, verify
from fedi.web.state import hub_of


async def get_instance_actor(request: Request) -> Response:
    hub = hub_of(request)
    with hub.sessions() as session:
        actor = session.scalar(select(Actor).where(Actor.uri == hub.urls.instance_actor))
        if actor is None:
            with session.begin():
                actor = ensure_instance_actor(session, hub.settings)
    # Served unsigned so that a signed fetch of it can never deadlock (protocol.md §2.2).
    return ap_json(instance_actor(actor, hub.urls, hub.settings), private=False)


async def get_person(request: Request) -> Response:
    if not accepts_activitypub(request.headers.get("accept", "")):
        return html_view(request)
    hub = hub_of(request)
    try:
        await verify(request)
    except RequestRejected as exc:
        return rejected(exc)
    with hub.read_sessions() as session:
        actor = find_local_actor(session, request.path_params["username"])
        if actor is None:
            return not_found()
        doc = with_profile_images(session, person(actor, hub.urls), actor, hub.urls.base)
    return ap_json(doc)


routes = [
    Route("/actor", get_instance_actor),
    Route("/users/{username}", get_person),
]
