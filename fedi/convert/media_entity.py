"""Media rows as Mastodon MediaAttachment entities and ActivityPub ``Document``s."""

from __future__ import annotations

from typing import Any

from fedi.models import MediaAttachment


def file_url(media: MediaAttachment, base: str, variant: str = "original") -> str:
    return f"{base}/media/{media.key}/{variant}.{media.extension or 'img'}"


def attachment(media: MediaAttachment, base: str) -> dict[str, Any]:
    meta: dict[str, Any] = {k: dict(v) for k, v in (media.meta or {}).items()
                            if k in ("original", "small") and isinstance(v, dict)}
    for value in meta.values():
        value.pop("bytes", None)
    meta["focus"] = {"x": media.focus_x, "y": media.focus_y}
    return {
        "id": str(media.id),
        "type": "image",
        "url": file_url(media, base),
        "preview_url": file_url(media, base, "small"),
        "remote_url": media.remote_url,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": media.description,
        "blurhash": media.blurhash,
    }


def document(media: MediaAttachment, base: str) -> dict[str, Any]:
    original = (media.meta or {}).get("original", {})
    doc: dict[str, Any] = {
        "type": "Document",
        "mediaType": media.content_type,
        "url": file_url(media, base),
        "name": media.description,
        "blurhash": media.blurhash,
        "focalPoint": [media.focus_x, media.focus_y],
    }
    if isinstance(original, dict) and original.get("width"):
        doc["width"], doc["height"] = original["width"], original.get("height")
    return doc


def with_documents(doc: dict[str, Any], media: list[MediaAttachment],
                   base: str) -> dict[str, Any]:
    """The Note (Article, Event…) with its ``attachment`` list."""
    if media:
        doc["attachment"] = [document(m, base) for m in media]
    return doc


def image(media: MediaAttachment | None, base: str) -> dict[str, Any] | None:
    """An avatar or header as a Person's ``icon`` / ``image``."""
    if media is None:
        return None
    return {"type": "Image", "mediaType": media.content_type, "url": file_url(media, base)}
