"""POST /inbox, /users/{username}/inbox, /actor/inbox: verify → policy → store → 202."""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import exists, select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedi.models import Actor, Follow
from fedi.services.accounts import find_local_actor
from fedi.verification import RequestRejected, VerifiedRequest, read_json_body
from fedi.vocab.parse import addressed, get_id, host_of
from fedi.web.signed import rejected, verify
from fedi.web.state import Hub, hub_of
from inbox.move_targets import refresh_move_target
from inbox.policy import check_activity
from inbox.queue import store_activity


class FollowedSenders:
    """Senders someone here followed a few seconds ago: their activities are addressed here
    without asking the database on every POST. Only this answer is remembered: a stale one
    lets in, for at most ``TTL`` seconds after the last follower left, activities that the
    worker then stores for nobody; a new follower is seen at once."""

    TTL = 5.0  # seconds
    MAX = 10_000

    def __init__(self) -> None:
        self._until: dict[str, float] = {}

    def recently(self, actor_uri: str) -> bool:
        until = self._until.get(actor_uri)
        return until is not None and until > time.monotonic()

    def remember(self, actor_uri: str) -> None:
        if len(self._until) >= self.MAX:
            self._until.clear()  # bounded; at worst each sender is looked up once more
        self._until[actor_uri] = time.monotonic() + self.TTL


def _is_addressed_here(hub: Hub, doc: dict[str, Any], signer: VerifiedRequest) -> bool:
    """Does anyone here have a reason to receive this activity?"""
    local_prefix = hub.urls.base + "/"
    targets = addressed(doc)
    obj = doc.get("object")
    if isinstance(obj, dict):
        targets |= addressed(obj)
        targets.add(get_id(obj.get("inReplyTo")) or "")
    targets.add(get_id(obj) or "")
    if isinstance(obj, list):  # a Flag names an account here and its posts
        targets.update(get_id(o) or "" for o in obj[:60])
    if isinstance(obj, dict):
        targets.add(get_id(obj.get("object")) or "")
    if any(t.startswith(local_prefix) for t in targets):
        return True
    followed = hub.extras.setdefault("inbox_followed_senders", FollowedSenders())
    if followed.recently(signer.actor_uri):
        return True
    with hub.read_sessions() as session:
        # Three columns in one query, not the whole Actor: loading the entity (its raw JSON
        # document included) cost about a millisecond per inbox POST.
        sender = session.execute(select(
            Actor.id, Actor.followers_url,
            exists().where(Follow.followee_id == Actor.id, Follow.state == "accepted")
            .label("followed")).where(Actor.uri == signer.actor_uri)).first()
        if sender is None:
            return False
        target = get_id(obj) if doc.get("type") == "Delete" else None
        if target == signer.actor_uri or (target and host_of(target) == signer.domain and (
                session.scalar(select(Actor.id).where(Actor.uri == target,
                                                      Actor.local.is_(False))))):
            return True  # an account we hold a copy of is gone (fedi.services.erasure)
        # Someone here follows the sender: addressed here, however it is addressed (several
        # servers address a public post to as:Public alone, without their followers).
        if sender.followed:
            followed.remember(signer.actor_uri)
            return True
        if sender.followers_url in targets or doc.get("type") in ("Delete", "Update", "Undo"):
            return False  # fan-out to followers, and no one here follows the sender
    return f"{hub.settings.scheme}://{signer.domain}/members" in targets


async def receive(request: Request) -> Response:
    hub = hub_of(request)
    recipient_id = None
    username = request.path_params.get("username")
    if username is not None:
        with hub.read_sessions() as session:
            actor = find_local_actor(session, username)
        if actor is None:
            return JSONResponse({"error": "no such inbox"}, status_code=404)
        recipient_id = actor.id
    body = await request.body()
    try:
        signer = await verify(request, body)
    except RequestRejected as exc:
        return rejected(exc)
    try:
        doc = read_json_body(body)
        activity_id = check_activity(doc, signer, local_domain=hub.settings.domain)
    except RequestRejected as exc:
        return rejected(exc)
    if not _is_addressed_here(hub, doc, signer):
        return JSONResponse({"error": "the activity is not addressed to anyone here"},
                            status_code=422)
    await refresh_move_target(hub.resolver, hub.peers.is_allowed, hub.settings.domain, doc)
    writer = hub.extras.get("inbox_writer")
    if writer is not None:
        await writer.store(activity_id, doc, signer.actor_uri, signer.key_id, recipient_id)
    else:
        store_activity(hub.sessions, activity_id, doc, signer.actor_uri, signer.key_id,
                       recipient_id)
    worker = hub.extras.get("inbox_worker")
    if worker is not None:
        worker.wake()
    return Response(status_code=202)


routes = [
    Route("/inbox", receive, methods=["POST"]),
    Route("/actor/inbox", receive, methods=["POST"]),
    Route("/users/{username}/inbox", receive, methods=["POST"]),
]
