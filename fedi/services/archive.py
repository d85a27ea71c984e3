"""The archive of one member's data, in Mastodon's layout so that tools made for Mastodon
archives read it: ``outbox.json`` (an ActivityPub ``OrderedCollection`` of the member's
``Create`` and ``Announce`` activities), ``actor.json``, ``likes.json``, ``bookmarks.json``,
``media_attachments/files/…``, and the follows and blocks as Mastodon's CSV export files
(https://docs.joinmastodon.org/user/moving/#export). Voisins adds ``articles.json``
(drafts too), ``events.json`` (the member's events with their RSVPs), ``rsvps.json`` (the
member's own answers to events) and ``followers.csv``.

Everything the member wrote is in it, whatever its audience (followers-only and direct
posts too: it is their own data); nothing written by others is, beyond the addresses of the
people they follow, who follow them, or answered their events.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fedi.config import Settings
from fedi.convert.media_entity import document
from fedi.convert.model_to_ap import iso, person
from fedi.ids import Urls
from fedi.models import (
    Actor,
    Article,
    Block,
    Event,
    EventParticipant,
    Follow,
    Interaction,
    MediaAttachment,
    Mention,
    Status,
)
from fedi.services.events import ap_object
from fedi.vocab.context import AS

FOLLOWING_HEADER = ["Account address", "Show boosts", "Notify on new posts", "Languages"]
MUTED_HEADER = ["Account address", "Hide notifications"]
MEDIA_DIR = "media_attachments/files"
# Reads one stored media file by its storage name, or None when it is gone.
MediaReader = Callable[[str], bytes | None]


def media_path(media: MediaAttachment) -> str:
    return f"{MEDIA_DIR}/{media.key}/original.{media.extension or 'img'}"


def _address(actor: Actor) -> str:
    return f"{actor.username}@{actor.domain}"


def _collection(name: str, items: list[Any]) -> dict[str, Any]:
    return {"@context": AS, "id": name, "type": "OrderedCollection",
            "totalItems": len(items), "orderedItems": items}


def _csv(rows: list[list[str]], header: list[str] | None) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode()


def _json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, indent=2).encode()


class ArchiveWriter:
    """Collects one member's data from the database and writes the zip."""

    def __init__(self, session: Session, settings: Settings, actor: Actor,
                 read_media: MediaReader) -> None:
        self.session = session
        self.settings = settings
        self.urls = Urls(settings.base_url)
        self.actor = actor
        self.read_media = read_media
        self.media: dict[str, MediaAttachment] = {}

    def _own_media(self) -> dict[int, list[MediaAttachment]]:
        out: dict[int, list[MediaAttachment]] = {}
        for media in self.session.scalars(
                select(MediaAttachment).where(MediaAttachment.actor_id == self.actor.id,
                                              MediaAttachment.remote_url.is_(None))
                .order_by(MediaAttachment.position)):
            if media.status_id is not None:
                out.setdefault(media.status_id, []).append(media)
        return out

    def _mentions(self, status: Status) -> list[Actor]:
        return list(self.session.scalars(
            select(Actor).join(Mention, Mention.actor_id == Actor.id)
            .where(Mention.status_id == status.id)))

    def outbox(self) -> dict[str, Any]:
        media = self._own_media()
        items: list[dict[str, Any]] = []
        statuses = self.session.scalars(select(Status).where(
            Status.actor_id == self.actor.id, Status.local, Status.deleted_at.is_(None))
            .order_by(Status.id))
        for status in statuses:
            to = list(status.recipients.get("to", []))
            cc = list(status.recipients.get("cc", []))
            if status.reblog_of_id is not None:
                boosted = self.session.get(Status, status.reblog_of_id)
                if boosted is None:
                    continue
                items.append({"id": f"{status.uri}/activity", "type": "Announce",
                              "actor": self.actor.uri, "published": iso(status.created_at),
                              "to": to, "cc": cc, "object": boosted.uri})
                continue
            obj = ap_object(self.session, self.settings, self.urls.base, status, self.actor,
                            self._mentions(status))
            attached = media.get(status.id, [])
            if attached:
                # As in Mastodon's archives: the file's path inside the archive.
                obj["attachment"] = [{**document(m, self.urls.base), "url": "/" + media_path(m)}
                                     for m in attached]
                self.media.update({media_path(m): m for m in attached})
            items.append({"id": f"{status.uri}/activity", "type": "Create",
                          "actor": self.actor.uri, "published": iso(status.created_at),
                          "to": to, "cc": cc, "object": obj})
        return _collection("outbox.json", items)

    def actor_doc(self) -> dict[str, Any]:
        doc = person(self.actor, self.urls)
        for role, key in (("avatar", "icon"), ("header", "image")):
            media = self.session.scalar(
                select(MediaAttachment).where(MediaAttachment.actor_id == self.actor.id,
                                              MediaAttachment.role == role,
                                              MediaAttachment.status_id.is_(None))
                .order_by(MediaAttachment.id.desc()).limit(1))
            if media is not None and media.remote_url is None:
                doc[key] = {"type": "Image", "mediaType": media.content_type,
                            "url": media_path(media)}
                self.media[media_path(media)] = media
        return doc

    def _interactions(self, kind: str) -> list[str]:
        return list(self.session.scalars(
            select(Status.uri).join(Interaction, Interaction.status_id == Status.id)
            .where(Interaction.actor_id == self.actor.id, Interaction.kind == kind)
            .order_by(Interaction.id)))

    def _accounts(self, mine: Any, other: Any, *where: Any) -> list[tuple[Actor, Follow]]:
        rows = self.session.execute(
            select(Actor, Follow).join(Follow, other == Actor.id)
            .where(mine == self.actor.id, Follow.state == "accepted", *where)
            .order_by(Follow.id))
        return [(a, f) for a, f in rows.all()]

    def following_csv(self) -> bytes:
        rows = [[_address(a), "true", "true" if f.notify else "false", ""]
                for a, f in self._accounts(Follow.follower_id, Follow.followee_id)]
        return _csv(rows, FOLLOWING_HEADER)

    def followers_csv(self) -> bytes:
        rows = [[_address(a)] for a, _ in self._accounts(Follow.followee_id, Follow.follower_id)]
        return _csv(rows, ["Account address"])

    def _blocked(self, kind: str) -> list[Actor]:
        return list(self.session.scalars(
            select(Actor).join(Block, Block.target_id == Actor.id)
            .where(Block.actor_id == self.actor.id, Block.kind == kind).order_by(Block.id)))

    def articles(self) -> list[dict[str, Any]]:
        out = []
        for article in self.session.scalars(select(Article).where(
                Article.actor_id == self.actor.id).order_by(Article.id)):
            status = (self.session.get(Status, article.status_id)
                      if article.status_id is not None else None)
            out.append({"title": article.title, "summary": article.summary,
                        "source": article.source, "mediaType": "text/markdown",
                        "visibility": article.visibility,
                        "published": iso(article.published_at) if article.published_at else None,
                        "updated": iso(article.updated_at), "id": status.uri if status else None,
                        "draft": status is None})
        return out

    def events(self) -> list[dict[str, Any]]:
        out = []
        rows = self.session.execute(
            select(Status, Event).join(Event, Event.status_id == Status.id)
            .where(Status.actor_id == self.actor.id, Status.local, Status.deleted_at.is_(None))
            .order_by(Status.id))
        for status, event in rows.all():
            doc = ap_object(self.session, self.settings, self.urls.base, status, self.actor, [])
            participants = self.session.execute(
                select(Actor, EventParticipant)
                .join(EventParticipant, EventParticipant.actor_id == Actor.id)
                .where(EventParticipant.event_id == event.status_id)
                .order_by(EventParticipant.id))
            doc["rsvps"] = [{"account": _address(a), "state": p.state,
                             "date": iso(p.created_at)} for a, p in participants.all()]
            out.append(doc)
        return out

    def rsvps(self) -> list[dict[str, Any]]:
        rows = self.session.execute(
            select(Status.uri, Event.title, Event.starts_at, EventParticipant)
            .join(Event, Event.status_id == EventParticipant.event_id)
            .join(Status, Status.id == Event.status_id)
            .where(EventParticipant.actor_id == self.actor.id).order_by(EventParticipant.id))
        return [{"event": uri, "title": title, "startTime": iso(starts), "state": p.state,
                 "date": iso(p.created_at)} for uri, title, starts, p in rows.all()]

    def write(self, out: IO[bytes]) -> None:
        """The whole archive into ``out`` (a file opened for writing)."""
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("outbox.json", _json(self.outbox()))
            archive.writestr("actor.json", _json(self.actor_doc()))
            archive.writestr("likes.json", _json(_collection("likes.json",
                                                             self._interactions("like"))))
            bookmarks = self._interactions("bookmark")
            if bookmarks:
                archive.writestr("bookmarks.json", _json(_collection("bookmarks.json",
                                                                     bookmarks)))
            archive.writestr("articles.json", _json(self.articles()))
            archive.writestr("events.json", _json(self.events()))
            archive.writestr("rsvps.json", _json(self.rsvps()))
            archive.writestr("following_accounts.csv", self.following_csv())
            archive.writestr("followers.csv", self.followers_csv())
            archive.writestr("blocked_accounts.csv",
                             _csv([[_address(a)] for a in self._blocked("block")], None))
            archive.writestr("muted_accounts.csv", _csv(
                [[_address(a), "true"] for a in self._blocked("mute")], MUTED_HEADER))
            for path, media in sorted(self.media.items()):
                data = self.read_media(f"{media.key}/original.{media.extension or 'img'}")
                if data is not None:
                    archive.writestr(path, data, compress_type=zipfile.ZIP_STORED)
