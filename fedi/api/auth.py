"""Bearer tokens, OAuth scopes, and the wrapper every API endpoint goes through.

The wrapper authenticates the caller, checks the scope, opens one database session for
the request (committed when the endpoint succeeds), turns ``ApiError`` into Mastodon's
JSON errors, and renders plain return values as JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache, wraps
from typing import Any

import orjson
from sqlalchemy import bindparam, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from fedi.api.errors import ApiError
from fedi.api.params import Params
from fedi.api.ratelimit import authorization_digest, limiter_of, limits
from fedi.db import autocommit_reads
from fedi.models import Actor, OAuthToken, User
from fedi.web.state import Hub, hub_of
from outbox.context import PublishContext

READ = ("read:accounts", "read:blocks", "read:bookmarks", "read:favourites", "read:filters",
        "read:follows", "read:lists", "read:mutes", "read:notifications", "read:search",
        "read:statuses")
WRITE = ("write:accounts", "write:blocks", "write:bookmarks", "write:conversations",
         "write:favourites", "write:filters", "write:follows", "write:lists", "write:media",
         "write:mutes", "write:notifications", "write:reports", "write:statuses")
FOLLOW = ("read:blocks", "write:blocks", "read:follows", "write:follows", "read:mutes",
          "write:mutes")
TOP = ("read", "write", "follow", "push", "profile")
KNOWN_SCOPES = frozenset(TOP + READ + WRITE)
_EXPANSION = {"read": READ, "write": WRITE, "follow": FOLLOW}
NO_CACHE = {"Cache-Control": "private, no-store", "Vary": "Authorization, Origin"}


def parse_scopes(text: str | None) -> list[str]:
    """Scopes as sent (space separated; ``+`` from hand-built URLs too), in order, deduplicated."""
    if not text:
        return []
    return list(dict.fromkeys(text.replace("+", " ").replace(",", " ").split()))


def expand_scopes(scopes: Iterable[str]) -> frozenset[str]:
    out: set[str] = set()
    for scope in scopes:
        out.add(scope)
        out.update(_EXPANSION.get(scope, ()))
    return frozenset(out)


def scopes_allowed(requested: Iterable[str], registered: Iterable[str]) -> bool:
    """Every requested scope is known and granted by the app's registered scopes."""
    granted = expand_scopes(registered)
    return all(s in KNOWN_SCOPES and s in granted for s in requested)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who is calling: a token, its app, and (for user tokens) the member."""

    token_id: int
    app_id: int
    scopes: frozenset[str]
    user: User | None
    actor: Actor | None


# Paths where Mastodon takes the token in the query string because the client cannot set a
# header: the streaming WebSocket handshake (browsers cannot send Authorization there,
# https://docs.joinmastodon.org/methods/streaming/). Add its path here when streaming lands.
QUERY_TOKEN_PATHS: frozenset[str] = frozenset()
TOKEN_IN_URL = ("Access tokens in the URL are refused (they end up in logs and browser "
                "history): send the token in the Authorization header (Bearer).")


def bearer_token(request: Request) -> str | None:
    """The bearer token of the Authorization header. Raises 401 for ``?access_token=``
    outside ``QUERY_TOKEN_PATHS``."""
    if "access_token" in request.query_params:
        if request.url.path not in QUERY_TOKEN_PATHS:
            raise ApiError(401, TOKEN_IN_URL)
        return request.query_params.get("access_token") or None
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


@cache
def _token_statement() -> Any:
    """Built once, the hash as a parameter: every API request runs it. The token as plain
    columns (what ``Caller`` keeps), the member and their actor as entities (handlers use
    them as such)."""
    return (select(OAuthToken.id, OAuthToken.app_id, OAuthToken.scopes, OAuthToken.user_id,
                   User, Actor)
            .outerjoin(User, User.id == OAuthToken.user_id)
            .outerjoin(Actor, Actor.id == User.actor_id)
            .where(OAuthToken.token_hash == bindparam("token_hash"),
                   OAuthToken.revoked_at.is_(None)))


def authenticate(session: Session, token: str) -> Caller | None:
    if len(token) > 256:
        return None
    row = session.execute(_token_statement(), {"token_hash": token_hash(token)}).first()
    if row is None:
        return None
    token_id, app_id, scopes, user_id, user, actor = row
    if user_id is not None and (user is None or user.disabled or actor is None
                                or actor.deleted_at is not None):
        return None
    return Caller(token_id=token_id, app_id=app_id, scopes=_scopes(scopes), user=user,
                  actor=actor)


@lru_cache(maxsize=256)
def _scopes(text: str) -> frozenset[str]:
    return expand_scopes(text.split())


def note_valid_token(request: Request, hub: Hub) -> None:
    """Count this token's requests under its own key from now on (fedi.api.ratelimit)."""
    header = request.headers.get("authorization")
    if header:
        limiter_of(hub).note_valid_token(authorization_digest(header),
                                         limits(hub.settings.extra)["rate_limit"])


