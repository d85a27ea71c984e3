"""Media of members: record processed uploads, attach them to statuses (any kind: notes,
articles, events), avatars and headers, and decide who may fetch a file.

The same audience rule as every read path (fedi.services.visibility.can_see): a file of a
status is served to whoever may see that status; an unattached upload to its owner only;
avatars and headers to members of this hub and of linked hubs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import bindparam, exists, select
from sqlalchemy.orm import Session

from fedi.db import utcnow
from fedi.ids import new_id
from fedi.media.images import ProcessedImage
from fedi.media.storage import Storage
from fedi.models import Actor, Follow, MediaAttachment, Mention, Status
from fedi.services.visibility import can_see

VARIANTS = ("original", "small")
PROFILE_ROLES = ("avatar", "header")


class MediaRefused(ValueError):
    """A media request is wrong (422 in the API); the message says why."""


def new_key() -> str:
    """43 URL-safe characters from 32 random bytes: the capability in every media URL."""
    return secrets.token_urlsafe(32)


def file_names(media: MediaAttachment) -> list[str]:
    return [f"{media.key}/{v}.{media.extension}" for v in VARIANTS] if media.extension else []


def parse_focus(value: str | None) -> tuple[float, float] | None:
    """``"x,y"`` with both in [-1, 1], or None when absent; MediaRefused when wrong."""
    if value is None or value == "":
        return None
    try:
        x_text, y_text = value.split(",")
        x, y = float(x_text), float(y_text)
    except ValueError:
        raise MediaRefused("focus must be two numbers x,y between -1.0 and 1.0") from None
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise MediaRefused("focus must be two numbers x,y between -1.0 and 1.0")
    return x, y


def check_description(description: str | None, limit: int) -> str | None:
    if description is not None and len(description) > limit:
        raise MediaRefused(f"description is over {limit} characters")
    return description


def store_files(storage: Storage, key: str, image: ProcessedImage) -> None:
    storage.put(f"{key}/original.{image.extension}", image.original, image.content_type)
    storage.put(f"{key}/small.{image.extension}", image.small, image.content_type)


def record_media(session: Session, owner: Actor, key: str, image: ProcessedImage, *,
                 description: str | None = None, focus: tuple[float, float] | None = None,
                 role: str = "attachment") -> MediaAttachment:
    """The row of files already stored under ``key`` (store_files)."""
    x, y = focus or (0.0, 0.0)
    media = MediaAttachment(
        id=new_id(), key=key, actor_id=owner.id, role=role, content_type=image.content_type,
        extension=image.extension, description=description or None, focus_x=x, focus_y=y,
        blurhash=image.blurhash, meta=dict(image.meta), stored_bytes=len(image.original)
        + len(image.small), created_at=utcnow())
    session.add(media)
    session.flush()
    return media


def update_media(media: MediaAttachment, *, description: str | None,
                 focus: tuple[float, float] | None) -> MediaAttachment:
    if description is not None:
        media.description = description or None
    if focus is not None:
        media.focus_x, media.focus_y = focus
    return media


def own_media(session: Session, owner: Actor, media_id: int) -> MediaAttachment | None:
    media = session.get(MediaAttachment, media_id)
    if media is None or media.actor_id != owner.id or media.role != "attachment":
        return None
    return media


def delete_media(session: Session, storage: Storage, media: MediaAttachment) -> None:
    """Only an unattached upload can be deleted (Mastodon answers 422 otherwise)."""
    if media.status_id is not None:
        raise MediaRefused("Media attachment is currently used by a status")
    for name in file_names(media):
        storage.delete(name)
    session.delete(media)
    session.flush()


def attach_media(session: Session, owner: Actor, status: Status, media_ids: Sequence[int], *,
                 limit: int = 4) -> list[MediaAttachment]:
    """Make ``media_ids`` (in that order) the attachments of ``status``: only the owner's
    uploads that are unattached or already on this status. Any status type: notes,
    articles, events. Media dropped from the list are detached (an edit removes them)."""
    ids = list(dict.fromkeys(media_ids))
    if len(ids) > limit:
        raise MediaRefused(f"a status can have at most {limit} media attachments")
    chosen = []
    for media_id in ids:
        media = own_media(session, owner, media_id)
        if media is None or media.status_id not in (None, status.id):
            # One fixed sentence (translated at the edge); the id adds nothing for the member.
            raise MediaRefused("a media attachment is unknown, not yours or already used")
        chosen.append(media)
    for media in session.scalars(select(MediaAttachment).where(
            MediaAttachment.status_id == status.id)):
        if media.id not in ids:
            media.status_id = None  # back to the owner's unattached uploads (deletable)
    for position, media in enumerate(chosen):
        media.status_id, media.position = status.id, position
    session.flush()
    return chosen


# Built once, the ids as a parameter: every API page runs both (fedi.api.entities).
@cache
def _attachments_statement() -> Any:
    return (select(MediaAttachment)
            .where(MediaAttachment.status_id.in_(bindparam("ids", expanding=True)))
            .order_by(MediaAttachment.position))


@cache
def _profile_statement() -> Any:
    return (select(*MediaAttachment.__table__.c)
            .where(MediaAttachment.actor_id.in_(bindparam("ids", expanding=True)),
                   MediaAttachment.role.in_(PROFILE_ROLES))
            .order_by(MediaAttachment.id))


def attachments_of(session: Session, status_ids: Iterable[int]) -> dict[int, list[Any]]:
    ids = list(status_ids)
    out: dict[int, list[Any]] = {}
    if not ids:
        return out
    for media in session.scalars(_attachments_statement(), {"ids": ids}):
        out.setdefault(media.status_id or 0, []).append(media)
    return out


def attachment_rows(session: Session, status_ids: Iterable[int]) -> dict[int, list[Any]]:
    """``attachments_of`` as plain rows (read-only, cheaper): for rendering entities."""
    ids = list(status_ids)
    out: dict[int, list[Any]] = {}
    if not ids:
        return out
    session.flush()
    for media in session.connection().execute(_attachment_rows_statement(), {"ids": ids}):
        out.setdefault(media.status_id or 0, []).append(media)
    return out


@cache
def _attachment_rows_statement() -> Any:
    return (select(*MediaAttachment.__table__.c)
            .where(MediaAttachment.status_id.in_(bindparam("ids", expanding=True)))
            .order_by(MediaAttachment.position))


def profile_media(session: Session, actor_ids: Iterable[int]) -> dict[tuple[int, str], Any]:
    """(actor id, "avatar"|"header") → the newest such media, as a plain row."""
    ids = list(actor_ids)
    if not ids:
        return {}
    session.flush()
    rows = session.connection().execute(_profile_statement(), {"ids": ids})
    return {(m.actor_id, m.role): m for m in rows}


def replace_profile_media(session: Session, storage: Storage, owner: Actor, role: str,
                          media: MediaAttachment) -> None:
    """``media`` becomes the avatar or header; the previous one and its files go."""
    for old in session.scalars(select(MediaAttachment).where(
            MediaAttachment.actor_id == owner.id, MediaAttachment.role == role,
            MediaAttachment.id != media.id)):
        for name in file_names(old):
            storage.delete(name)
        session.delete(old)
    session.flush()


def hub_may_see(session: Session, domain: str, status: Status, *,
                is_linked: Callable[[str], bool]) -> bool:
    """A linked hub fetching for its members (signed by its instance actor): some member
    of that hub may see the status."""
    if status.deleted_at is not None:
        return False
    if status.visibility == "neighbourhood":
        author = session.get(Actor, status.actor_id)
        return bool(author and author.local and is_linked(domain))
    if status.visibility == "hub":
        return False
    mentioned = session.scalar(select(exists().where(
        Mention.status_id == status.id, Mention.actor_id == Actor.id, Actor.domain == domain)))
    if mentioned:
        return True
    if status.visibility == "followers":
        return bool(session.scalar(select(exists().where(
            Follow.followee_id == status.actor_id, Follow.state == "accepted",
            Follow.follower_id == Actor.id, Actor.domain == domain))))
    return False


def may_fetch(session: Session, media: MediaAttachment, viewer: Actor | None, *,
              is_linked: Callable[[str], bool]) -> bool:
    """Whether a caller who identified itself (``viewer``) may have this file.

    ``viewer`` is a local member (token or session), a remote actor (HTTP signature) or a
    hub's instance actor (type Application). Callers without any credential are decided
    by the capability in the URL (see the serving route)."""
    if viewer is None:
        return False
    if viewer.id == media.actor_id:
        return True
    if media.role in PROFILE_ROLES or media.role.startswith("r-"):  # r-: cached remote ones
        return viewer.local or is_linked(viewer.domain)
    if media.status_id is None:
        return False
    status = session.get(Status, media.status_id)
    if status is None or status.deleted_at is not None:
        return False
    if viewer.type == "Application" and not viewer.local:
        return hub_may_see(session, viewer.domain, status, is_linked=is_linked)
    return can_see(session, viewer, status, is_linked=is_linked)


def status_alive(session: Session, media: MediaAttachment) -> bool:
    """May the file of a post be served at all (the URL alone being the capability)? Not
    once the post is deleted, nor while its author is suspended (their posts are hidden)."""
    if media.status_id is None:
        return True
    status = session.get(Status, media.status_id)
    if status is None or status.deleted_at is not None:
        return False
    author = session.get(Actor, status.actor_id)
    return author is not None and author.suspended_at is None


REMOTE_TYPES = ("image/jpeg", "image/png", "image/webp", "image/gif")


def _number(value: Any, low: float, high: float) -> float:
    return float(value) if isinstance(value, (int, float)) and low <= value <= high else 0.0


def record_remote_attachments(session: Session, status: Status, items: Any, *,
                              limit: int = 4) -> list[MediaAttachment]:
    """Rows for the images of an incoming post: fetched (guarded) on first request, by
    the hub, so that apps never call the remote. Only http(s) URLs, only image types."""
    out: list[MediaAttachment] = []
    for item in (items if isinstance(items, list) else [items])[:limit]:
        if not isinstance(item, dict) or item.get("type") not in ("Document", "Image"):
            continue
        url = item.get("url")
        if isinstance(url, dict):
            url = url.get("href")
        media_type = item.get("mediaType")
        if (not isinstance(url, str) or not url.startswith(("https://", "http://"))
                or len(url) > 2048 or (media_type is not None and media_type not in REMOTE_TYPES)):
            continue
        name = item.get("name") if isinstance(item.get("name"), str) else None
        blurhash = item.get("blurhash") if isinstance(item.get("blurhash"), str) else None
        focal = item.get("focalPoint")
        x, y = (focal if isinstance(focal, list) and len(focal) == 2 else (0.0, 0.0))
        media = MediaAttachment(
            id=new_id(), key=new_key(), actor_id=status.actor_id, status_id=status.id,
            role="attachment", position=len(out), description=(name or "")[:1500] or None,
            focus_x=_number(x, -1, 1), focus_y=_number(y, -1, 1),
            blurhash=blurhash[:128] if blurhash else None, meta={}, remote_url=url,
            stored_bytes=0, created_at=utcnow())
        session.add(media)
        out.append(media)
    session.flush()
    return out


def replace_remote_attachments(session: Session, status: Status, items: Any) -> None:
    """An edit of a remote post: when its images changed, the old rows leave the post
    (no caller may fetch them any more; the cache drops their files by age) and the new
    ones are recorded."""
    current = list(session.scalars(select(MediaAttachment).where(
        MediaAttachment.status_id == status.id).order_by(MediaAttachment.position)))
    for media in current:
        media.status_id, media.role = None, "detached"
    session.flush()
    fresh = record_remote_attachments(session, status, items)
    by_url = {m.remote_url: m for m in current if m.extension}
    for media in fresh:  # same image as before: keep the cached copy under its old key
        old = by_url.get(media.remote_url)
        if old is not None:
            old.status_id, old.role, old.position = status.id, "attachment", media.position
            old.description, old.focus_x, old.focus_y = (media.description, media.focus_x,
                                                         media.focus_y)
            session.delete(media)
    session.flush()


def remote_profile_url(actor: Actor, role: str) -> str | None:
    """The ``icon`` (avatar) or ``image`` (header) URL of a remote actor's document."""
    raw = actor.raw or {}
    value = raw.get("icon" if role == "avatar" else "image")
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url")
        if isinstance(value, dict):
            value = value.get("href")
    if isinstance(value, str) and value.startswith(("https://", "http://")) and len(value) <= 2048:
        return value
    return None


