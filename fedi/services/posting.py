"""Create, edit and delete statuses of local members; every change goes through publish()."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import nh3
from markdown_it import MarkdownIt
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fedi.convert.media_entity import with_documents
from fedi.convert.model_to_ap import note, tombstone
from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import (
    Actor,
    Event,
    Mention,
    Status,
    StatusEdit,
    Tag,
    TimelineEntry,
    Tombstone,
)
from fedi.services.media import attach_media, attachments_of
from fedi.services.polls import (
    MASTODON_LIMITS,
    PollLimits,
    PollSpec,
    create_poll,
    edit_poll,
    validate_poll,
    with_question,
)
from fedi.services.visibility import narrowest
from fedi.vocab import build
from fedi.vocab.parse import host_of
from fedi.vocab.safety import MAX_TAGS, hashtag_name, http_url
from outbox.context import PublishContext
from outbox.fanout import fan_out_status
from outbox.publish import publish

VISIBILITIES = ("direct", "followers", "hub", "neighbourhood")
MAX_CHARS = 5000
MAX_ARTICLE_CHARS = 100_000
MENTION_RE = re.compile(r"(?<![\w/])@([a-z0-9_]{1,30})(?:@([a-z0-9.\-]+(?::\d{1,5})?))?", re.IGNORECASE)
TAG_RE = re.compile(r"(?<![\w/&])#(\w{1,64})", re.UNICODE)
_md = MarkdownIt("commonmark", {"html": False, "linkify": False})
LOCAL_URL_SCHEMES = {"http", "https", "mailto"}


class PostingError(ValueError):
    """A status cannot be created or changed; the message says why (422 in the API)."""


@dataclass(frozen=True)
class Draft:
    text: str
    visibility: str = "followers"
    in_reply_to: Status | None = None
    spoiler_text: str = ""
    sensitive: bool = False
    language: str | None = None
    title: str | None = None  # an Article when set
    poll: PollSpec | None = None  # a Question when set (checked against poll_limits)
    poll_limits: PollLimits = MASTODON_LIMITS
    media_ids: tuple[int, ...] = ()  # the author's uploads (fedi.services.media)


def find_mentions(session: Session, text: str, local_domain: str) -> list[Actor]:
    """Known actors named ``@user`` (local) or ``@user@host`` in the text."""
    found: dict[int, Actor] = {}
    for user, host in MENTION_RE.findall(text):
        domain = (host or local_domain).lower()
        actor = session.scalar(select(Actor).where(
            Actor.username == user.lower() if domain == local_domain else Actor.username == user,
            Actor.domain == domain, Actor.deleted_at.is_(None), Actor.type == "Person"))
        if actor is not None:
            found[actor.id] = actor
    return list(found.values())


def render_text(text: str, mentions: list[Actor]) -> str:
    """Plain text → safe HTML paragraphs with mention links."""
    by_name = {}
    for m in mentions:
        by_name[m.username.lower()] = m
        by_name[f"{m.username}@{m.domain}".lower()] = m
    paragraphs = []
    for block in re.split(r"\n{2,}", text.strip()):
        html = escape(block)

        def link(match: re.Match[str]) -> str:
            key = match.group(0)[1:].lower()
            actor = by_name.get(key)
            if actor is None:
                return match.group(0)
            return (f'<span class="h-card"><a href="{escape(actor.url or actor.uri)}" '
                    f'class="u-url mention">@<span>{escape(actor.username)}</span></a></span>')

        html = MENTION_RE.sub(link, html)
        paragraphs.append("<p>" + html.replace("\n", "<br>") + "</p>")
    return "".join(paragraphs)


def _image(renderer: Any, tokens: Any, idx: int, options: Any, env: dict[str, Any]) -> str:
    """An image of this hub's media as is; any other becomes a link to it (or its text),
    so that reading a post never makes the reader's app or browser call a third party."""
    token = tokens[idx]
    src = str(token.attrGet("src") or "")
    prefix = env.get("media_prefix")
    if prefix and src.startswith(prefix):
        return str(renderer.image(tokens, idx, options, env))
    alt = escape(renderer.renderInlineAsText(token.children or [], options, env))
    if http_url(src) is None:
        return alt
    return f'<a href="{escape(src, quote=True)}">{alt or escape(src)}</a>'


_md.add_render_rule("image", _image)


