"""Browser sessions of the member site and the admin console, stored in the database.

The cookie ``voisins_session`` holds a random token; the table ``web_sessions`` holds its
SHA-256, so a copy of the database does not log anyone in. A visitor who is not logged in
may carry a token too (it keys the CSRF token of the login form) but it has no row: only
``login_session`` creates rows, always under a new token (no session fixation), and
``logout_session`` deletes the row. Disabled or deleted members have no session.

How pages use it::

    from fedi.web.session import current_member, member_of, require_member

    @require_member                      # redirects to /login?next=… when logged out
    async def settings_page(request: Request) -> Response:
        member = member_of(request)      # Member(user, actor), never None here
        ...

    current_member(request)              # Member or None (cached on the request)
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from urllib.parse import quote

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fedi.db import transaction, utcnow
from fedi.models import Actor, User, WebSession
from fedi.web.state import Hub, hub_of

COOKIE = "voisins_session"
LIFETIME = timedelta(days=30)
MAX_TOKEN = 128
Endpoint = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Member:
    """The logged-in member: login account and Person actor (detached, read-only)."""

    user: User
    actor: Actor
    token_hash: str

    @property
    def username(self) -> str:
        return self.actor.username

    @property
    def language(self) -> str:
        return self.user.locale if self.user.locale in ("fr", "en") else "fr"

    @property
    def is_admin(self) -> bool:
        return self.user.role == "admin"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def cookie_token(request: Request) -> str | None:
    """The session token the browser sent (or was just given on this request)."""
    token = request.cookies.get(COOKIE) or getattr(request.state, "new_session_token", None)
    if not token or len(token) > MAX_TOKEN:
        return None
    return token


def visitor_token(request: Request) -> str:
    """The browser's token, creating one (set by ``attach_cookie``) for a first visit."""
    token = cookie_token(request)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_session_token = token
    return token


def secure_cookie(hub: Hub) -> bool:
    return hub.settings.scheme == "https"


def set_cookie(hub: Hub, response: Response, token: str) -> None:
    response.set_cookie(COOKIE, token, max_age=int(LIFETIME.total_seconds()), path="/",
                        httponly=True, samesite="lax", secure=secure_cookie(hub))


def attach_cookie(request: Request, response: Response) -> None:
    """Give a first-time visitor the token their forms' CSRF tokens were made from."""
    token = getattr(request.state, "new_session_token", None)
    if token and not request.cookies.get(COOKIE):
        set_cookie(hub_of(request), response, token)


def load_member(session: Session, token: str) -> Member | None:
    digest = hash_token(token)
    row = session.execute(
        select(WebSession, User, Actor)
        .join(User, User.id == WebSession.user_id)
        .join(Actor, Actor.id == User.actor_id)
        .where(WebSession.token_hash == digest, WebSession.expires_at > utcnow(),
               User.disabled.is_(False), Actor.deleted_at.is_(None))
    ).first()
    if row is None:
        return None
    return Member(user=row[1], actor=row[2], token_hash=digest)


def current_member(request: Request) -> Member | None:
    """The member logged in on this request, or None. One query per request at most."""
    if "member" in request.scope.get("state", {}):
        member: Member | None = request.state.member
        return member
    token = request.cookies.get(COOKIE)
    member = None
    if token and len(token) <= MAX_TOKEN:
        with hub_of(request).read_sessions() as session:
            member = load_member(session, token)
    request.state.member = member
    return member


def member_of(request: Request) -> Member:
    """The logged-in member of a ``require_member`` page."""
    member = current_member(request)
    if member is None:
        raise RuntimeError("member_of() outside a require_member page")
    return member


def login_url(request: Request) -> str:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/login?next=" + quote(here, safe="/")


def require_member(endpoint: Endpoint) -> Endpoint:
    """Logged-out visitors are sent to the login page, and come back here afterwards."""

    @wraps(endpoint)
    async def run(request: Request) -> Response:
        if current_member(request) is None:
            if request.method in ("GET", "HEAD"):
                return RedirectResponse(login_url(request), status_code=303,
                                        headers={"Cache-Control": "no-store"})
            return RedirectResponse("/login", status_code=303)
        return await endpoint(request)

    return run


def login_session(request: Request, response: Response, user_id: int) -> str:
    """Log ``user_id`` in on ``response`` under a brand-new token; the old one is dropped."""
    hub = hub_of(request)
    old = request.cookies.get(COOKIE)
    token = secrets.token_urlsafe(32)
    with transaction(hub.write_sessions) as session:
        if old and len(old) <= MAX_TOKEN:
            session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(old)))
        session.execute(delete(WebSession).where(WebSession.expires_at <= utcnow()))
        session.add(WebSession(token_hash=hash_token(token), user_id=user_id,
                               expires_at=utcnow() + LIFETIME,
                               user_agent=request.headers.get("user-agent", "")[:255]))
    request.state.new_session_token = token
    set_cookie(hub, response, token)
    return token


def logout_session(request: Request, response: Response) -> None:
    """End this browser's session on the server and forget the cookie."""
    hub = hub_of(request)
    token = request.cookies.get(COOKIE)
    if token and len(token) <= MAX_TOKEN:
        with transaction(hub.write_sessions) as session:
            session.execute(delete(WebSession).where(WebSession.token_hash == hash_token(token)))
    request.state.member = None
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                           secure=secure_cookie(hub))


def end_other_sessions(session: Session, user_id: int, keep_token_hash: str | None) -> None:
    """Delete every session of ``user_id`` but ``keep_token_hash`` (password change)."""
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if keep_token_hash is not None:
        query = query.where(WebSession.token_hash != keep_token_hash)
    session.execute(query)


def end_all_sessions(session: Session, user_id: int) -> None:
    """Delete every session of ``user_id`` (suspension, deletion: call it there)."""
    end_other_sessions(session, user_id, None)