def mark_fetched(media: MediaAttachment, image: ProcessedImage) -> None:
    media.content_type, media.extension = image.content_type, image.extension
    media.meta, media.fetched_at = dict(image.meta), utcnow()
    media.stored_bytes = len(image.original) + len(image.small)
    if not media.blurhash:
        media.blurhash = image.blurhash


def evict_remote(session: Session, storage: Storage, *, budget_bytes: int,
                 max_age_days: int) -> int:
    """Forget cached remote files past their age, then the oldest until within budget.
    Rows stay (a later request fetches again). Returns how many were evicted."""
    rows = list(session.scalars(select(MediaAttachment).where(
        MediaAttachment.remote_url.is_not(None), MediaAttachment.fetched_at.is_not(None))
        .order_by(MediaAttachment.fetched_at.desc())))
    now = utcnow()
    total, evicted = 0, 0
    for media in rows:
        fetched = media.fetched_at or now
        too_old = (now - fetched).days >= max_age_days
        total += media.stored_bytes
        if too_old or total > budget_bytes:
            for name in file_names(media):
                storage.delete(name)
            media.extension = media.content_type = None
            media.fetched_at, media.stored_bytes = None, 0
            evicted += 1
    session.flush()
    return evicted


def profile_token(secret: str, actor_id: int, role: str, url: str = "") -> str:
    """The capability in a remote actor's avatar/header URL on this hub (without ``url``),
    and the cache key of one picture of it (with the picture's remote ``url``)."""
    message = f"profile:{actor_id}:{role}:{url}"
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def with_profile_images(session: Session, doc: dict[str, Any], actor: Actor,
                        base: str) -> dict[str, Any]:
    """A local member's ``Person`` with ``icon`` and ``image`` when they set them."""
    own = profile_media(session, [actor.id])
    for role, prop in (("avatar", "icon"), ("header", "image")):
        media = own.get((actor.id, role))
        if media is not None and media.extension:
            doc[prop] = {"type": "Image", "mediaType": media.content_type,
                         "url": f"{base}/media/{media.key}/original.{media.extension}"}
    return doc


