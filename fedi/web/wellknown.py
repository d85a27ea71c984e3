"""Discovery: WebFinger, host-meta and NodeInfo (protocol.md §1). Unsigned by design."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedi import __version__
from fedi.models import Actor, Status
from fedi.services.accounts import find_local_actor
from fedi.vocab.context import ACTIVITY_JSON, JRD_JSON
from fedi.web.errors import error_response
from fedi.web.state import hub_of

NODEINFO_20 = "http://nodeinfo.diaspora.software/ns/schema/2.0"
NODEINFO_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"


def _username_for(resource: str, domain: str, base: str) -> str | None:
    """The local username a WebFinger resource names, or None when it is not ours."""
    resource = resource.removeprefix("acct:")
    if resource.startswith(("http://", "https://")):
        if not resource.startswith(base + "/"):
            return None
        path = urlsplit(resource).path
        for prefix in ("/users/", "/@"):
            if path.startswith(prefix) and "/" not in path[len(prefix):]:
                return path[len(prefix):]
        return None
    resource = resource.lstrip("@")
    if "@" not in resource:
        return None
    user, host = resource.rsplit("@", 1)
    if host.lower() != domain:
        return None
    return user


async def webfinger(request: Request) -> Response:
    hub = hub_of(request)
    resource = request.query_params.get("resource", "").strip()
    if not resource or len(resource) > 512:
        return error_response(400, "resource parameter is required")
    resource = unquote(resource)
    urls = hub.urls
    host = hub.settings.domain
    if resource in (f"acct:{host}@{host}", urls.instance_actor, f"{host}@{host}"):
        doc = {
            "subject": f"acct:{host}@{host}",
            "aliases": [urls.instance_actor],
            "links": [{"rel": "self", "type": ACTIVITY_JSON, "href": urls.instance_actor}],
        }
        return JSONResponse(doc, media_type=JRD_JSON)
    username = _username_for(resource, host, urls.base)
    if username is None:
        return error_response(404, "no such account on this hub")
    with hub.read_sessions() as session:
        actor = find_local_actor(session, username)
    if actor is None:
        return error_response(404, "no such account on this hub")
    doc = {
        "subject": f"acct:{actor.username}@{host}",
        "aliases": [urls.profile(actor.username), actor.uri],
        "links": [
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
             "href": urls.profile(actor.username)},
            {"rel": "self", "type": ACTIVITY_JSON, "href": actor.uri},
        ],
    }
    return JSONResponse(doc, media_type=JRD_JSON,
                        headers={"Cache-Control": "max-age=300", "Access-Control-Allow-Origin": "*"})


async def host_meta(request: Request) -> Response:
    hub = hub_of(request)
    template = f"{hub.urls.base}/.well-known/webfinger?resource={{uri}}"
    wants_json = "json" in request.headers.get("accept", "") or request.url.path.endswith(".json")
    if wants_json:
        return JSONResponse({"links": [{"rel": "lrdd", "template": template}]})
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{template}"/>\n'
        "</XRD>\n"
    )
    return Response(xml, media_type="application/xrd+xml")


async def nodeinfo_links(request: Request) -> Response:
    base = hub_of(request).urls.base
    return JSONResponse({
        "links": [
            {"rel": NODEINFO_20, "href": f"{base}/nodeinfo/2.0"},
            {"rel": NODEINFO_21, "href": f"{base}/nodeinfo/2.1"},
            {"rel": "https://www.w3.org/ns/activitystreams#Application",
             "href": f"{base}/actor"},
        ]
    })


def _round(n: int) -> int:
    """Counts are rounded to the ten: a private hub need not publish exact figures."""
    return (n + 9) // 10 * 10


async def nodeinfo(request: Request) -> Response:
    hub = hub_of(request)
    version = request.path_params["version"]
    if version not in ("2.0", "2.1"):
        return error_response(404, "unknown NodeInfo version")
    with hub.read_sessions() as session:
        users = session.scalar(
            select(func.count()).select_from(Actor).where(Actor.local, Actor.type == "Person")
        ) or 0
        posts = session.scalar(select(func.count()).select_from(Status).where(Status.local)) or 0
    software: dict[str, str] = {"name": "voisins", "version": __version__}
    if version == "2.1":
        software["homepage"] = "https://voisins.social"
    doc = {
        "version": version,
        "software": software,
        "protocols": ["activitypub"],
        "services": {"outbound": [], "inbound": []},
        "openRegistrations": False,
        "usage": {"users": {"total": _round(users)}, "localPosts": _round(posts)},
        "metadata": {
            "nodeName": hub.settings.name,
            "territory": list(hub.settings.territory),
            "federation": "limited",
        },
    }
    profile = f"http://nodeinfo.diaspora.software/ns/schema/{version}#"
    return JSONResponse(doc, media_type=f'application/json; profile="{profile}"')


routes = [
    Route("/.well-known/webfinger", webfinger),
    Route("/.well-known/host-meta", host_meta),
    Route("/.well-known/host-meta.json", host_meta),
    Route("/.well-known/nodeinfo", nodeinfo_links),
    Route("/nodeinfo/{version}", nodeinfo),
]
