"""``POST /api/v1/apps``: register a client app (form, multipart or JSON), and
``GET /api/v1/apps/verify_credentials``."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from starlette.routing import Route

from fedi.api.auth import KNOWN_SCOPES, Call, endpoint, parse_scopes
from fedi.api.errors import ApiError, unprocessable
from fedi.convert.model_to_api import application
from fedi.ids import new_id
from fedi.models import OAuthApp

OOB = "urn:ietf:wg:oauth:2.0:oob"
MAX_REDIRECT_URIS = 10


def check_redirect_uri(uri: str) -> str:
    """Any scheme is fine (apps use their own: ``icecubesapp://``, ``com.tapbots.Ivory…:/``);
    it must be an absolute URI without a fragment, as RFC 6749 §3.1.2 asks."""
    if uri == OOB:
        return uri
    if len(uri) > 2000 or any(c.isspace() or ord(c) < 0x20 for c in uri):
        raise unprocessable("Redirect URI is not a valid URI")
    try:
        parts = urlsplit(uri)
    except ValueError:
        raise unprocessable("Redirect URI is not a valid URI") from None
    if not parts.scheme or "#" in uri or not (parts.netloc or parts.path or "://" in uri):
        raise unprocessable("Redirect URI must be an absolute URI without a fragment")
    if parts.scheme.lower() in ("javascript", "data", "vbscript", "file"):
        raise unprocessable("Redirect URI scheme is not allowed")
    return uri


def redirect_uris_of(call: Call) -> list[str]:
    raw = call.params.data.get("redirect_uris")
    if isinstance(raw, str):
        uris = raw.split()
    elif isinstance(raw, list):
        uris = [u for u in raw if isinstance(u, str)]
        uris = [part for u in uris for part in u.split()]
    else:
        raise unprocessable("Redirect URI can't be blank")
    if not uris:
        raise unprocessable("Redirect URI can't be blank")
    if len(uris) > MAX_REDIRECT_URIS:
        raise unprocessable(f"at most {MAX_REDIRECT_URIS} redirect URIs")
    return [check_redirect_uri(u) for u in dict.fromkeys(uris)]


async def create_app(call: Call) -> Any:
    p = call.params
    name = (p.str("client_name", max_len=255) or "").strip()
    if not name:
        raise unprocessable("Name can't be blank")
    uris = redirect_uris_of(call)
    raw_scopes = p.data.get("scopes")
    if isinstance(raw_scopes, list):
        raw_scopes = " ".join(s for s in raw_scopes if isinstance(s, str))
    elif raw_scopes is not None and not isinstance(raw_scopes, str):
        raise unprocessable("Scopes must be a string")
    scopes = parse_scopes(raw_scopes) or ["read"]
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if unknown:
        raise unprocessable(f"Scopes are invalid: {' '.join(unknown)[:200]}")
    website = (p.str("website", max_len=2000) or "").strip() or None
    app = OAuthApp(id=new_id(), name=name, website=website,
                   client_id=secrets.token_urlsafe(32), client_secret=secrets.token_urlsafe(32),
                   redirect_uris="\n".join(uris), scopes=" ".join(scopes)[:512])
    call.session.add(app)
    call.session.flush()
    return application(app, with_secret=True)


async def verify_app(call: Call) -> Any:
    assert call.caller is not None
    app = call.session.scalar(select(OAuthApp).where(OAuthApp.id == call.caller.app_id))
    if app is None:
        raise ApiError(401, "The access token is invalid")
    return application(app, with_secret=False)


routes = [
    Route("/api/v1/apps", endpoint(auth="optional")(create_app), methods=["POST"]),
    Route("/api/v1/apps/verify_credentials", endpoint(auth="token")(verify_app)),
]
