"""Tolerant readers for remote ActivityStreams JSON. Pure."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


def get_id(value: Any) -> str | None:
    """The id of a link, an embedded object or a bare URI string."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        inner = value.get("id")
        return inner if isinstance(inner, str) else None
    return None


def ids(value: Any) -> list[str]:
    return [i for i in (get_id(v) for v in as_list(value)) if i]


def host_of(uri: str | None) -> str:
    if not uri:
        return ""
    return urlsplit(uri).netloc.lower()


def object_type(activity: dict[str, Any]) -> str | None:
    obj = activity.get("object")
    if isinstance(obj, dict):
        t = obj.get("type")
        return t if isinstance(t, str) else None
    return None


def addressed(doc: dict[str, Any]) -> set[str]:
    """Every URI in to, cc, bto, bcc and audience."""
    out: set[str] = set()
    for key in ("to", "cc", "bto", "bcc", "audience"):
        out.update(ids(doc.get(key)))
    return out


def mention_hrefs(doc: dict[str, Any]) -> set[str]:
    out: set[str] = set()
    for tag in as_list(doc.get("tag")):
        if isinstance(tag, dict) and tag.get("type") == "Mention":
            href = tag.get("href")
            if isinstance(href, str):
                out.add(href)
    return out
