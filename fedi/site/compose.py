"""Writing: publish a post or a reply (audience chooser), edit and delete one's own posts,
favourite and boost. Thin over ``fedi.services.posting`` and ``interactions``: the same
rules as the client API (a reply never wider than its parent, no boost that widens)."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.i18n import translate
from fedi.models import Actor, Status
from fedi.services import interactions, timelines
from fedi.services.interactions import InteractionError
from fedi.services.posting import (
    MAX_CHARS,
    MENTION_RE,
    VISIBILITIES,
    Draft,
    PostingError,
    create_status,
    delete_status,
    edit_status,
    find_mentions,
)
from fedi.site.page import (
    Refused,
    back,
    linked,
    parse_id,
    path_id,
    publish_ctx,
    read_form,
    reading,
    refusable,
    show,
    writing,
)
from fedi.site.posts import build_posts, post_path
from fedi.site.timeline import default_audience
from fedi.web.session import require_member
from fedi.web.state import hub_of
from fedi.web.templating import request_language
from outbox.fanout import notify_boosters_of_edit


def _problem(request: Request, text: str, audience: str) -> str | None:
    """What is wrong with a post before it reaches the service, in the member's language."""
    lang = request_language(request)
    if not text.strip():
        return translate(lang, "Write something before publishing.")
    if len(text) > MAX_CHARS:
        return translate(lang, "A post is at most 5000 characters long.")
    if audience not in VISIBILITIES:
        return translate(lang, "Choose who may see this post.")
    return None


def _compose_again(request: Request, error: str, form: dict[str, str],
                   status: int = 422) -> Response:
    return show(request, "site/pages/compose.html", {
        "nav": "home", "error": error, "text": form.get("text", ""),
        "audience": form.get("audience") if form.get("audience") in VISIBILITIES else "followers",
        "reply_to": form.get("in_reply_to") or None, "next_url": form.get("next") or "/",
    }, status=status)


@require_member
@refusable
async def publish(request: Request) -> Response:
    form = await read_form(request, ("text", "audience", "in_reply_to", "next"))
    text, audience = form["text"], form["audience"]
    problem = _problem(request, text, audience)
    if problem is not None:
        return _compose_again(request, problem, form)
    lang = request_language(request)
    hub = hub_of(request)
    with writing(request) as (session, actor, _user):
        parent = None
        if form["in_reply_to"]:
            parent_id = parse_id(form["in_reply_to"])
            parent = None if parent_id is None else timelines.find_visible(
                session, actor, linked(request), parent_id)
            if parent is None:
                raise HTTPException(404)
        if audience == "direct" and parent is None and not find_mentions(
                session, text, hub.settings.domain):
            return _compose_again(request, translate(
                lang, "A direct message goes to the people it mentions: add @name."), form)
        try:
            status = create_status(session, publish_ctx(hub), actor,
                                   Draft(text=text, visibility=audience, in_reply_to=parent,
                                         language=lang))
        except PostingError as exc:
            raise Refused(_compose_again(request, translate(
                lang, "This post could not be published:") + f" {exc}", form)) from None
        where = form["next"] or (post_path(actor, status.id) if parent is not None else "/")
    return back(where, f"#post-{status.id}")


@require_member
async def new_post(request: Request) -> Response:
    """A blank composer; ``?to=name@hub&audience=direct`` starts a direct message."""
    to = request.query_params.get("to", "").strip().lstrip("@")[:300]
    direct = request.query_params.get("audience") == "direct"
    with reading(request) as (_session, _actor, user):
        audience = "direct" if direct else default_audience(user)
    mention = f"@{to} " if to and MENTION_RE.fullmatch(f"@{to}") else ""
    return show(request, "site/pages/compose.html", {
        "nav": "messages" if direct else "home", "error": None, "text": mention,
        "audience": audience, "reply_to": None, "next_url": "/messages" if direct else "/"})