def profile_urls(session: Session, actors: Sequence[Actor], *, base: str,
                 secret: str) -> dict[int, dict[str, str]]:
    """avatar/avatar_static/header/header_static of each actor, as this hub serves them."""
    own = profile_media(session, [a.id for a in actors])
    out: dict[int, dict[str, str]] = {}
    for actor in actors:
        urls: dict[str, str] = {}
        for role in PROFILE_ROLES:
            media = own.get((actor.id, role))
            if media is not None and media.extension:
                url = f"{base}/media/{media.key}/original.{media.extension}"
            elif not actor.local:
                url = (f"{base}/media/profile/{actor.id}/{role}/"
                       f"{profile_token(secret, actor.id, role)}")
            else:
                url = f"{base}/media/default/{role}.png"
            urls[role] = urls[f"{role}_static"] = url
        out[actor.id] = urls
    return out


def release_status_media(session: Session, storage: Storage, status_id: int) -> int:
    """After a local delete, the post's uploads go back to their owner, unattached, so that
    apps' "delete and redraft" can post them again (as Mastodon does); their files move to
    a new random key, so every URL handed out for the deleted post answers 404 at once."""
    rows = list(session.scalars(select(MediaAttachment).where(
        MediaAttachment.status_id == status_id, MediaAttachment.remote_url.is_(None))))
    for media in rows:
        old_names, key = file_names(media), new_key()
        for name in old_names:
            data = storage.get(name)
            if data is not None:
                storage.put(f"{key}/{name.split('/', 1)[1]}", data, media.content_type or "")
            storage.delete(name)
        media.key, media.status_id = key, None
    session.flush()
    return len(rows)
