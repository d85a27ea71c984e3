"""``/oauth/authorize``: the login and consent page (French first, English too).

The redirect URI is compared byte for byte with a registered one on GET *and* on POST;
anything wrong shows an error page and never redirects (security-and-performance.md
§5.4 #30). Codes are random, stored hashed, single-use and valid five minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fedi.api.apps import OOB
from fedi.api.auth import parse_scopes, scopes_allowed
from fedi.api.errors import ApiError
from fedi.api.logins import LoginBusy, LoginLimited, verify_login
from fedi.api.params import Params
from fedi.api.ratelimit import client_address
from fedi.api.second_factor import check_code
from fedi.db import transaction, utcnow
from fedi.i18n import browser_language
from fedi.models import OAuthApp, OAuthCode, User
from fedi.services.second_factor import OK
from fedi.web.csrf import FIELD as CSRF_FIELD
from fedi.web.csrf import token_ok as csrf_token_ok
from fedi.web.session import current_member
from fedi.web.state import Hub, hub_of

CODE_TTL = timedelta(minutes=5)
FORM_TTL = 3600
HIDDEN = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
          "code_challenge_method")
PAGE_HEADERS = {"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                # no form-action: after the POST we redirect to the app's own scheme
                "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                "frame-ancestors 'none'",
                "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True)
class AuthRequest:
    app: OAuthApp
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    values: dict[str, str]


class AuthRequestError(Exception):
    """The request itself is wrong: show it, never redirect."""


def language(request: Request, params: Params | None) -> str:
    """``lang`` when it names French or English, else Accept-Language. Never fails: a
    repeated or over-long ``lang`` is ignored (the page must still be shown)."""
    value = params.data.get("lang") if params is not None else None
    if isinstance(value, list) and value:
        value = value[0]
    if isinstance(value, str) and len(value) <= 35 and value.lower().startswith(("en", "fr")):
        return value[:2].lower()
    member = current_member(request)
    if member is not None:
        return member.language
    return browser_language(request.headers.get("accept-language"))


def check_request(session: Session, params: Params) -> AuthRequest:
    values = {k: (params.str(k, max_len=4000) or "") for k in HIDDEN}
    if values["response_type"] != "code":
        raise AuthRequestError("unsupported_response_type")
    app = session.scalar(select(OAuthApp).where(OAuthApp.client_id == values["client_id"]))
    if not values["client_id"] or app is None:
        raise AuthRequestError("invalid_client")
    registered = app.redirect_uris.split("\n")
    uri = values["redirect_uri"]
    if not uri and len(registered) == 1:
        uri = values["redirect_uri"] = registered[0]
    if not any(hmac.compare_digest(uri.encode(), r.encode()) for r in registered):
        raise AuthRequestError("invalid_redirect_uri")
    scopes = parse_scopes(values["scope"]) or ["read"]
    if not scopes_allowed(scopes, app.scopes.split()):
        raise AuthRequestError("invalid_scope")
    challenge = values["code_challenge"] or None
    if challenge is not None:
        if values["code_challenge_method"] != "S256":
            raise AuthRequestError("invalid_code_challenge_method")
        if not 43 <= len(challenge) <= 128:
            raise AuthRequestError("invalid_code_challenge")
    elif values["code_challenge_method"]:
        raise AuthRequestError("invalid_code_challenge")
    return AuthRequest(app=app, redirect_uri=uri, scopes=scopes,
                       state=values["state"] or None, code_challenge=challenge, values=values)


def form_token(hub: Hub, values: dict[str, str], issued: int | None = None) -> str:
    issued = int(time.time()) if issued is None else issued
    message = "\n".join([str(issued)] + [values.get(k, "") for k in HIDDEN]).encode()
    mac = hmac.new(hub.settings.secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{issued}.{mac}"


def form_token_ok(hub: Hub, values: dict[str, str], token: str) -> bool:
    issued, _, _mac = token.partition(".")
    if not (issued.isascii() and issued.isdigit() and len(issued) <= 12) or abs(
            time.time() - int(issued)) > FORM_TTL:
        return False
    return hmac.compare_digest(form_token(hub, values, int(issued)), token)


def page(request: Request, template: str, context: dict[str, Any], status: int = 200) -> Response:
    hub = hub_of(request)
    return hub.templates.TemplateResponse(request, template,
                                          {"hub_name": hub.settings.name, **context},
                                          status_code=status, headers=PAGE_HEADERS)


def error_page(request: Request, lang: str, error: str) -> Response:
    return page(request, "oauth/error.html", {"lang": lang, "error": error}, status=400)


def consent_page(request: Request, hub: Hub, req: AuthRequest, lang: str,
                 error: str | None = None, status: int = 200, login: str = "") -> Response:
    return page(request, "oauth/authorize.html", {
        "lang": lang, "app_name": req.app.name, "app_website": req.app.website,
        "scopes": req.scopes, "values": req.values, "error": error, "login": login,
        "form_token": form_token(hub, req.values), "member": current_member(request)},
        status=status)


async def authorize_get(request: Request) -> Response:
    hub = hub_of(request)
    params: Params | None = None
    try:
        params = await Params.read(request, body=False)
        lang = language(request, params)
        with hub.read_sessions() as session:
            req = check_request(session, params)
    except AuthRequestError as exc:
        return error_page(request, language(request, params), str(exc))
    except ApiError:  # too many, repeated or over-long parameters
        return error_page(request, language(request, params), "invalid_request")
    return consent_page(request, hub, req, lang)


def new_code(session: Session, req: AuthRequest, user: User) -> str:
    code = secrets.token_urlsafe(32)
    session.add(OAuthCode(code_hash=hashlib.sha256(code.encode()).hexdigest(), app_id=req.app.id,
                          user_id=user.id, redirect_uri=req.redirect_uri,
                          scopes=" ".join(req.scopes), code_challenge=req.code_challenge,
                          code_challenge_method="S256" if req.code_challenge else None,
                          expires_at=utcnow() + CODE_TTL))
    return code


def redirect_with(uri: str, **query: str | None) -> Response:
    pairs = urlencode({k: v for k, v in query.items() if v is not None})
    return RedirectResponse(f"{uri}{'&' if '?' in uri else '?'}{pairs}", status_code=302,
                            headers={"Cache-Control": "no-store"})


async def authorize_post(request: Request) -> Response:
    """Check the request and the form (read session), the password (no session: argon2
    runs outside any transaction, fedi.api.logins), then store the code (short write)."""
    hub = hub_of(request)
    params: Params | None = None
    try:
        params = await Params.read(request)
        lang = language(request, params)
        with hub.read_sessions() as session:
            req = check_request(session, params)
        if not form_token_ok(hub, req.values, params.str("form_token", "", max_len=200) or ""):
            return error_page(request, lang, "invalid_form")
        decision = params.str("decision", "", max_len=16)
        login = params.str("login", "", max_len=320) or ""
        password = params.str("password", "", max_len=2048) or ""
        code = params.str("code", "", max_len=32) or ""
    except AuthRequestError as exc:
        return error_page(request, language(request, params), str(exc))
    except ApiError:  # too many, repeated or over-long fields
        return error_page(request, language(request, params), "invalid_request")
    if decision == "deny":
        if req.redirect_uri == OOB:
            return error_page(request, lang, "access_denied")
        return redirect_with(req.redirect_uri, error="access_denied", state=req.state)
    member = current_member(request)
    try:
        if not login and member is not None:  # one click for the logged-in member
            if not csrf_token_ok(request, params.str(CSRF_FIELD, "", max_len=200)):
                return error_page(request, lang, "invalid_form")
            user_id: int | None = member.user.id
        else:
            user_id = await verify_login(hub, login, password, client_address(request.scope),
                                         user_agent=request.headers.get("user-agent", ""),
                                         kind="app", app_id=req.app.id)
            # The second factor, once the password is right (fedi.api.second_factor).
            outcome = check_code(hub, user_id, code) if user_id is not None else OK
            if outcome != OK:
                return consent_page(request, hub, req, lang, error=f"totp_{outcome}",
                                    status=401, login=login)
    except LoginLimited:
        return consent_page(request, hub, req, lang, error="rate_limited", status=429,
                            login=login)
    except LoginBusy:
        return consent_page(request, hub, req, lang, error="busy", status=503, login=login)
    if user_id is None:
        return consent_page(request, hub, req, lang, error="bad_login", status=401, login=login)
    with transaction(hub.write_sessions) as session:
        user = session.get(User, user_id)
        if user is None or user.disabled:
            return consent_page(request, hub, req, lang, error="bad_login", status=401,
                                login=login)
        code = new_code(session, req, user)
    if req.redirect_uri == OOB:
        return page(request, "oauth/code.html", {"lang": lang, "code": code,
                                                 "app_name": req.app.name})
    return redirect_with(req.redirect_uri, code=code, state=req.state)


routes = [
    Route("/oauth/authorize", authorize_get, methods=["GET"]),
    Route("/oauth/authorize/", authorize_get, methods=["GET"]),
    Route("/oauth/authorize", authorize_post, methods=["POST"]),
    Route("/oauth/authorize/", authorize_post, methods=["POST"]),
]
