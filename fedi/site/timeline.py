"""Timelines of a member: home (with the composer), this hub, the neighbourhood, and one post
with its thread and a reply box. Every list comes from ``fedi.services.timelines``, the
same visibility filter as the client API."""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fedi.convert.model_to_api import FROM_API
from fedi.models import Actor, Status, User
from fedi.services import timelines
from fedi.services.notifications import follow_requests
from fedi.site.announcements import unread
from fedi.site.page import linked, page_of, path_id, reading, show
from fedi.site.posts import build_posts, post_path
from fedi.site.profile import find_profile
from fedi.web.session import require_member
from fedi.web.state import hub_of


def default_audience(user: User) -> str:
    """The member's default audience (stored as the Mastodon value); followers otherwise."""
    value = user.default_visibility or "private"
    if value in FROM_API:
        return FROM_API[value]
    return value if value in ("direct", "followers", "hub", "neighbourhood") else "followers"


def _timeline(request: Request, kind: str) -> Response:
    page = page_of(request)
    with reading(request) as (session, actor, user):
        nb = linked(request)
        if kind == "home":
            rows = timelines.home(session, actor, nb, page)
        else:
            rows = timelines.public(session, actor, nb, page, local=kind == "hub")
        posts = build_posts(session, actor, nb, rows)
        audience = default_audience(user)
        waiting = len(follow_requests(session, actor)) if kind == "home" else 0
        notices = unread(session, user.id)
    paths = {"home": "/", "hub": "/hub", "neighbourhood": "/neighbourhood"}
    return show(request, "site/pages/timeline.html", {
        "nav": "home" if kind == "home" else "neighbourhood", "kind": kind, "posts": posts,
        "path": paths[kind], "limit": page.limit, "older": page.max_id is not None,
        "requests_waiting": waiting, "announcements": notices,
        "default_audience": audience if kind == "home" else (
            "hub" if kind == "hub" else "neighbourhood"),
    })


async def home(request: Request) -> Response:
    """The member's home (``/`` when logged in, see fedi.site.front)."""
    return _timeline(request, "home")


@require_member
async def hub_timeline(request: Request) -> Response:
    return _timeline(request, "hub")


@require_member
async def neighbourhood(request: Request) -> Response:
    return _timeline(request, "neighbourhood")


def _visible_post(request: Request, session: Session, viewer: Actor,
                  acct: str, status_id: int) -> tuple[Actor, Status]:
    author = find_profile(session, hub_of(request).settings.domain, acct)
    status = timelines.find_visible(session, viewer, linked(request), status_id)
    if author is None or status is None or status.actor_id != author.id:
        raise HTTPException(404)
    return author, status


@require_member
async def thread(request: Request) -> Response:
    """One post, what it answers and its replies (all the viewer may see), a reply box."""
    status_id = path_id(request)
    acct = request.path_params["acct"]
    with reading(request) as (session, actor, _user):
        nb = linked(request)
        author, status = _visible_post(request, session, actor, acct, status_id)
        if status.reblog_of_id is not None:
            original = timelines.find_visible(session, actor, nb, status.reblog_of_id)
            if original is None:
                raise HTTPException(404)
            original_author = session.get(Actor, original.actor_id)
            assert original_author is not None
            return RedirectResponse(post_path(original_author, original.id), status_code=303)
        ancestors, descendants = timelines.context(session, actor, nb, status)
        cards = build_posts(session, actor, nb, [*ancestors, status, *descendants])
    by_id = {c.id: c for c in cards}
    main = by_id.get(status.id)
    if main is None:
        raise HTTPException(404)
    return show(request, "site/pages/thread.html", {
        "nav": "home", "post": main,
        "ancestors": [by_id[s.id] for s in ancestors if s.id in by_id],
        "descendants": [by_id[s.id] for s in descendants if s.id in by_id],
        "default_audience": status.visibility, "here": post_path(author, status.id),
    })


routes = [
    Route("/hub", hub_timeline, methods=["GET"], name="hub_timeline"),
    Route("/neighbourhood", neighbourhood, methods=["GET"], name="neighbourhood"),
    Route("/@{acct}/{id}", thread, methods=["GET"], name="thread"),
]