def render_markdown(source: str, *, media_prefix: str | None = None) -> str:
    """Markdown → sanitised HTML. Images only from ``media_prefix`` (``Urls.media``, this
    hub's own media); without it, no image at all. nh3 checks ``<img src>`` again."""

    def allowed(element: str, attribute: str, value: str) -> str | None:
        if element == "img" and attribute == "src" and not (
                media_prefix and value.startswith(media_prefix)):
            return None
        return value

    html = _md.render(source, {"media_prefix": media_prefix})
    return nh3.clean(html, url_schemes=LOCAL_URL_SCHEMES, attribute_filter=allowed)


def addressing(ctx: PublishContext, author: Actor, visibility: str,
               mentions: list[Actor]) -> dict[str, list[str]]:
    mention_uris = [m.uri for m in mentions]
    if visibility == "direct":
        return {"to": mention_uris, "cc": []}
    if visibility == "followers":
        return {"to": [author.followers_url or ""], "cc": mention_uris}
    if visibility == "hub":
        return {"to": [ctx.urls.members], "cc": mention_uris}
    linked = sorted(d for d in ctx.linked_domains() if d != ctx.settings.domain)
    return {"to": [ctx.urls.members],
            "cc": [ctx.members_collection(d) for d in linked] + mention_uris}


def hashtags(text: str) -> list[str]:
    """The valid hashtags of a text (the grammar remote ones must follow too), bounded."""
    names = (hashtag_name(t) for t in TAG_RE.findall(text))
    return list(dict.fromkeys(n for n in names if n is not None))[:MAX_TAGS]


def _store_mentions_and_tags(session: Session, status: Status, mentions: list[Actor],
                             text: str) -> None:
    session.execute(delete(Mention).where(Mention.status_id == status.id))
    session.execute(delete(Tag).where(Tag.status_id == status.id))
    for actor in mentions:
        session.add(Mention(id=new_id(), status_id=status.id, actor_id=actor.id))
    for name in hashtags(text):
        session.add(Tag(id=new_id(), status_id=status.id, name=name))


def create_status(session: Session, ctx: PublishContext, author: Actor, draft: Draft) -> Status:
    """Store a local status, fan it out here, and queue its deliveries (one transaction)."""
    text = draft.text or ""
    limit = MAX_ARTICLE_CHARS if draft.title else MAX_CHARS
    if not text.strip() and not draft.media_ids:
        raise PostingError("text can't be blank")
    if len(text) > limit:
        raise PostingError(f"text is over {limit} characters")
    if draft.visibility not in VISIBILITIES:
        raise PostingError(f"visibility must be one of {', '.join(VISIBILITIES)}")
    if draft.title is not None and not draft.title.strip():
        raise PostingError("an article needs a title")
    poll_options, poll_end = (validate_poll(draft.poll, draft.poll_limits, utcnow())
                              if draft.poll is not None else ([], None))
    visibility = draft.visibility
    parent = draft.in_reply_to
    if parent is not None:
        if parent.deleted_at is not None:
            raise PostingError("the status replied to was deleted")
        visibility = narrowest(visibility, parent.visibility)
        if parent.type == "Event" and parent.local:
            event = session.get(Event, parent.id)
            if event is not None and not event.comments_enabled:
                raise PostingError("comments are closed on this event")
    mentions = find_mentions(session, text, ctx.settings.domain)
    if parent is not None and parent.actor_id != author.id:
        parent_author = session.get(Actor, parent.actor_id)
        if parent_author is not None and parent_author.id not in {m.id for m in mentions}:
            mentions.append(parent_author)
    if visibility == "hub":
        mentions = [m for m in mentions if m.local]
    status_id = new_id()
    uri = ctx.urls.status(author.username, status_id)
    status = Status(
        id=status_id, uri=uri, actor_id=author.id, local=True, visibility=visibility,
        type="Article" if draft.title else "Note",
        in_reply_to_id=parent.id if parent else None,
        in_reply_to_uri=parent.uri if parent else None,
        title=draft.title.strip() if draft.title else None,
        content=(render_markdown(text, media_prefix=ctx.urls.media) if draft.title
                 else render_text(text, mentions)),
        source=text, spoiler_text=draft.spoiler_text[:500], sensitive=draft.sensitive,
        language=draft.language, url=uri,
        recipients=addressing(ctx, author, visibility, mentions),
        created_at=utcnow(),
    )
    session.add(status)
    session.flush()
    _store_mentions_and_tags(session, status, mentions, text)
    attached = attach_media(session, author, status, draft.media_ids)
    fan_out_status(session, status, [m.id for m in mentions if m.local])
    obj = with_documents(note(status, author, mentions, hashtags(text)), attached,
                         ctx.urls.base)
    if draft.poll is not None:
        poll = create_poll(session, status, poll_options, expires_at=poll_end,
                           multiple=draft.poll.multiple, hide_totals=draft.poll.hide_totals)
        obj = with_question(session, status, obj, poll)
    doc = build.activity("Create", f"{uri}/activity", author.uri, obj,
                         to=obj["to"], cc=obj["cc"], published=obj["published"])
    publish(session, ctx, author, doc, federate=visibility != "hub")
    return status


