"""``/messages``: direct-message threads (the same threads as ``/api/v1/conversations``),
and one thread read oldest first with a reply box addressed to everyone in it."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.models import Actor
from fedi.services.conversations import find_thread, mark_read, participants, threads
from fedi.site.page import linked, path_id, reading, show, writing
from fedi.site.posts import Post, build_posts, handle
from fedi.web.session import require_member

MAX_THREADS = 100


@dataclass(frozen=True)
class Summary:
    root_id: int
    last: Post
    people: list[Actor]
    unread: bool
    count: int


@require_member
async def messages_page(request: Request) -> Response:
    with reading(request) as (session, actor, _user):
        found = threads(session, actor)[:MAX_THREADS]
        lasts = {p.id: p for p in build_posts(session, actor, linked(request),
                                              [t.last for t in found])}
        items = [Summary(t.root_id, lasts[t.last.id], participants(session, actor, t),
                         t.unread(actor.id), len(t.statuses))
                 for t in found if t.last.id in lasts]
    return show(request, "site/pages/messages.html", {"nav": "messages", "threads": items})


@require_member
async def thread_page(request: Request) -> Response:
    root_id = path_id(request)
    with writing(request) as (session, actor, _user):
        thread = find_thread(session, actor, root_id)
        if thread is None:
            raise HTTPException(404)
        posts = build_posts(session, actor, linked(request), list(reversed(thread.statuses)))
        people = participants(session, actor, thread)
        mark_read(session, actor, thread)
        mentions = " ".join(handle(p) for p in people)
        last_id = thread.last.id
    return show(request, "site/pages/message_thread.html", {
        "nav": "messages", "posts": posts, "root_id": root_id,
        "names": [p.display_name or p.username for p in people],
        "reply_to": last_id, "prefill": f"{mentions} " if mentions else "",
    })


routes = [
    Route("/messages", messages_page, methods=["GET"], name="messages"),
    Route("/messages/{id}", thread_page, methods=["GET"]),
]
