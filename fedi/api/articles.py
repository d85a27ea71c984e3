"""Blog articles extension API: create (draft or published), read, edit, publish, delete.

A draft is seen only by its author; a published article by whoever may see its status.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.routing import Route

from fedi.api.auth import Call, endpoint
from fedi.api.errors import ApiError, not_found
from fedi.convert.model_to_api import FROM_API, api_visibility, iso
from fedi.models import Actor, Article, Status
from fedi.services.articles import (
    ArticleError,
    create_article,
    delete_article,
    edit_article,
    render_body,
)
from fedi.services.timelines import find_visible

AUDIENCES = {"neighbourhood", "hub", "followers"}


def failed(call: Call, exc: ArticleError) -> ApiError:
    lang = call.caller.user.locale if call.caller and call.caller.user else "fr"
    if exc.status != 422:
        return ApiError(exc.status, exc.text(lang))
    prefix = "Validation failed: " if lang == "en" else "Échec de la validation : "
    return ApiError(422, prefix + exc.text(lang))


def values_of(call: Call) -> dict[str, Any]:
    p = call.params
    out: dict[str, Any] = {}
    for name in ("title", "body", "summary"):
        if p.has(name):
            out[name] = p.str(name, "", max_len=1_000_000)
    if p.has("visibility"):
        value = p.str("visibility", max_len=32) or ""
        out["visibility"] = value if value in AUDIENCES else FROM_API.get(value, value)
    return out


def _published(call: Call) -> bool | None:
    p = call.params
    if p.has("published"):
        return p.bool("published")
    if p.has("draft"):
        return not p.bool("draft")
    return None


def entity(call: Call, article: Article) -> dict[str, Any]:
    status = call.session.get(Status, article.status_id) if article.status_id else None
    author = call.session.get(Actor, article.actor_id)
    mine = call.caller is not None and call.caller.actor is not None and (
        call.caller.actor.id == article.actor_id)
    base = call.hub.urls.base
    return {
        "id": str(article.id), "title": article.title, "summary": article.summary,
        "content": status.content if status else render_body(article.source, base),
        "source": article.source if mine else None,
        "visibility": article.visibility, "api_visibility": api_visibility(article.visibility),
        "draft": status is None, "published_at": iso(article.published_at)
        if article.published_at else None,
        "status_id": str(status.id) if status else None,
        "uri": status.uri if status else None,
        "url": f"{call.hub.urls.profile(author.username)}/articles/{article.id}"
        if author else None,
        "account": call.render.account(author) if author else None,
        "created_at": iso(article.created_at), "updated_at": iso(article.updated_at),
    }


def find_article(call: Call) -> Article:
    article = call.session.get(Article, call.path_id())
    if article is None:
        raise not_found()
    if article.actor_id == call.actor.id:
        return article
    if article.status_id is None or find_visible(
            call.session, call.actor, call.render.linked, article.status_id) is None:
        raise not_found()
    return article


async def post_article(call: Call) -> Any:
    try:
        article = create_article(call.session, call.ctx, call.actor, values_of(call),
                                 published=_published(call) is not False)
    except ArticleError as exc:
        raise failed(call, exc) from None
    return entity(call, article)


async def list_articles(call: Call) -> Any:
    """The caller's own articles, drafts included, newest first."""
    rows = call.session.scalars(select(Article).where(Article.actor_id == call.actor.id)
                                .order_by(Article.id.desc()).limit(200))
    return [entity(call, a) for a in rows]


async def get_article(call: Call) -> Any:
    return entity(call, find_article(call))


async def put_article(call: Call) -> Any:
    article = find_article(call)
    try:
        edit_article(call.session, call.ctx, call.actor, article, values_of(call),
                     published=_published(call))
    except ArticleError as exc:
        raise failed(call, exc) from None
    return entity(call, article)


async def remove_article(call: Call) -> Any:
    article = find_article(call)
    result = entity(call, article)
    try:
        delete_article(call.session, call.ctx, call.actor, article)
    except ArticleError as exc:
        raise failed(call, exc) from None
    return result


read = endpoint("read:statuses", body=False)
write = endpoint("write:statuses")
routes = [
    Route("/api/v1/articles", write(post_article), methods=["POST"]),
    Route("/api/v1/articles", read(list_articles), methods=["GET"]),
    Route("/api/v1/articles/{id}", read(get_article), methods=["GET"]),
    Route("/api/v1/articles/{id}", write(put_article), methods=["PUT"]),
    Route("/api/v1/articles/{id}", write(remove_article), methods=["DELETE"]),
]
