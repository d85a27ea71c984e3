"""Blog pages: a member's articles, the article page with its comments, and the editor
(server-side preview, save as draft, publish). Thin over ``fedi.services.articles``.

A draft is seen by its author only; a published article by whoever may see its status
(``find_visible`` / ``visible_to``). The article's page is the ``url`` the service gives it:
``/@name/articles/<article id>``.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fedi.models import Actor, Article, Status
from fedi.services import timelines
from fedi.services.articles import (
    ArticleError,
    create_article,
    edit_article,
    read_input,
    render_body,
)
from fedi.site.page import (
    Refused,
    back,
    linked,
    path_id,
    publish_ctx,
    read_form,
    reading,
    refusable,
    show,
    writing,
)
from fedi.site.posts import build_posts
from fedi.site.profile import find_profile
from fedi.web.session import member_of, require_member
from fedi.web.state import hub_of
from fedi.web.templating import request_language

AUDIENCES = ("followers", "hub", "neighbourhood")
FIELDS = ("title", "summary", "body", "audience", "action")
LIST_LIMIT = 100


def article_path(author: Actor, article: Article) -> str:
    return f"/@{author.username}/articles/{article.id}"


def _author(session: Session, request: Request) -> Actor:
    author = find_profile(session, hub_of(request).settings.domain,
                          request.path_params["acct"][:300])
    if author is None or not author.local:
        raise HTTPException(404)
    return author


@require_member
async def blog(request: Request) -> Response:
    """The nav's « Blog »: the member's own articles."""
    return RedirectResponse(f"/@{member_of(request).username}/articles", status_code=303)


@require_member
async def articles_page(request: Request) -> Response:
    with reading(request) as (session, viewer, _user):
        author = _author(session, request)
        query = select(Article).where(Article.actor_id == author.id)
        if author.id != viewer.id:  # published only, and only what the viewer may see
            query = (query.join(Status, Status.id == Article.status_id)
                     .join(Actor, Actor.id == Status.actor_id)
                     .where(timelines.visible_to(viewer.id, linked(request))))
        articles = list(session.scalars(query.order_by(Article.id.desc()).limit(LIST_LIMIT)))
        return show(request, "site/pages/articles.html", {
            "nav": "blog", "author": author, "articles": articles,
            "mine": author.id == viewer.id,
            "path_of": lambda article: article_path(author, article)})


def _readable(session: Session, request: Request, viewer: Actor) -> tuple[Actor, Article,
                                                                          Status | None]:
    author = _author(session, request)
    article = session.get(Article, path_id(request))
    if article is None or article.actor_id != author.id:
        raise HTTPException(404)
    if article.status_id is None:
        if viewer.id != author.id:
            raise HTTPException(404)
        return author, article, None
    status = timelines.find_visible(session, viewer, linked(request), article.status_id)
    if status is None:
        raise HTTPException(404)
    return author, article, status


@require_member
async def article_page(request: Request) -> Response:
    with reading(request) as (session, viewer, _user):
        author, article, status = _readable(session, request, viewer)
        replies: list[Any] = []
        if status is not None:
            _before, after = timelines.context(session, viewer, linked(request), status)
            replies = build_posts(session, viewer, linked(request), after)
        body = Markup(render_body(article.source, hub_of(request).urls.base))
        return show(request, "site/pages/article.html", {
            "nav": "blog", "author": author, "article": article, "status": status,
            "body": body, "replies": replies, "here": article_path(author, article),
            "mine": author.id == viewer.id})


def _editor(request: Request, form: dict[str, str], article: Article | None,
            error: str | None = None, preview: Markup | None = None,
            status: int = 200) -> Response:
    return show(request, "site/pages/article_edit.html", {
        "nav": "blog", "form": form, "article": article, "error": error, "preview": preview,
        "audiences": AUDIENCES,
        "published": article is not None and article.status_id is not None}, status=status)


@require_member
async def new_article(request: Request) -> Response:
    return _editor(request, {"audience": "followers"}, None)


def _values(form: dict[str, str], article: Article | None) -> dict[str, Any]:
    values: dict[str, Any] = {"title": form["title"], "summary": form["summary"],
                              "body": form["body"]}
    if article is None or article.status_id is None:
        values["visibility"] = form["audience"] if form["audience"] in AUDIENCES else ""
    return values


async def _form(request: Request) -> dict[str, str]:
    form = await read_form(request, FIELDS, 100_001)
    if form["action"] not in ("preview", "draft", "publish"):
        form["action"] = "preview"
    return form


def _preview(request: Request, form: dict[str, str], article: Article | None) -> Response:
    lang = request_language(request)
    preview = Markup(render_body(form["body"], hub_of(request).urls.base))
    error = None
    try:  # the same checks as saving, nothing stored
        read_input(_values(form, article), article)
    except ArticleError as exc:
        error = exc.text(lang)
    return _editor(request, form, article, error, preview, 422 if error else 200)


@require_member
@refusable
async def create(request: Request) -> Response:
    form = await _form(request)
    if form["action"] == "preview":
        return _preview(request, form, None)
    lang = request_language(request)
    with writing(request) as (session, actor, _user):
        try:
            article = create_article(session, publish_ctx(hub_of(request)), actor,
                                     _values(form, None),
                                     published=form["action"] == "publish")
        except ArticleError as exc:
            raise Refused(_editor(request, form, None, exc.text(lang), status=422)) from None
        where_to = article_path(actor, article)
    return back(where_to)


def _own(session: Session, request: Request, actor: Actor) -> Article:
    article = session.get(Article, path_id(request))
    if article is None or article.actor_id != actor.id:
        raise HTTPException(404)
    return article


@require_member
async def edit_page(request: Request) -> Response:
    with reading(request) as (session, actor, _user):
        article = _own(session, request, actor)
        form = {"title": article.title, "summary": article.summary or "",
                "body": article.source, "audience": article.visibility}
        session.expunge(article)
    return _editor(request, form, article)


@require_member
@refusable
async def edit_submit(request: Request) -> Response:
    form = await _form(request)
    lang = request_language(request)
    with writing(request) as (session, actor, _user):
        article = _own(session, request, actor)
        if form["action"] == "preview":
            raise Refused(_preview(request, form, article))
        try:
            edit_article(session, publish_ctx(hub_of(request)), actor, article,
                         _values(form, article),
                         published=True if form["action"] == "publish" else None)
        except ArticleError as exc:
            raise Refused(_editor(request, form, article, exc.text(lang),
                                  status=422)) from None
        where_to = article_path(actor, article)
    return back(where_to)


routes = [
    Route("/blog", blog, methods=["GET"], name="blog"),
    Route("/articles/new", new_article, methods=["GET"], name="new_article"),
    Route("/articles", create, methods=["POST"]),
    Route("/articles/{id}/edit", edit_page, methods=["GET"]),
    Route("/articles/{id}/edit", edit_submit, methods=["POST"]),
    Route("/@{acct}/articles", articles_page, methods=["GET"]),
    Route("/@{acct}/articles/{id}", article_page, methods=["GET"]),
]