def _mentions_of(session: Session, status: Status) -> list[Actor]:
    return list(session.scalars(select(Actor).join(Mention, Mention.actor_id == Actor.id)
                                .where(Mention.status_id == status.id)))


def edit_status(session: Session, ctx: PublishContext, author: Actor, status: Status,
                text: str, *, spoiler_text: str | None = None,
                sensitive: bool | None = None, poll: PollSpec | None = None,
                change_poll: bool = False, poll_limits: PollLimits = MASTODON_LIMITS,
                media_ids: Sequence[int] | None = None) -> Status:
    """Edit a local status; the Update goes only to the original recipients.
    ``change_poll``: the edit sets its poll to ``poll`` (None removes it, as Mastodon does)."""
    if status.actor_id != author.id or not status.local or status.deleted_at is not None:
        raise PostingError("only the author can edit a status")
    if status.type == "Event":
        raise PostingError("edit this event through /api/v1/events")
    if status.type == "Article":
        raise PostingError("edit this article through /api/v1/articles")
    if len(text) > (MAX_ARTICLE_CHARS if status.title else MAX_CHARS) or not (
            text.strip() or media_ids or (media_ids is None and attachments_of(
                session, [status.id]))):
        raise PostingError("text is blank or too long")
    session.add(StatusEdit(id=new_id(), status_id=status.id, content=status.content,
                           spoiler_text=status.spoiler_text, sensitive=status.sensitive))
    mentions = _mentions_of(session, status)
    status.source = text
    status.content = (render_markdown(text, media_prefix=ctx.urls.media) if status.title
                      else render_text(text, mentions))
    if spoiler_text is not None:
        status.spoiler_text = spoiler_text[:500]
    if sensitive is not None:
        status.sensitive = sensitive
    status.edited_at = utcnow()
    if change_poll:
        edit_poll(session, status, poll, poll_limits)
    # The tags follow the new text: a hashtag removed by the edit takes the post off that
    # tag's timeline (mentions stay those of the original audience).
    session.execute(delete(Tag).where(Tag.status_id == status.id))
    for name in hashtags(text):
        session.add(Tag(id=new_id(), status_id=status.id, name=name))
    if media_ids is not None:
        attach_media(session, author, status, media_ids)
    obj = with_question(session, status, note(status, author, mentions, hashtags(text)))
    obj = with_documents(obj, attachments_of(session, [status.id]).get(status.id, []),
                         ctx.urls.base)
    doc = build.activity("Update", f"{status.uri}/edits/{new_id()}", author.uri, obj,
                         to=obj["to"], cc=obj["cc"])
    publish(session, ctx, author, doc, federate=status.visibility != "hub")
    return status


def delete_status(session: Session, ctx: PublishContext, author: Actor, status: Status) -> None:
    """Delete a local status; the Delete goes only to the original recipients."""
    if status.actor_id != author.id or not status.local:
        raise PostingError("only the author can delete a status")
    if status.deleted_at is not None:
        return
    status.deleted_at = utcnow()
    session.execute(delete(TimelineEntry).where(TimelineEntry.status_id == status.id))
    if session.get(Tombstone, status.uri) is None:
        session.add(Tombstone(uri=status.uri, actor_uri=author.uri))
    to = list(status.recipients.get("to", []))
    cc = list(status.recipients.get("cc", []))
    doc = build.activity("Delete", f"{status.uri}#delete", author.uri, tombstone(status.uri),
                         to=to, cc=cc)
    publish(session, ctx, author, doc, federate=status.visibility != "hub")


def remote_host(uri: str) -> str:
    return host_of(uri)