def _own_post(session: Session, actor: Actor, request: Request) -> Status:
    status = timelines.find_visible(session, actor, linked(request), path_id(request))
    if status is None or status.actor_id != actor.id or not status.local or status.reblog_of_id:
        raise HTTPException(404)
    return status


@require_member
async def edit_page(request: Request) -> Response:
    with reading(request) as (session, actor, _user):
        status = _own_post(session, actor, request)
        post = build_posts(session, actor, linked(request), [status])[0]
        text = status.source or ""
    return show(request, "site/pages/edit.html", {"nav": "home", "post": post, "text": text,
                                                  "error": None})


@require_member
@refusable
async def edit_submit(request: Request) -> Response:
    form = await read_form(request, ("text",))
    lang = request_language(request)
    hub = hub_of(request)
    with writing(request) as (session, actor, _user):
        status = _own_post(session, actor, request)
        problem = _problem(request, form["text"], status.visibility)
        if problem is None:
            try:
                edit_status(session, publish_ctx(hub), actor, status, form["text"])
                notify_boosters_of_edit(session, status)
            except PostingError as exc:
                problem = translate(lang, "This post could not be changed:") + f" {exc}"
        if problem is not None:
            post = build_posts(session, actor, linked(request), [status])[0]
            raise Refused(show(request, "site/pages/edit.html", {
                "nav": "home", "post": post, "text": form["text"], "error": problem}, status=422))
        path = post_path(actor, status.id)
    return back(path)


@require_member
async def delete_page(request: Request) -> Response:
    with reading(request) as (session, actor, _user):
        status = _own_post(session, actor, request)
        post = build_posts(session, actor, linked(request), [status])[0]
    return show(request, "site/pages/delete.html", {"nav": "home", "post": post})


@require_member
async def delete_submit(request: Request) -> Response:
    hub = hub_of(request)
    with writing(request) as (session, actor, _user):
        status = _own_post(session, actor, request)
        delete_status(session, publish_ctx(hub), actor, status)
    return back("/")


def _reaction(verb: str):  # type: ignore[no-untyped-def]
    @require_member
    @refusable
    async def react(request: Request) -> Response:
        form = await read_form(request, ("next",))
        hub = hub_of(request)
        lang = request_language(request)
        with writing(request) as (session, actor, _user):
            status = timelines.find_visible(session, actor, linked(request), path_id(request))
            if status is None:
                raise HTTPException(404)
            if status.reblog_of_id is not None:
                status = timelines.find_visible(session, actor, linked(request),
                                                status.reblog_of_id)
                if status is None:
                    raise HTTPException(404)
            ctx = publish_ctx(hub)
            try:
                if verb == "favourite":
                    interactions.favourite(session, ctx, actor, status)
                elif verb == "unfavourite":
                    interactions.unfavourite(session, ctx, actor, status)
                elif verb == "boost":
                    interactions.reblog(session, ctx, actor, status)
                else:
                    interactions.unreblog(session, ctx, actor, status)
            except InteractionError:
                raise Refused(show(request, "site/pages/problem.html", {"message": translate(
                    lang, "Followers-only posts and direct messages cannot be boosted.")},
                    status=422)) from None
            anchor = f"#post-{status.id}"
        return back(form["next"] or "/", anchor)

    react.__name__ = verb
    return react


routes = [
    Route("/posts", publish, methods=["POST"], name="publish"),
    Route("/posts/new", new_post, methods=["GET"], name="new_post"),
    Route("/posts/{id}/edit", edit_page, methods=["GET"]),
    Route("/posts/{id}/edit", edit_submit, methods=["POST"]),
    Route("/posts/{id}/delete", delete_page, methods=["GET"]),
    Route("/posts/{id}/delete", delete_submit, methods=["POST"]),
    *[Route(f"/posts/{{id}}/{verb}", _reaction(verb), methods=["POST"])
      for verb in ("favourite", "unfavourite", "boost", "unboost")],
]
