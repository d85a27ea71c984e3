"""Blog articles of local members: private drafts, then an ``Article`` status once published.

Bodies are Markdown (headings, lists, links, quotes, images from this hub's own media
only), rendered and sanitised. An article reaches the audience a note would.
"""

from __future__ import annotations

import re
from typing import Any

import nh3
from markdown_it import MarkdownIt
from sqlalchemy.orm import Session

from fedi.convert.articles import plain_excerpt
from fedi.convert.model_to_ap import note
from fedi.db import utcnow
from fedi.ids import new_id
from fedi.models import Actor, Article, Status, StatusEdit
from fedi.services.posting import VISIBILITIES, addressing, delete_status
from fedi.vocab import build
from outbox.context import PublishContext
from outbox.fanout import fan_out_status
from outbox.publish import publish

MAX_BODY = 100_000
MAX_TITLE = 200
MAX_SUMMARY = 1000
BODY_TAGS = {"p", "br", "a", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "code",
             "pre", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "img"}
_BARE_IMG_RE = re.compile(r"<img(?![^>]*\ssrc=)[^>]*>")
_md = MarkdownIt("commonmark", {"html": False, "linkify": False})


class ArticleError(ValueError):
    """Refused input; ``text(lang)`` is the message for the member (422)."""

    def __init__(self, fr: str, en: str, status: int = 422) -> None:
        super().__init__(en)
        self.fr, self.en, self.status = fr, en, status

    def text(self, lang: str | None) -> str:
        return self.en if lang == "en" else self.fr


def render_body(source: str, base: str) -> str:
    """Markdown → safe HTML. Images stay only when they are this hub's own media."""
    media = f"{base}/media/"

    def keep(tag: str, attribute: str, value: str) -> str | None:
        if tag == "img" and attribute == "src":
            return value if value.startswith(media) else None
        return value

    html = nh3.clean(_md.render(source), tags=BODY_TAGS,
                     attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"}},
                     url_schemes={"http", "https", "mailto"}, attribute_filter=keep,
                     link_rel="nofollow noopener noreferrer")
    return _BARE_IMG_RE.sub("", html)


def article_url(ctx: PublishContext, author: Actor, article_id: int) -> str:
    """The member page of an article (the web pages are built elsewhere)."""
    return f"{ctx.urls.profile(author.username)}/articles/{article_id}"


def read_input(values: dict[str, Any], current: Article | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "title" in values or current is None:
        title = str(values.get("title") or "").strip()
        if not title:
            raise ArticleError("Un article a besoin d'un titre", "An article needs a title")
        if len(title) > MAX_TITLE:
            raise ArticleError(f"Le titre dépasse {MAX_TITLE} caractères",
                               f"The title is over {MAX_TITLE} characters")
        out["title"] = title
    if "body" in values or current is None:
        body = str(values.get("body") or "")
        if not body.strip():
            raise ArticleError("Le texte de l'article est vide", "The article's text is blank")
        if len(body) > MAX_BODY:
            raise ArticleError(f"Le texte dépasse {MAX_BODY} caractères",
                               f"The text is over {MAX_BODY} characters")
        out["source"] = body
    if "summary" in values:
        summary = str(values.get("summary") or "").strip()
        if len(summary) > MAX_SUMMARY:
            raise ArticleError(f"Le résumé dépasse {MAX_SUMMARY} caractères",
                               f"The summary is over {MAX_SUMMARY} characters")
        out["summary"] = summary
    if "visibility" in values:
        visibility = values.get("visibility")
        if visibility not in VISIBILITIES or visibility == "direct":
            raise ArticleError("Audience inconnue", "Unknown audience")
        if current is not None and current.status_id and visibility != current.visibility:
            raise ArticleError("L'audience d'un article publié ne change pas",
                               "A published article's audience cannot change")
        out["visibility"] = visibility
    return out


def _document(ctx: PublishContext, status: Status, author: Actor,
              article: Article) -> dict[str, Any]:
    doc = note(status, author, [])
    doc["summary"] = article.summary or plain_excerpt(status.content)
    return doc


def _publish_status(session: Session, ctx: PublishContext, author: Actor,
                    article: Article) -> Status:
    status_id = new_id()
    uri = ctx.urls.status(author.username, status_id)
    status = Status(id=status_id, uri=uri, actor_id=author.id, local=True,
                    visibility=article.visibility, type="Article", title=article.title,
                    content=render_body(article.source, ctx.urls.base), source=article.source,
                    url=article_url(ctx, author, article.id),
                    recipients=addressing(ctx, author, article.visibility, []),
                    created_at=utcnow())
    session.add(status)
    session.flush()
    fan_out_status(session, status, [])
    obj = _document(ctx, status, author, article)
    doc = build.activity("Create", f"{uri}/activity", author.uri, obj, to=obj["to"],
                         cc=obj["cc"], published=obj["published"])
    publish(session, ctx, author, doc, federate=article.visibility != "hub")
    return status


def create_article(session: Session, ctx: PublishContext, author: Actor,
                   values: dict[str, Any], *, published: bool) -> Article:
    columns = read_input({"visibility": "followers", "summary": "", **values})
    article = Article(id=new_id(), actor_id=author.id, created_at=utcnow(),
                      updated_at=utcnow(), **columns)
    session.add(article)
    session.flush()
    if published:
        publish_article(session, ctx, author, article)
    return article


def publish_article(session: Session, ctx: PublishContext, author: Actor,
                    article: Article) -> Article:
    if article.status_id is None:
        status = _publish_status(session, ctx, author, article)
        article.status_id = status.id
        article.published_at = utcnow()
    return article


def edit_article(session: Session, ctx: PublishContext, author: Actor, article: Article,
                 values: dict[str, Any], *, published: bool | None = None) -> Article:
    if article.actor_id != author.id:
        raise ArticleError("Seul l'auteur peut modifier cet article",
                           "Only the author can change this article", 403)
    if published is False and article.status_id is not None:
        raise ArticleError("Un article publié ne redevient pas brouillon",
                           "A published article cannot become a draft again")
    for key, value in read_input(values, article).items():
        setattr(article, key, value)
    article.updated_at = utcnow()
    status = session.get(Status, article.status_id) if article.status_id else None
    if status is not None and status.deleted_at is None:
        session.add(StatusEdit(id=new_id(), status_id=status.id, content=status.content,
                               spoiler_text=status.spoiler_text, sensitive=status.sensitive))
        status.title = article.title
        status.source = article.source
        status.content = render_body(article.source, ctx.urls.base)
        status.edited_at = utcnow()
        obj = _document(ctx, status, author, article)
        doc = build.activity("Update", f"{status.uri}/edits/{new_id()}", author.uri, obj,
                             to=obj["to"], cc=obj["cc"])
        publish(session, ctx, author, doc, federate=status.visibility != "hub")
    elif published:
        publish_article(session, ctx, author, article)
    return article


def delete_article(session: Session, ctx: PublishContext, author: Actor,
                   article: Article) -> None:
    if article.actor_id != author.id:
        raise ArticleError("Seul l'auteur peut supprimer cet article",
                           "Only the author can delete this article", 403)
    status = session.get(Status, article.status_id) if article.status_id else None
    if status is not None:
        delete_status(session, ctx, author, status)
    session.delete(article)
