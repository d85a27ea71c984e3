"""``/oauth/token`` (authorization_code with PKCE S256, password, client_credentials,
refresh_token), ``/oauth/revoke``, ``/oauth/userinfo`` and the RFC 8414 metadata."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from typing import Any
from urllib.parse import unquote

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from fedi.api.auth import (
    KNOWN_SCOPES,
    TOP,
    Call,
    endpoint,
    parse_scopes,
    scopes_allowed,
    token_hash,
)
from fedi.api.errors import ApiError, OAuthError
from fedi.api.logins import LoginBusy, LoginLimited, verify_login
from fedi.api.params import Params
from fedi.api.ratelimit import client_address
from fedi.db import transaction, utcnow
from fedi.ids import new_id
from fedi.models import Actor, OAuthApp, OAuthCode, OAuthToken, User
from fedi.services import second_factor
from fedi.web.state import hub_of

GRANTS = ["authorization_code", "password", "client_credentials", "refresh_token"]
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def issue_token(session: Session, app: OAuthApp, user_id: int | None, scopes: list[str], *,
                refresh: bool = True) -> dict[str, Any]:
    """A new access token (and refresh token for users), stored hashed; the Token entity."""
    access = secrets.token_urlsafe(32)
    refresh_token = secrets.token_urlsafe(32) if refresh and user_id is not None else None
    row = OAuthToken(id=new_id(), token_hash=token_hash(access),
                     refresh_hash=token_hash(refresh_token) if refresh_token else None,
                     app_id=app.id, user_id=user_id, scopes=" ".join(scopes), created_at=utcnow())
    session.add(row)
    session.flush()
    doc: dict[str, Any] = {"access_token": access, "token_type": "Bearer",
                           "scope": " ".join(scopes), "created_at": int(row.created_at.timestamp())}
    if refresh_token:
        doc["refresh_token"] = refresh_token
    return doc


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError(401, "invalid_client", "Client authentication failed") from None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        raise OAuthError(401, "invalid_client", "Client authentication failed")
    return unquote(client_id), unquote(secret)


def client_of(session: Session, request: Request, params: Params, *,
              secret_optional: bool = False) -> OAuthApp:
    basic = _basic_credentials(request)
    client_id = basic[0] if basic else params.str("client_id", "", max_len=200)
    secret = basic[1] if basic else params.str("client_secret", "", max_len=200)
    app = None
    if client_id:
        app = session.scalar(select(OAuthApp).where(OAuthApp.client_id == client_id))
    if app is None:
        raise OAuthError(401, "invalid_client", "Client authentication failed due to unknown "
                         "client, no client authentication included, or unsupported "
                         "authentication method.")
    checked = bool(secret) or not secret_optional
    if checked and not hmac.compare_digest((secret or "").encode(), app.client_secret.encode()):
        raise OAuthError(401, "invalid_client", "Client authentication failed")
    return app


def requested_scopes(params: Params, app: OAuthApp, default: list[str]) -> list[str]:
    scopes = parse_scopes(params.str("scope", max_len=1000)) or default
    if not scopes_allowed(scopes, app.scopes.split()):
        raise OAuthError(400, "invalid_scope", "The requested scope is invalid, unknown, or "
                         "malformed.")
    return scopes


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def grant_code(session: Session, request: Request, params: Params) -> dict[str, Any]:
    code = params.str("code", "", max_len=200) or ""
    row = session.get(OAuthCode, hashlib.sha256(code.encode()).hexdigest()) if code else None
    invalid = OAuthError(400, "invalid_grant", "The provided authorization grant is invalid, "
                         "expired, revoked, does not match the redirection URI used in the "
                         "authorization request, or was issued to another client.")
    app = client_of(session, request, params,
                    secret_optional=row is not None and row.code_challenge is not None)
    if row is None or row.app_id != app.id or row.used_at is not None or row.expires_at < utcnow():
        raise invalid
    redirect_uri = params.str("redirect_uri", "", max_len=4000) or ""
    if not hmac.compare_digest(redirect_uri.encode(), row.redirect_uri.encode()):
        raise invalid
    if row.code_challenge is not None:
        verifier = params.str("code_verifier", "", max_len=200) or ""
        if not 43 <= len(verifier) <= 128 or not hmac.compare_digest(
                s256(verifier).encode(), row.code_challenge.encode()):
            raise invalid
    # Single use even under concurrency: only one request can flip used_at.
    used = session.execute(update(OAuthCode).where(OAuthCode.code_hash == row.code_hash,
                                                   OAuthCode.used_at.is_(None))
                           .values(used_at=utcnow()))
    if used.rowcount != 1:
        raise invalid
    user = session.get(User, row.user_id)
    if user is None or user.disabled:
        raise invalid
    return issue_token(session, app, user.id, row.scopes.split())


INVALID_GRANT = ("The provided authorization grant is invalid, expired, revoked, does not "
                 "match the redirection URI used in the authorization request, or was issued "
                 "to another client.")


async def grant_password(request: Request, params: Params) -> dict[str, Any]:
    """Read the app (read session), check the password with no session open, then write
    the token briefly: nothing holds the write lock while argon2 runs."""
    hub = hub_of(request)
    with hub.read_sessions() as session:
        app = client_of(session, request, params)
        scopes = requested_scopes(params, app, ["read"])
    login = params.str("username", "", max_len=320) or ""
    password = params.str("password", "", max_len=2048) or ""
    try:
        user_id = await verify_login(hub, login, password, client_address(request.scope),
                                     user_agent=request.headers.get("user-agent", ""), kind="app",
                                     app_id=app.id)
    except LoginLimited as exc:
        raise OAuthError(429, "rate_limited", "Too many requests", headers=exc.headers) from None
    except LoginBusy as exc:
        raise OAuthError(503, "temporarily_unavailable", exc.message,
                         headers=exc.headers) from None
    if user_id is None:
        raise OAuthError(400, "invalid_grant", INVALID_GRANT)
    with transaction(hub.write_sessions) as session:
        user = session.get(User, user_id)
        # A password alone must not get past a second factor: members with TOTP on sign
        # apps in through /oauth/authorize (Mastodon refuses this grant to them too).
        if user is None or user.disabled or second_factor.is_enabled(user):
            raise OAuthError(400, "invalid_grant", INVALID_GRANT)
        return issue_token(session, app, user_id, scopes)


def grant_refresh(session: Session, request: Request, params: Params) -> dict[str, Any]:
    app = client_of(session, request, params)
    refresh = params.str("refresh_token", "", max_len=200) or ""
    row = session.scalar(select(OAuthToken).where(
        OAuthToken.refresh_hash == token_hash(refresh))) if refresh else None
    if row is None or row.app_id != app.id or row.revoked_at is not None or row.user_id is None:
        raise OAuthError(400, "invalid_grant", "The refresh token is invalid")
    scopes = parse_scopes(params.str("scope", max_len=1000)) or row.scopes.split()
    if not scopes_allowed(scopes, row.scopes.split()):
        raise OAuthError(400, "invalid_scope", "The requested scope is invalid")
    # Used once even when sent twice in parallel: only one request can revoke the row
    # (PostgreSQL re-checks the condition after the other transaction commits).
    revoked = session.execute(update(OAuthToken).where(OAuthToken.id == row.id,
                                                       OAuthToken.revoked_at.is_(None))
                              .values(revoked_at=utcnow()))
    if revoked.rowcount != 1:
        raise OAuthError(400, "invalid_grant", "The refresh token is invalid")
    return issue_token(session, app, row.user_id, scopes)


async def token(request: Request) -> Response:
    hub = hub_of(request)
    try:
        params = await Params.read(request)
        grant = params.str("grant_type", "", max_len=64)
        if grant == "password":
            doc = await grant_password(request, params)
        elif grant in ("authorization_code", "client_credentials", "refresh_token"):
            with transaction(hub.sessions) as session:
                if grant == "authorization_code":
                    doc = grant_code(session, request, params)
                elif grant == "client_credentials":
                    app = client_of(session, request, params)
                    doc = issue_token(session, app, None,
                                      requested_scopes(params, app, ["read"]), refresh=False)
                else:
                    doc = grant_refresh(session, request, params)
        else:
            raise OAuthError(400, "unsupported_grant_type", "The authorization grant type "
                             "is not supported by the authorization server.")
    except OAuthError as exc:
        response = exc.response()
        response.headers.update(NO_STORE)
        return response
    except ApiError as exc:
        return OAuthError(400, "invalid_request", exc.message).response()
    return JSONResponse(doc, headers=NO_STORE)


async def revoke(request: Request) -> Response:
    """RFC 7009: 200 ``{}`` for unknown tokens too; 403 for another app's token."""
    hub = hub_of(request)
    with hub.sessions() as session:
        try:
            params = await Params.read(request)
            app = client_of(session, request, params)
            value = params.str("token", "", max_len=200) or ""
            hashed = token_hash(value)
            row = session.scalar(select(OAuthToken).where(
                (OAuthToken.token_hash == hashed) | (OAuthToken.refresh_hash == hashed)))
            if row is not None:
                if row.app_id != app.id:
                    raise OAuthError(403, "unauthorized_client", "You are not authorized to "
                                     "revoke this token")
                if row.revoked_at is None:
                    row.revoked_at = utcnow()
            session.commit()
        except OAuthError as exc:
            session.rollback()
            return exc.response()
        except ApiError as exc:
            return OAuthError(400, "invalid_request", exc.message).response()
    return JSONResponse({}, headers=NO_STORE)


async def metadata(request: Request) -> Response:
    base = hub_of(request).urls.base
    return JSONResponse({
        "issuer": f"{base}/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "userinfo_endpoint": f"{base}/oauth/userinfo",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": sorted(KNOWN_SCOPES, key=lambda s: (s not in TOP, s)),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "grant_types_supported": GRANTS,
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post",
                                                  "none"],
    })


async def userinfo(call: Call) -> Any:
    actor: Actor = call.actor
    entity = call.render.account(actor)
    return {"iss": f"{call.hub.urls.base}/", "sub": actor.uri, "name": entity["display_name"],
            "preferred_username": actor.username, "profile": entity["url"],
            "picture": entity["avatar"]}


routes = [
    Route("/oauth/token", token, methods=["POST"]),
    Route("/oauth/revoke", revoke, methods=["POST"]),
    Route("/oauth/userinfo", endpoint(("profile", "read:accounts"))(userinfo),
          methods=["GET", "POST"]),
    Route("/.well-known/oauth-authorization-server", metadata),
]
