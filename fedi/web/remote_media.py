"""Remote media through this hub: fetched with the guarded federation client (linked hubs
only, deadline, byte cap), checked by its bytes like an upload, re-encoded, cached with a
size budget and an age limit (``[media] remote_cache_mb``, ``remote_cache_days``)."""

from __future__ import annotations

import hmac
import logging

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from fedi.api.media import media_of
from fedi.http import RemoteError
from fedi.ids import new_id
from fedi.media.images import MediaError, ProcessedImage, process
from fedi.models import Actor, MediaAttachment
from fedi.services.media import (
    evict_remote,
    mark_fetched,
    profile_token,
    remote_profile_url,
    store_files,
)
from fedi.web.state import Hub

log = logging.getLogger("voisins.media")


async def _download(hub: Hub, url: str, key: str) -> ProcessedImage | None:
    settings, storage = media_of(hub)
    if hub.fetcher is None:
        return None
    try:
        result = await hub.fetcher.get(url, signer=hub.signer, accept="image/*",
                                       cap=settings.max_bytes)
    except RemoteError as exc:
        log.info("remote media %s not fetched: %s", url, exc)
        return None
    if result.status != 200:
        return None

    def work() -> ProcessedImage:
        image = process(result.body, max_bytes=settings.max_bytes,
                        max_pixels=settings.max_pixels)
        store_files(storage, key, image)
        return image

    try:
        return await run_in_threadpool(work)
    except MediaError as exc:
        log.info("remote media %s refused: %s", url, exc)
        return None


def _sweep(hub: Hub) -> None:
    settings, storage = media_of(hub)
    with hub.write_sessions() as session:
        evict_remote(session, storage, budget_bytes=settings.remote_cache_mb * 1024 * 1024,
                     max_age_days=settings.remote_cache_days)
        session.commit()


async def fetch_remote(hub: Hub, media_id: int) -> MediaAttachment | None:
    """The media row once its remote file is stored here (None when it cannot be had)."""
    with hub.read_sessions() as session:
        media = session.get(MediaAttachment, media_id)
        if media is None or media.remote_url is None:
            return None
        url, key = media.remote_url, media.key
    image = await _download(hub, url, key)
    if image is None:
        return None
    with hub.write_sessions() as session:
        media = session.get(MediaAttachment, media_id)
        if media is None:
            return None
        mark_fetched(media, image)
        session.commit()
        session.expunge(media)
    await run_in_threadpool(_sweep, hub)
    return media


async def profile_media(hub: Hub, actor_id: int, role: str, token: str) -> MediaAttachment | None:
    """A remote actor's avatar or header, cached under the URL's token."""
    with hub.read_sessions() as session:
        actor = session.get(Actor, actor_id)
        if actor is None or actor.local or actor.deleted_at is not None:
            return None
        secret = hub.settings.secret
        if not hmac.compare_digest(profile_token(secret, actor.id, role), token):
            return None
        url = remote_profile_url(actor, role)
        if url is None:
            return None
        key = profile_token(secret, actor.id, role, url)[:43]
        cached = session.scalar(select(MediaAttachment).where(MediaAttachment.key == key))
        if cached is not None and cached.extension:
            session.expunge(cached)
            return cached
    if cached is not None:
        return await fetch_remote(hub, cached.id)
    image = await _download(hub, url, key)
    if image is None:
        return None
    with hub.write_sessions() as session:
        media = MediaAttachment(id=new_id(), key=key, actor_id=actor_id, role=f"r-{role}",
                                remote_url=url, position=0, focus_x=0.0, focus_y=0.0,
                                meta={}, stored_bytes=0)
        mark_fetched(media, image)
        session.add(media)
        try:
            session.commit()
        except IntegrityError:  # fetched at the same moment by another request
            session.rollback()
            media = session.scalar(select(MediaAttachment).where(MediaAttachment.key == key))
            if media is None:
                return None
        session.expunge(media)
    await run_in_threadpool(_sweep, hub)
    return media
