"""GET /media/<key>/<variant>.<ext>: media files, served with the audience rule.

The URL holds a random 32-byte key: Mastodon apps load images with a plain ``<img src>``,
without a token, so the URL itself is the capability (never listed, never guessable). When a
request does identify itself (a bearer token, an HTTP signature from a linked hub), the
audience is checked as on every read path and a caller who may not see the post gets 404.
Every answer is private, typed as the stored image, never sniffed."""

from __future__ import annotations

import re

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.api.auth import authenticate, bearer_token
from fedi.api.media import media_of
from fedi.media.defaults import default_avatar, default_header
from fedi.models import Actor, MediaAttachment
from fedi.services.media import may_fetch, status_alive
from fedi.verification import RequestRejected
from fedi.web.remote_media import fetch_remote, profile_media
from fedi.web.signed import verify
from fedi.web.state import Hub, hub_of

FILE_RE = re.compile(r"^(original|small)\.([a-z]{2,5})$")
VARY = "Authorization, Signature, Signature-Input"


def _headers(content_type: str, filename: str) -> dict[str, str]:
    return {"Cache-Control": "private, max-age=3600", "Vary": VARY,
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="{filename}"',
            "Content-Security-Policy": "default-src 'none'; sandbox"}


def _missing() -> Response:
    return Response(b"", status_code=404, headers={"Cache-Control": "private", "Vary": VARY,
                                                   "X-Content-Type-Options": "nosniff"})


async def _viewer(request: Request, hub: Hub) -> tuple[bool, Actor | None]:
    """(identified, actor): an identified caller that is nobody here gets (True, None)."""
    token = bearer_token(request)
    if token is not None:
        with hub.read_sessions() as session:
            caller = authenticate(session, token)
            return True, caller.actor if caller else None
    if "signature" in request.headers or "signature-input" in request.headers:
        try:
            signer = await verify(request)
        except RequestRejected:
            return True, None
        with hub.read_sessions() as session:
            return True, session.scalar(select(Actor).where(Actor.uri == signer.actor_uri))
    return False, None


async def serve(request: Request) -> Response:
    hub = hub_of(request)
    key = request.path_params["key"]
    match = FILE_RE.match(request.path_params["file"])
    if match is None or len(key) > 64:
        return _missing()
    variant, _ext = match.groups()
    identified, viewer = await _viewer(request, hub)
    with hub.read_sessions() as session:
        media = session.scalar(select(MediaAttachment).where(MediaAttachment.key == key))
        if media is None or not status_alive(session, media):
            return _missing()
        if identified and not may_fetch(session, media, viewer, is_linked=hub.peers.is_linked):
            return _missing()
        session.expunge(media)
    if media.extension is None and media.remote_url:
        media = await fetch_remote(hub, media.id)
        if media is None:
            return _missing()
    return await _send(hub, media, variant)


async def _send(hub: Hub, media: MediaAttachment, variant: str) -> Response:
    if media.extension is None or media.content_type is None:
        return _missing()
    _settings, storage = media_of(hub)
    data = await run_in_threadpool(storage.get, f"{media.key}/{variant}.{media.extension}")
    if data is None:
        return _missing()
    return Response(data, media_type=media.content_type,
                    headers=_headers(media.content_type,
                                     f"{media.id}-{variant}.{media.extension}"))


async def serve_profile(request: Request) -> Response:
    """A remote member's avatar or header, fetched and cached by this hub (apps never
    call the remote). The token in the URL is an HMAC of this hub's secret."""
    hub = hub_of(request)
    role = request.path_params["role"]
    actor_id = request.path_params["actor_id"]
    if (role not in ("avatar", "header") or not (actor_id.isascii() and actor_id.isdigit())
            or len(actor_id) > 20):
        return _missing()
    identified, viewer = await _viewer(request, hub)
    if identified and (viewer is None or not (viewer.local or hub.peers.is_linked(viewer.domain))):
        return _missing()
    media = await profile_media(hub, int(actor_id), role, request.path_params["token"][:64])
    if media is None:
        return await default_picture(request)
    return await _send(hub, media, "original")


async def default_picture(request: Request) -> Response:
    """The default avatar and header: the same for everyone, nothing personal in them."""
    name = request.path_params.get("name") or request.path_params.get("role")
    data = default_header() if name == "header" else default_avatar()
    return Response(data, media_type="image/png", headers={
        "Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff",
        "Content-Disposition": 'inline; filename="default.png"'})


routes = [
    Route("/media/missing.png", default_picture),
    Route("/media/default/{name:str}.png", default_picture),
    Route("/media/profile/{actor_id:str}/{role:str}/{token:str}", serve_profile),
    Route("/media/{key:str}/{file:str}", serve),
]
