"""Authorized fetch: every ActivityPub GET but /actor and discovery must be signed by an
allowed hub. Responses that depend on the signature are private and vary on it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fedi.models import Neighbour
from fedi.vocab.context import ACTIVITY_JSON
from fedi.web.state import Hub, hub_of
from inbox.verify import RequestRejected, VerifiedRequest, header_view, verify_signed_request

PRIVATE_HEADERS = {"Cache-Control": "private", "Vary": "Signature, Signature-Input, Accept"}


def request_target(request: Request) -> str:
    raw_path = request.scope.get("raw_path") or request.url.path.encode()
    target = raw_path.decode("latin-1")
    query = request.scope.get("query_string", b"")
    return f"{target}?{query.decode('latin-1')}" if query else target


def request_url(request: Request) -> str:
    hub = hub_of(request)
    return f"{hub.urls.base}{request_target(request)}"


async def verify(request: Request, body: bytes = b"") -> VerifiedRequest:
    """The verified signer of this request, or RequestRejected (401/403/400 with a reason)."""
    hub = hub_of(request)
    assert hub.keystore is not None
    headers = header_view(request.scope["headers"])
    try:
        return await _verify(request, hub, headers, body)
    except RequestRejected as exc:
        if exc.status == 403 and exc.domain and request.method == "GET" and was_unlinked(
                hub, exc.domain):
            # A hub whose link ended finds nothing here any more: 404, as for anything it
            # may not see (issue: "unlinking: inbox 403, fetch 404").
            raise RequestRejected(404, "not found") from None
        raise


def was_unlinked(hub: Hub, domain: str) -> bool:
    with hub.read_sessions() as session:
        state = session.scalar(select(Neighbour.state).where(Neighbour.domain == domain))
    return state in ("unlinked", "refused", "rejected")


async def _verify(request: Request, hub: Hub, headers: dict[str, str],
                  body: bytes) -> VerifiedRequest:
    return await verify_signed_request(
        request.method,
        request_target(request),
        request_url(request),
        headers,
        body,
        keystore=hub.keystore,
        is_allowed=hub.peers.is_allowed,
        local_domain=hub.settings.domain,
        now=datetime.now(UTC),
    )


def rejected(exc: RequestRejected) -> Response:
    return JSONResponse({"error": exc.reason}, status_code=exc.status, headers=PRIVATE_HEADERS)


def ap_json(doc: dict[str, Any], status: int = 200, private: bool = True) -> Response:
    headers = dict(PRIVATE_HEADERS) if private else {"Cache-Control": "public, max-age=600"}
    return JSONResponse(doc, status_code=status, media_type=ACTIVITY_JSON, headers=headers)


def not_found() -> Response:
    return JSONResponse({"error": "not found"}, status_code=404, headers=PRIVATE_HEADERS)
