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

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from fedi.api.apps import OOB
from fedi.api.auth import parse_scopes, scopes_allowed
from fedi.api.errors import ApiError
from fedi.api.params import Params
from fedi.api.ratelimit import client_address, limiter_of, limits
from fedi.db import utcnow
from fedi.models import Actor, OAuthApp, OAuthCode, User
from fedi.services.accounts import check_password, hash_password
from fedi.web.csrf import FIELD as CSRF_FIELD
from fedi.web.csrf import token_ok as csrf_token_ok
from fedi.web.pages import pick_language
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
_dummy_hash: list[str] = []


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


def language(request: Request, params: Params) -> str:
    lang = (params.str("lang", max_len=16) or "").lower()
    if lang.startswith(("en", "fr")):
        return lang[:2]
    member = current_member(request)
    return member.language if member is not None else pick_language(request)


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
    if not issued.isdigit() or abs(time.time() - int(issued)) > FORM_TTL:
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
    params = await Params.read(request, body=False)
    lang = language(request, params)
    with hub.sessions() as session:
        try:
            req = check_request(session, params)
        except AuthRequestError as exc:
            return error_page(request, lang, str(exc))
        except ApiError:
            return error_page(request, lang, "invalid_request")
        return consent_page(request, hub, req, lang)


def find_user(session: Session, login: str) -> tuple[User, Actor] | None:
    login = login.strip()
    query = select(User, Actor).join(Actor, Actor.id == User.actor_id)
    if "@" in login:
        query = query.where(func.lower(User.email) == login.lower())
    else:
        query = query.where(Actor.local, Actor.username == login.lower())
    row = session.execute(query.where(User.disabled.is_(False), Actor.deleted_at.is_(None))).first()
    return (row[0], row[1]) if row else None


async def verify_login(hub: Hub, session: Session, login: str, password: str,
                       address: str) -> User | None:
    """The member whose login and password these are, or None. Raises 429 past the limits."""
    limiter = limiter_of(hub)
    conf = limits(hub.settings.extra)
    per_ip = limiter.hit(f"login-ip:{address}", conf["login_rate_limit_ip"])
    account_key = f"login-account:{login.strip().lower()[:320]}"
    per_account = limiter.peek(account_key, conf["login_rate_limit_account"])
    if not per_ip.allowed or not per_account.allowed:
        raise ApiError(429, "Too many requests", headers=per_ip.headers())
    found = find_user(session, login) if login and len(login) <= 320 else None
    if len(password) > 1024:
        password = ""
    if found is None:
        if not _dummy_hash:
            _dummy_hash.append(hash_password(secrets.token_hex(8)))
        await run_in_threadpool(check_password, _dummy_hash[0], password)
        limiter.hit(account_key, conf["login_rate_limit_account"])
        return None
    user, _actor = found
    if not await run_in_threadpool(check_password, user.password_hash, password):
        limiter.hit(account_key, conf["login_rate_limit_account"])
        return None
    return user


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
    hub = hub_of(request)
    try:
        params = await Params.read(request)
    except ApiError:
        return error_page(request, pick_language(request), "invalid_request")
    lang = language(request, params)
    with hub.sessions() as session:
        try:
            req = check_request(session, params)
        except AuthRequestError as exc:
            return error_page(request, lang, str(exc))
        except ApiError:
            return error_page(request, lang, "invalid_request")
        if not form_token_ok(hub, req.values, params.str("form_token", "", max_len=200) or ""):
            return error_page(request, lang, "invalid_form")
        if params.str("decision", max_len=16) == "deny":
            if req.redirect_uri == OOB:
                return error_page(request, lang, "access_denied")
            return redirect_with(req.redirect_uri, error="access_denied", state=req.state)
        login = params.str("login", "", max_len=320) or ""
        password = params.str("password", "", max_len=2048) or ""
        member = current_member(request)
        user: User | None = None
        if not login and member is not None:  # one click for the logged-in member
            if not csrf_token_ok(request, params.str(CSRF_FIELD, "", max_len=200)):
                return error_page(request, lang, "invalid_form")
            user = member.user
        else:
            try:
                user = await verify_login(hub, session, login, password,
                                          client_address(request.scope))
            except ApiError:
                return consent_page(request, hub, req, lang, error="rate_limited", status=429,
                                    login=login)
        if user is None:
            return consent_page(request, hub, req, lang, error="bad_login", status=401,
                                login=login)
        code = new_code(session, req, user)
        session.commit()
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
