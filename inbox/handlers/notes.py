"""Create, Update and Delete of Note, Article and Question (and Tombstone); poll votes."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fedi.convert.ap_to_model import sanitize_html
from fedi.convert.question import vote_target
from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, Mention, Status, StatusEdit, Tag, TimelineEntry, Tombstone
from fedi.services.erasure import erase_remote_actor
from fedi.services.media import record_remote_attachments, replace_remote_attachments
from fedi.services.polls import (
    VoteError,
    apply_remote_question,
    local_poll_for_vote,
    poll_of,
    receive_vote,
)
from fedi.services.visibility import narrowest
from fedi.vocab.context import PUBLIC_FORMS
from fedi.vocab.parse import addressed, as_list, get_id, host_of, mention_hrefs
from fedi.vocab.safety import (
    MAX_MENTIONS,
    author_named_by,
    hashtags_of,
    http_url,
    link_href,
    may_claim,
)
from inbox.dispatch import HandlerContext, handles, log
from outbox.fanout import fan_out_status, notify_boosters_of_edit

NOTE_TYPES = ("Note", "Article", "Question")
MAX_CONTENT = 100_000


def visibility_of(ctx: HandlerContext, obj: dict[str, Any]) -> str:
    """Our audience for a remote object, from how it is addressed."""
    targets = addressed(obj)
    author = ctx.actor
    if author.followers_url and author.followers_url in targets:
        return "followers"
    members = {ctx.publish.members_collection(author.domain), ctx.publish.urls.members}
    if targets & members or targets & PUBLIC_FORMS:
        return "neighbourhood"
    return "direct"


def _str(obj: dict[str, Any], key: str, limit: int) -> str:
    value = obj.get(key)
    return value[:limit] if isinstance(value, str) else ""


def _warning(obj: dict[str, Any]) -> str:
    """A Note's summary is a content warning; an Article's (or Event's) is its abstract."""
    return _str(obj, "summary", 500) if obj.get("type") in ("Note", "Question") else ""


def _mentioned_actors(ctx: HandlerContext, obj: dict[str, Any]) -> list[Actor]:
    """Actors that are both addressed and tagged as a Mention: a forged ``to`` alone is not
    enough to reach a member here."""
    uris = sorted(addressed(obj) & mention_hrefs(obj))[:MAX_MENTIONS]
    if not uris:
        return []
    return list(ctx.session.scalars(select(Actor).where(Actor.uri.in_(uris))))


def _linked(ctx: HandlerContext) -> Any:
    return lambda domain: domain in ctx.publish.linked_domains()


def handle_vote(ctx: HandlerContext, obj: dict[str, Any]) -> bool:
    """A vote in one of our polls (never stored as a status): True when ``obj`` is one."""
    target = vote_target(obj)
    if target is None:
        return False
    question_uri, name, says_something = target
    found = local_poll_for_vote(ctx.session, question_uri, name)
    if found is None:
        # A nameful, wordless reply to one of our polls is a vote for no option: dropped.
        parent = ctx.session.scalar(select(Status.id).where(Status.uri == question_uri,
                                                            Status.local))
        if parent is not None and not says_something and poll_of(ctx.session, parent):
            log.info("vote %s for an unknown option dropped", obj["id"])
            return True
        return False
    status, poll = found
    try:
        receive_vote(ctx.session, ctx.publish, ctx.actor, status, poll, name, obj["id"],
                     is_linked=_linked(ctx))
    except VoteError as exc:
        log.info("vote %s from %s refused: %s", obj["id"], ctx.actor.uri, exc)
    return True


def store_tags(session: Session, status: Status, tag: Any, *, replace: bool) -> None:
    """The status's hashtags become exactly the valid ones of the object's ``tag`` list
    (bounded): an edit that drops a hashtag takes the post off that tag's timeline."""
    if replace:
        session.execute(delete(Tag).where(Tag.status_id == status.id))
    for name in hashtags_of(as_list(tag)):
        session.add(Tag(id=new_id(), status_id=status.id, name=name))


def _claim_refused(ctx: HandlerContext, uri: str) -> str | None:
    """Why the sender may not create an object with this id, or None.

    Ids are checked per author, not only per host: a member of a linked hub must not take
    an id under another member's path, nor an actor's id (the real object would then be
    ignored, or two things would share one id).
    """
    if not may_claim(ctx.actor.uri, uri) or uri == ctx.actor.uri:
        return "its id is not the sender's to use"
    if author_named_by(uri) is None and ctx.session.scalar(
            select(Actor.id).where(Actor.uri == uri)) is not None:
        return "its id is an actor's"
    return None


@handles("Create", *NOTE_TYPES)
def handle_create_note(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    obj = doc["object"]
    s = ctx.session
    uri = obj["id"]
    if obj["type"] == "Note" and handle_vote(ctx, obj):
        return
    refusal = _claim_refused(ctx, uri)
    if refusal is not None:
        log.info("Create of %s by %s refused: %s", uri, ctx.actor.uri, refusal)
        return
    known = ctx.known if ctx.known is not None and uri in ctx.known.uris else None
    if known is not None:  # the worker looked them up for its whole batch
        deleted, deleter = uri in known.tombstones, known.tombstones.get(uri)
        owner = known.owners.get(uri)
    else:
        tomb = s.get(Tombstone, uri)
        deleted, deleter = tomb is not None, tomb.actor_uri if tomb is not None else None
        owner = s.scalar(select(Status.actor_id).where(Status.uri == uri))
    if deleted and deleter in (None, ctx.actor.uri):
        # A Delete from another actor of the same host (before this Create) does not count.
        log.info("Create of deleted object %s ignored", uri)
        return
    if owner is not None:
        if owner != ctx.actor.id:  # never overwritten
            log.info("Create of %s by %s refused: the id is another actor's status", uri,
                     ctx.actor.uri)
        return
    visibility = visibility_of(ctx, obj)
    if visibility == "neighbourhood" and ctx.actor.domain not in ctx.publish.linked_domains():
        # Not a linked hub (an allowed server, or a hub no longer linked): whatever its
        # addressing (as:Public included), only the members who follow the author or are
        # mentioned see it (DESIGN.md "Linked hub vs allowed server").
        visibility = "followers"
    parent_uri = http_url(get_id(obj.get("inReplyTo")))
    parent = s.scalar(select(Status).where(Status.uri == parent_uri)) if parent_uri else None
    if parent is not None:
        visibility = narrowest(visibility, parent.visibility)
    mentions = _mentioned_actors(ctx, obj)
    status = Status(
        id=new_id(), uri=uri, actor_id=ctx.actor.id, local=False, visibility=visibility,
        type=obj["type"], in_reply_to_id=parent.id if parent else None,
        in_reply_to_uri=parent_uri, title=_str(obj, "name", 512) or None,
        content=sanitize_html(_str(obj, "content", MAX_CONTENT)),
        spoiler_text=_warning(obj), sensitive=bool(obj.get("sensitive")),
        url=link_href(obj.get("url")) or uri,
        recipients={"to": [u for u in as_list(obj.get("to")) if isinstance(u, str)],
                    "cc": [u for u in as_list(obj.get("cc")) if isinstance(u, str)]},
        raw=obj, created_at=utcnow(),
    )
    s.add(status)
    if known is None or mentions or obj.get("attachment") or obj["type"] == "Question":
        # A flush orders its INSERTs by class name, not by foreign key: Tag and TimelineEntry
        # rows go in after their Status, so the worker's batch of plain posts is inserted at
        # once, table by table; Mention, MediaAttachment and Poll rows would go in first.
        s.flush()
    for actor in mentions:
        s.add(Mention(id=new_id(), status_id=status.id, actor_id=actor.id))
    store_tags(s, status, obj.get("tag"), replace=False)
    if obj.get("attachment"):
        record_remote_attachments(s, status, obj["attachment"])  # it flushes
    if obj["type"] == "Question":
        apply_remote_question(s, status, obj)
    followers = None
    if known is not None:
        known.stored(uri, ctx.actor.id)
        if ctx.actor.id in known.authors:
            followers = known.followers.get(ctx.actor.id, [])
    fan_out_status(s, status, [a.id for a in mentions if a.local], followers=followers)


def _own_status(ctx: HandlerContext, uri: str | None) -> Status | None:
    if not uri:
        return None
    return ctx.session.scalar(select(Status).where(Status.uri == uri,
                                                   Status.actor_id == ctx.actor.id))


@handles("Update", *NOTE_TYPES)
def handle_update_note(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    obj = doc["object"]
    status = _own_status(ctx, obj["id"])
    if status is None or status.deleted_at is not None:
        log.info("Update of unknown status %s dropped", obj["id"])
        return
    if obj["type"] == "Question":
        apply_remote_question(ctx.session, status, obj)
    else:
        poll = poll_of(ctx.session, status.id)
        if poll is not None:  # edited into a plain Note: the poll is gone (as in Mastodon)
            ctx.session.delete(poll)
    content = sanitize_html(_str(obj, "content", MAX_CONTENT))
    if (obj["type"] == "Question" and content == status.content
            and _str(obj, "summary", 500) == status.spoiler_text):
        return  # new counts only: not an edit
    ctx.session.add(StatusEdit(id=new_id(), status_id=status.id, content=status.content,
                               spoiler_text=status.spoiler_text, sensitive=status.sensitive))
    status.content = content
    status.spoiler_text = _warning(obj)
    status.sensitive = bool(obj.get("sensitive"))
    status.title = _str(obj, "name", 512) or status.title
    status.url = link_href(obj.get("url")) or status.url
    status.edited_at = utcnow()
    status.raw = obj
    store_tags(ctx.session, status, obj.get("tag"), replace=True)
    replace_remote_attachments(ctx.session, status, obj.get("attachment"))
    notify_boosters_of_edit(ctx.session, status)


@handles("Delete", None, "Tombstone", "Person", *NOTE_TYPES)
def handle_delete(ctx: HandlerContext, doc: dict[str, Any]) -> None:
    uri = get_id(doc.get("object"))
    s = ctx.session
    if uri is not None and uri != ctx.actor.uri and _deleted_by_its_hub(ctx, uri):
        return
    if uri is None or host_of(uri) != ctx.actor.domain or not may_claim(ctx.actor.uri, uri):
        return  # not the sender's object: no tombstone that would swallow the real Create
    if uri == ctx.actor.uri:
        delete_actor(ctx)
        return
    status = _own_status(ctx, uri)
    if status is not None:
        status.deleted_at = utcnow()
        s.execute(delete(TimelineEntry).where(TimelineEntry.status_id == status.id))
    elif s.scalar(select(Status.id).where(Status.uri == uri)):
        return  # someone else's status: not theirs to delete
    if s.get(Tombstone, uri) is None:
        # Kept even when the Create has not arrived yet: a late Create is then ignored.
        s.add(Tombstone(uri=uri, actor_uri=ctx.actor.uri))


def _deleted_by_its_hub(ctx: HandlerContext, uri: str) -> bool:
    """A linked hub's instance actor deleting one of its members (signed by the hub rather
    than by the member): erase that member here, as for their own Delete."""
    s = ctx.session
    if (ctx.actor.type not in ("Application", "Service") or urlsplit(ctx.actor.uri).path
            != "/actor" or ctx.actor.domain not in ctx.publish.linked_domains()):
        return False
    member = s.scalar(select(Actor).where(Actor.uri == uri, Actor.domain == ctx.actor.domain,
                                          Actor.local.is_(False), Actor.type == "Person"))
    if member is None:
        return False
    erase_remote_actor(s, member)
    return True


def delete_actor(ctx: HandlerContext) -> None:
    """Delete(Person) signed by that person (their hub deleted the account): their profile,
    posts, follows and directory listing are erased here (fedi.services.erasure)."""
    erase_remote_actor(ctx.session, ctx.actor)
