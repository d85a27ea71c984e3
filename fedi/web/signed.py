"""Authorized fetch: every ActivityPub GET but /actor and discovery must be signed by an
allowed hub. Responses that depend on the signature are private and vary on it.

The signature itself is checked by ``fedi.verification`` (the same path as the inbox);
this module only binds it to a Starlette request and shapes the answers."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fedi.verification import RequestRejected, VerifiedRequest
from fedi.vocab.context import ACTIVITY_JSON
from fedi.web.state import hub_of

PRIVATE_HEADERS = {"Cache-Control": "private", "Vary": "Signature, Signature-Input, Accept"}


async def verify(request: Request, body: bytes = b"") -> VerifiedRequest:
    """The verified signer of this request, or RequestRejected (401/403/404/400 with a
    reason)."""
    verifier = hub_of(request).verifier
    assert verifier is not None
    return await verifier.verify(request.scope, body)


def rejected(exc: RequestRejected) -> Response:
    return JSONResponse({"error": exc.reason}, status_code=exc.status, headers=PRIVATE_HEADERS)


def ap_json(doc: dict[str, Any], status: int = 200, private: bool = True) -> Response:
    headers = dict(PRIVATE_HEADERS) if private else {"Cache-Control": "public, max-age=600"}
    return JSONResponse(doc, status_code=status, media_type=ACTIVITY_JSON, headers=headers)


def not_found() -> Response:
    return JSONResponse({"error": "not found"}, status_code=404, headers=PRIVATE_HEADERS)
