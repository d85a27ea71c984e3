"""``POST /actor/inbox``: the instance actor's inbox, where hubs ask each other to link.

A hub we already exchange signed requests with goes through the ordinary inbox (verify,
policy, store, 202). A hub we do not know yet is refused like any stranger (403), with one
exception: a ``Follow`` of our ``/actor`` by its own ``/actor``. That request is:

- checked at once when the territory it claims borders ours and ``auto_link_adjacent`` is on:
  we fetch that one hub's ``/actor`` (the only URL we fetch for it) to verify the signature and
  read its real territory; adjacent, it is accepted through the ordinary inbox worker;
- otherwise kept, unverified, for our admins (nothing fetched). Approving it sends our own
  Follow, which that hub must answer with a signature: a forged request links nothing.

Mounted before ``inbox.routes`` in ``fedi.app`` so that it answers for ``/actor/inbox``.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedi.db import transaction
from fedi.http import Fetcher
from fedi.keystore import KeyStore
from fedi.models import Actor
from fedi.resolve import ActorResolver
from fedi.rfc9421 import key_id_9421
from fedi.services import neighbours
from fedi.services.hub_settings import get_setting
from fedi.services.territory import adjacent_to_us, clean_territory
from fedi.signatures import SignatureFormatError, parse_signature_header
from fedi.vocab.parse import get_id, host_of
from fedi.web.signed import rejected, request_target, request_url
from fedi.web.state import Hub, hub_of
from inbox import routes as inbox_routes
from inbox.policy import check_activity
from inbox.queue import store_activity
from inbox.verify import RequestRejected, header_view, key_domain, verify_signed_request

# One verification (one fetch of its /actor) per unknown hub per this many seconds.
VERIFY_INTERVAL = 10.0


def signing_domain(request: Request) -> str | None:
    """The host of the request's keyId, or None when it is not signed readably."""
    headers = header_view(request.scope["headers"])
    try:
        if "signature-input" in headers:
            key_id = key_id_9421(headers)
        elif "signature" in headers:
            key_id = parse_signature_header(headers["signature"]).key_id
        else:
            return None
        return key_domain(key_id) if key_id else None
    except (SignatureFormatError, RequestRejected, ValueError):
        return None


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


async def _verify_stranger(request: Request, hub: Hub, body: bytes, domain: str) -> Any:
    """Verify the signature of a hub that is not allowed yet, fetching only its /actor."""
    assert hub.fetcher is not None and hub.signer is not None

    def only(candidate: str) -> bool:  # a one-domain allowance for this request
        return candidate == domain

    fetcher = Fetcher(hub.fetcher.client, is_allowed=only, allow_http=hub.settings.allow_http)
    resolver = ActorResolver(hub.sessions, fetcher, hub.signer, hub.settings.domain)
    keystore = KeyStore(local_lookup=resolver.stored_key, remote_fetch=resolver.fetch_key)
    return await verify_signed_request(
        request.method, request_target(request), request_url(request),
        header_view(request.scope["headers"]), body, keystore=keystore, is_allowed=only,
        local_domain=hub.settings.domain, now=datetime.now(UTC))


def _stored_territory(hub: Hub, actor_uri: str) -> list[str]:
    with hub.sessions() as session:
        raw = session.scalar(select(Actor.raw).where(Actor.uri == actor_uri))
    return clean_territory((raw or {}).get("territory"))


async def actor_inbox(request: Request) -> Response:
    hub = hub_of(request)
    body = await request.body()
    domain = signing_domain(request)
    if domain is None or domain == hub.settings.domain or hub.peers.is_allowed(domain):
        return await inbox_routes.receive(request)
    try:
        doc = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
    if not _link_request(hub, doc, domain):
        return await inbox_routes.receive(request)  # a stranger: refused there (403)
    claimed = clean_territory(doc.get("territory"))
    with transaction(hub.sessions) as session:
        auto = bool(get_setting(session, "auto_link_adjacent"))
        row = neighbours.find_row(session, domain)
        refused = row is not None and row.state == "refused"
    if refused:
        return JSONResponse({"error": "this hub declined to link with yours"}, status_code=403)
    if auto and adjacent_to_us(hub.settings, claimed):
        if _throttled(hub, domain):
            return JSONResponse({"error": "try again later"}, status_code=429,
                                headers={"Retry-After": str(int(VERIFY_INTERVAL))})
        try:
            signer = await _verify_stranger(request, hub, body, domain)
            activity_id = check_activity(doc, signer, local_domain=hub.settings.domain)
        except RequestRejected as exc:
            return rejected(exc)
        if adjacent_to_us(hub.settings, _stored_territory(hub, signer.actor_uri)):
            with transaction(hub.sessions) as session:
                # Reachable from now on, so that its Accept and Follow pass our inbox; the
                # inbox worker accepts this Follow and sends ours back.
                row = neighbours.get_or_create_row(session, domain, state="requested",
                                                   source="remote")
                if row.state not in ("requested", "linked"):
                    row.state = "requested"
            hub.peers.invalidate()
            store_activity(hub.sessions, activity_id, doc, signer.actor_uri, signer.key_id, None)
            worker = hub.extras.get("inbox_worker")
            if worker is not None:
                worker.wake()
            return Response(status_code=202)
    with transaction(hub.sessions) as session:
        outcome = neighbours.record_pending(session, domain, doc["id"], claimed)
    if outcome == "full":
        return JSONResponse({"error": "too many link requests are waiting here"},
                            status_code=429)
    if outcome == "refused":
        return JSONResponse({"error": "this hub declined to link with yours"}, status_code=403)
    return Response(status_code=202)


routes = [Route("/actor/inbox", actor_inbox, methods=["POST"])]
