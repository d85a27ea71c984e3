"""Direct-message threads (``/api/v1/conversations``), grouped by the thread's first status.

Computed from the direct statuses the member wrote or was mentioned in, so messages that
arrive from other hubs need no extra bookkeeping; only read and hidden marks are stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from starlette.routing import Route

from fedi.api.auth import Call, endpoint, json_response
from fedi.api.errors import not_found
from fedi.api.pagination import link_header, page_of
from fedi.convert.model_to_api import conversation
from fedi.ids import new_id
from fedi.models import ConversationState, Mention
from fedi.services.conversations import Thread
from fedi.services.conversations import mark_read as mark_thread_read
from fedi.services.conversations import threads as member_threads


def threads(call: Call) -> list[Thread]:
    return member_threads(call.session, call.actor)


def render(call: Call, items: list[Thread]) -> list[dict[str, Any]]:
    me = call.actor.id
    ids = [s.id for t in items for s in t.statuses]
    mentioned: dict[int, list[int]] = {}
    for sid, aid in call.session.execute(select(Mention.status_id, Mention.actor_id)
                                         .where(Mention.status_id.in_(ids))).all():
        mentioned.setdefault(sid, []).append(aid)
    people: dict[int, list[int]] = {}
    for t in items:
        who = [s.actor_id for s in t.statuses] + [a for s in t.statuses
                                                  for a in mentioned.get(s.id, [])]
        people[t.root_id] = [a for a in dict.fromkeys(who) if a != me]
    actors = call.render.actors_by_id(a for ids_ in people.values() for a in ids_)
    lasts = {int(e["id"]): e for e in call.render.statuses([t.last for t in items])}
    out = []
    for t in items:
        accounts = call.render.accounts([actors[a] for a in people[t.root_id] if a in actors])
        unread = t.unread(me)
        out.append(conversation(t.root_id, accounts, lasts.get(t.last.id), unread))
    return out


async def list_conversations(call: Call) -> Any:
    page = page_of(call.params)
    items = threads(call)
    if page.max_id is not None:
        items = [t for t in items if t.last.id < page.max_id]
    if page.since_id is not None:
        items = [t for t in items if t.last.id > page.since_id]
    if page.min_id is not None:
        items = [t for t in items if t.last.id > page.min_id][-page.limit:]
    items = items[:page.limit]
    return json_response(render(call, items), headers=link_header(
        call.hub.urls.base, call.request.url.path, call.params, [t.last.id for t in items]))


def _thread(call: Call) -> Thread:
    wanted = call.path_id()
    for t in threads(call):
        if t.root_id == wanted:
            return t
    raise not_found()


def _state(call: Call, thread: Thread) -> ConversationState:
    if thread.state is None:
        thread.state = ConversationState(id=new_id(), owner_id=call.actor.id,
                                         root_id=thread.root_id, last_read_id=0,
                                         hidden_before_id=0)
        call.session.add(thread.state)
    return thread.state


async def mark_read(call: Call) -> Any:
    thread = _thread(call)
    mark_thread_read(call.session, call.actor, thread)
    call.session.flush()
    return render(call, [thread])[0]


async def remove(call: Call) -> Any:
    thread = _thread(call)
    _state(call, thread).hidden_before_id = thread.last.id
    return {}


read = endpoint("read:statuses", body=False)
write = endpoint("write:conversations")
routes = [
    Route("/api/v1/conversations", read(list_conversations)),
    Route("/api/v1/conversations/", read(list_conversations)),
    Route("/api/v1/conversations/{id}/read", write(mark_read), methods=["POST"]),
    Route("/api/v1/conversations/{id}", write(remove), methods=["DELETE"]),
]
