"""Media API: upload (v1 and v2), show, describe/focus, delete; avatar and header uploads
for update_credentials. Files are checked and re-encoded (fedi.media.images) in a thread."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.errors import ApiError, not_found, unprocessable
from fedi.convert.media_entity import attachment
from fedi.media.images import SUPPORTED_TYPES, MediaError, ProcessedImage, process
from fedi.media.settings import MediaSettings, media_settings
from fedi.media.storage import Storage, make_storage
from fedi.models import MediaAttachment
from fedi.services.media import (
    MediaRefused,
    check_description,
    delete_media,
    new_key,
    own_media,
    parse_focus,
    record_media,
    release_status_media,
    replace_profile_media,
    store_files,
    update_media,
)
from fedi.web.state import Hub


def media_of(hub: Hub) -> tuple[MediaSettings, Storage]:
    """The hub's media settings and storage, made on first use."""
    found = hub.extras.get("media")
    if found is None:
        settings = media_settings(hub.settings)
        found = (settings, make_storage(settings))
        hub.extras["media"] = found
    return found  # type: ignore[no-any-return]


def media_limits(hub: Hub) -> dict[str, Any]:
    """``configuration.media_attachments`` of the instance answers: what uploads accept."""
    settings, _storage = media_of(hub)
    return {"supported_mime_types": list(SUPPORTED_TYPES), "image_size_limit": settings.max_bytes,
            "image_matrix_limit": settings.max_pixels,
            "description_limit": settings.description_limit}


async def read_upload(call: Call, name: str, max_bytes: int) -> bytes | None:
    """The bytes of the multipart file ``name`` (None when absent), read with a bound."""
    if not call.request.headers.get("content-type", "").lower().startswith("multipart/"):
        return None
    form = await call.request.form()  # parsed once by Params.read; cached on the request
    item = form.get(name)
    if not isinstance(item, UploadFile):
        return None
    # From the start: a request run again (the API retries once when SQLite is locked)
    # reads the same cached form, whose file the first run already read to its end.
    await item.seek(0)
    data = await item.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ApiError(413, f"File is larger than {max_bytes // (1024 * 1024)} MB")
    return data


async def processed(call: Call, data: bytes, key: str) -> ProcessedImage:
    settings, storage = media_of(call.hub)

    def work() -> ProcessedImage:
        image = process(data, max_bytes=settings.max_bytes, max_pixels=settings.max_pixels)
        store_files(storage, key, image)
        return image

    try:
        return await run_in_threadpool(work)
    except MediaError as exc:
        raise ApiError(exc.status, str(exc)) from None


def _description_and_focus(call: Call) -> tuple[str | None, tuple[float, float] | None]:
    settings, _storage = media_of(call.hub)
    try:
        description = check_description(call.params.str("description", max_len=100_000),
                                        settings.description_limit)
        return description, parse_focus(call.params.str("focus", max_len=64))
    except MediaRefused as exc:
        raise unprocessable(str(exc)) from None


async def upload(call: Call) -> Any:
    settings, _storage = media_of(call.hub)
    description, focus = _description_and_focus(call)
    data = await read_upload(call, "file", settings.max_bytes)
    if data is None:
        raise unprocessable("Validation failed: File can't be blank")
    key = new_key()
    image = await processed(call, data, key)
    media = record_media(call.session, call.actor, key, image, description=description,
                         focus=focus)
    return attachment(media, call.hub.urls.base)


def _own(call: Call) -> MediaAttachment:
    media = own_media(call.session, call.actor, call.path_id())
    if media is None:
        raise not_found()
    return media


async def show(call: Call) -> Any:
    return attachment(_own(call), call.hub.urls.base)


async def change(call: Call) -> Any:
    media = _own(call)
    description, focus = _description_and_focus(call)
    update_media(media, description=description, focus=focus)
    call.session.flush()
    return attachment(media, call.hub.urls.base)


async def remove(call: Call) -> Any:
    media = _own(call)
    _settings, storage = media_of(call.hub)
    entity = attachment(media, call.hub.urls.base)
    try:
        await run_in_threadpool(delete_media, call.session, storage, media)
    except MediaRefused as exc:
        raise unprocessable(str(exc)) from None
    return entity


async def apply_profile_images(call: Call) -> None:
    """``avatar`` and ``header`` files of PATCH update_credentials (multipart)."""
    settings, storage = media_of(call.hub)
    for role in ("avatar", "header"):
        data = await read_upload(call, role, settings.max_bytes)
        if data is None:
            continue
        key = new_key()
        image = await processed(call, data, key)
        media = record_media(call.session, call.actor, key, image, role=role)
        replace_profile_media(call.session, storage, call.actor, role, media)


async def purge_for_status(call: Call, status_id: int) -> None:
    """After a local delete: the uploads are released for a redraft under new keys."""
    _settings, storage = media_of(call.hub)
    await run_in_threadpool(release_status_media, call.session, storage, status_id)


write = endpoint("write:media")
routes = [
    Route("/api/v1/media", write(upload), methods=["POST"]),
    Route("/api/v2/media", write(upload), methods=["POST"]),
    Route("/api/v1/media/{id}", endpoint("write:media", body=False)(show), methods=["GET"]),
    Route("/api/v1/media/{id}", write(change), methods=["PUT"]),
    Route("/api/v1/media/{id}", write(remove), methods=["DELETE"]),
]
