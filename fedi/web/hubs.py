"""``POST /actor/inbox``: the instance actor's inbox, where hubs ask each other to link.

A hub we already exchange signed requests with goes through the ordinary inbox (verify,
policy, store, 202). A hub we do not know yet is refused like any stranger (403), with one
exception: a ``Follow`` of our ``/actor`` by its own ``/actor``. For that request:

1. the body is parsed (bounded depth) and its shape checked, before anything is fetched;
2. its signature is verified, fetching only that hub's ``/actor`` (one-domain allowance,
   the usual outgoing-request guards, at most once per hub per ``VERIFY_INTERVAL``, a few
   at a time); nothing is stored before this succeeds;
3. ``fedi.services.trust`` decides from the hub's *own* ``/actor`` territory, never from a
   claim in the request: a hub our admins listed, or one that borders us and is vouched for
   by a hub our admins listed, is accepted through the ordinary inbox worker; any other
   waits for our admins, within the caps on waiting requests (429 when full).

Mounted before ``inbox.routes`` in ``fedi.app`` so that it answers for ``/actor/inbox``.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedi.convert.ap_to_model import InvalidObject
from fedi.db import transaction
from fedi.http import Fetcher
from fedi.keystore import KeyFetchError, KeyInfo, KeyStore
from fedi.resolve import ActorResolver
from fedi.services import neighbours
from fedi.services.territory import clean_territory
from fedi.verification import (
    RequestRejected,
    VerifiedRequest,
    header_view,
    read_json_body,
    signing_domain,
)
from fedi.vocab.parse import get_id, host_of
from fedi.web.signed import rejected
from fedi.web.state import Hub, hub_of
from inbox import routes as inbox_routes
from inbox.policy import check_activity
from inbox.queue import store_activity

# One verification (one fetch of its /actor) per unknown hub per this many seconds.
VERIFY_INTERVAL = 10.0
# Unknown hubs' /actor fetched at the same time, at most (the others wait their turn).
CONCURRENT_VERIFICATIONS = 8


def _link_request(hub: Hub, doc: Any, domain: str) -> bool:
    """Is this a Follow of our /actor by the /actor of the signing hub?"""
    scheme = hub.settings.scheme
    return (isinstance(doc, dict) and doc.get("type") == "Follow"
            and isinstance(doc.get("id"), str) and host_of(doc["id"]) == domain
            and get_id(doc.get("actor")) == f"{scheme}://{domain}/actor"
            and get_id(doc.get("object")) == hub.urls.instance_actor)


def _throttled(hub: Hub, domain: str) -> bool:
    recent: dict[str, float] = hub.extras.setdefault("link_verifications", {})
    now = time.monotonic()
    for key in [k for k, t in recent.items() if now - t > VERIFY_INTERVAL]:
        del recent[key]
    if domain in recent:
        return True
    recent[domain] = now
    return False


def _verifications(hub: Hub) -> asyncio.Semaphore:
    limit = hub.extras.get("link_verification_slots")
    if limit is None:
        limit = hub.extras["link_verification_slots"] = asyncio.Semaphore(
            CONCURRENT_VERIFICATIONS)
    return limit  # type: ignore[no-any-return]


async def _verify_stranger(request: Request, hub: Hub, body: bytes,
                           domain: str) -> tuple[VerifiedRequest, dict[str, Any]]:
    """Verify the signature of a hub that is not allowed yet, fetching only its /actor.

    Returns the signer and the hub's actor document, which is stored only once the
    signature checked out (a forged request writes nothing)."""
    assert hub.fetcher is not None and hub.signer is not None and hub.verifier is not None

    def only(candidate: str) -> bool:  # a one-domain allowance for this request
        return candidate == domain

    fetcher = Fetcher(hub.fetcher.client, is_allowed=only, allow_http=hub.settings.allow_http)
    resolver = ActorResolver(hub.sessions, fetcher, hub.signer, hub.settings.domain)
    documents: list[dict[str, Any]] = []

    async def fetch_unstored(url: str) -> KeyInfo:
        if documents:  # a refetch after a bad signature: we have just fetched it
            raise KeyFetchError("the key was fetched for this request already")
        key, doc = await resolver.fetch_key_document(url)
        documents.append(doc)
        return key

    async def nothing_local(_key_id: str) -> KeyInfo | None:
        return None

    keystore = KeyStore(local_lookup=nothing_local, remote_fetch=fetch_unstored)
    signer = await hub.verifier.verify(request.scope, body, keystore=keystore, is_allowed=only)
    return signer, documents[-1]


async def actor_inbox(request: Request) -> Response:
    hub = hub_of(request)
    body = await request.body()
    domain = signing_domain(header_view(request.scope["headers"]))
    if domain is None or domain == hub.settings.domain or hub.peers.is_allowed(domain):
        return await inbox_routes.receive(request)
    if hub.peers.is_blocked(domain):  # blocked by an admin: not even its /actor is fetched
        return JSONResponse({"error": "this hub declined to link with yours"}, status_code=403)
    try:
        doc = read_json_body(body)
    except RequestRejected as exc:
        return rejected(exc)
    if not _link_request(hub, doc, domain):
        return await inbox_routes.receive(request)  # a stranger: refused there (403)
    with hub.read_sessions() as session:
        row = neighbours.find_row(session, domain)
        refused = row is not None and row.state == "refused"
    if refused:
        return JSONResponse({"error": "this hub declined to link with yours"}, status_code=403)
    if _throttled(hub, domain):
        return JSONResponse({"error": "try again later"}, status_code=429,
                            headers={"Retry-After": str(int(VERIFY_INTERVAL))})
    try:
        async with _verifications(hub):
            signer, actor_doc = await _verify_stranger(request, hub, body, domain)
        activity_id = check_activity(doc, signer, local_domain=hub.settings.domain)
    except RequestRejected as exc:
        return rejected(exc)
    assert hub.resolver is not None
    try:
        hub.resolver.store_actor(actor_doc)  # verified: admins (and the worker) need it
    except InvalidObject as exc:
        return rejected(RequestRejected(400, f"the hub's /actor is refused: {exc}"))
    # Its own /actor says where it is; the territory in the Follow is only a claim.
    territory = clean_territory(actor_doc.get("territory"))
    with transaction(hub.sessions) as session:
        outcome = neighbours.receive_link_request(session, hub.settings, domain, doc["id"],
                                                  territory)
    if outcome == "full":
        return JSONResponse({"error": "too many link requests are waiting here"},
                            status_code=429, headers={"Retry-After": "3600"})
    if outcome == "refused":
        return JSONResponse({"error": "this hub declined to link with yours"}, status_code=403)
    if outcome == "accept":
        hub.peers.invalidate()  # it may sign to us from now on (its Accept, its members)
        store_activity(hub.sessions, activity_id, doc, signer.actor_uri, signer.key_id, None)
        worker = hub.extras.get("inbox_worker")
        if worker is not None:
            worker.wake()
    return Response(status_code=202)


routes = [Route("/actor/inbox", actor_inbox, methods=["POST"])]