@dataclass
class Call:
    """One API request being answered."""

    request: Request
    hub: Hub
    session: Session
    caller: Caller | None
    params: Params

    @property
    def actor(self) -> Actor:
        if self.caller is None or self.caller.actor is None:
            raise ApiError(422, "This method requires an authenticated user")
        return self.caller.actor

    @property
    def user(self) -> User:
        if self.caller is None or self.caller.user is None:
            raise ApiError(422, "This method requires an authenticated user")
        return self.caller.user

    @cached_property
    def ctx(self) -> PublishContext:
        from fedi.app import publish_context  # the composition root builds it

        return publish_context(self.hub)

    @cached_property
    def render(self) -> Any:
        from fedi.api.entities import Renderer

        return Renderer(self.session, self.hub, self.caller.actor if self.caller else None)

    def path_id(self, name: str = "id") -> int:
        from fedi.api.params import parse_id

        value = parse_id(self.request.path_params.get(name))
        if value is None:
            raise ApiError(404, "Record not found")
        return value


Handler = Callable[[Call], Awaitable[Any]]


class FastJSONResponse(JSONResponse):
    """Starlette's JSONResponse, encoded by orjson (a page of 20 statuses costs a tenth of
    ``json.dumps``); what orjson refuses (an integer too large, NaN) falls back to it."""

    def render(self, content: Any) -> bytes:
        try:
            return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)
        except (orjson.JSONEncodeError, TypeError):
            return json.dumps(content, ensure_ascii=False, allow_nan=False, indent=None,
                              separators=(",", ":")).encode("utf-8")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return FastJSONResponse(data, status_code=status, headers={**NO_CACHE, **(headers or {})})


def endpoint(scope: str | tuple[str, ...] | None = None, *, auth: str = "user",
             body: bool = True, read_only: bool = False,
             ) -> Callable[[Handler], Callable[[Request], Awaitable[Response]]]:
    """Wrap an API handler. ``auth``: ``user`` (a member's token), ``token`` (any token,
    app tokens too), ``optional`` (anonymous allowed). ``read_only``: the handler never
    writes, so on PostgreSQL its statements run without BEGIN and COMMIT
    (``fedi.db.autocommit_reads``): two round trips fewer on the hottest paths."""

    needed = (scope,) if isinstance(scope, str) else (scope or ())

    def wrap(fn: Handler) -> Callable[[Request], Awaitable[Response]]:
        @wraps(fn)
        async def run(request: Request) -> Response:
            hub = hub_of(request)
            params: Params | None = None
            # A deferred SQLite transaction that read before another connection committed
            # cannot write ("database is locked" at once): everything the handler did is
            # in this transaction, so roll back and run it again holding the write lock.
            first = autocommit_reads(hub.read_sessions) if read_only else hub.read_sessions
            for factory in (first, hub.write_sessions):
                with factory() as session:
                    try:
                        caller = None
                        token = bearer_token(request)
                        if token is not None:
                            caller = authenticate(session, token)
                            if caller is not None:
                                note_valid_token(request, hub)
                            # Public endpoints ignore a stale token, as Mastodon does.
                            if caller is None and auth != "optional":
                                raise ApiError(401, "The access token is invalid")
                        if caller is None and auth != "optional":
                            raise ApiError(401, "The access token is invalid")
                        if caller is not None and needed and not any(
                                s in caller.scopes for s in needed):
                            raise ApiError(403, "This action is outside the authorized scopes")
                        if auth == "user" and caller is not None and caller.actor is None:
                            raise ApiError(422, "This method requires an authenticated user")
                        if params is None:
                            params = await Params.read(request, body=body)
                        result = await fn(Call(request, hub, session, caller, params))
                        session.commit()
                    except ApiError as exc:
                        session.rollback()
                        response = exc.response()
                        response.headers.update(NO_CACHE)
                        return response
                    except OperationalError as exc:
                        session.rollback()
                        if factory is first and "locked" in str(exc.orig):
                            continue
                        raise
                break
            if isinstance(result, Response):
                return result
            return json_response(result)

        return run

    return wrap
