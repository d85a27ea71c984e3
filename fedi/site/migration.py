"""``/settings/aliases`` and ``/settings/migration``: moving to another hub, on the pages
Mastodon uses for it (Mastodon has no client API for either; fedi.services.moves).

On the new hub the member lists the old account as an alias (« Alias »); on the old hub
they start the move (« Déménager »), with their password, to an account that lists this
one. Every refusal comes back as the form with a message, nothing changed.
"""

from __future__ import annotations

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.convert.ap_to_model import InvalidObject
from fedi.http import RemoteError
from fedi.models import Actor, User
from fedi.services.accounts import check_password, find_local_actor
from fedi.services.moves import MoveError, add_alias, remove_alias, start_move
from fedi.site.page import back, publish_ctx, read_form, reading, writing
from fedi.vocab.safety import http_url
from fedi.web.session import require_member
from fedi.web.state import Hub, hub_of
from fedi.web.templating import render
from fedi.webfinger import lookup

MAX_HANDLE = 400
MAX_PASSWORD = 1024


class NotFound(Exception):
    """The account named in the form could not be found."""


async def find_account(hub: Hub, text: str, *, refresh: bool) -> Actor:
    """The account ``user@host`` (``@user@host``, ``acct:…``, a bare local ``user``) or
    actor URL, fetched with a signed GET when it lives on another hub (afresh if
    ``refresh``: a move must see the target's current ``alsoKnownAs``)."""
    text = text.strip().removeprefix("acct:").lstrip("@")
    if not text or len(text) > MAX_HANDLE or any(c.isspace() for c in text):
        raise NotFound(text)
    uri: str | None = None
    if text.startswith(("http://", "https://")):
        uri = http_url(text)
        if uri is None:
            raise NotFound(text)
        user, host = "", uri.split("/")[2].lower()
    else:
        user, _, host = text.partition("@")
        host = host.lower() or hub.settings.domain
        if not user or "@" in host:
            raise NotFound(text)
    if host == hub.settings.domain:
        with hub.read_sessions() as session:
            local = (session.scalar(select(Actor).where(Actor.uri == uri, Actor.local))
                     if uri else find_local_actor(session, user))
            if local is None:
                raise NotFound(text)
            return local
    if not hub.peers.is_allowed(host) or hub.fetcher is None or hub.resolver is None:
        raise NotFound(text)
    try:
        if uri is None:
            uri = await lookup(hub.fetcher, f"{user}@{host}", scheme=hub.settings.scheme)
        return await hub.resolver.actor(uri, refresh=refresh)
    except (RemoteError, InvalidObject, ValueError):
        raise NotFound(text) from None


def _page(request: Request, template: str, *, error: str | None = None,
          value: str = "", status: int = 200) -> Response:
    with reading(request) as (session, actor, _user):
        aliases = list(actor.also_known_as or [])
        known = {a.uri: a.handle for a in session.scalars(
            select(Actor).where(Actor.uri.in_(aliases)))} if aliases else {}
        moved_to = None
        if actor.moved_to_uri:
            target = session.scalar(select(Actor).where(Actor.uri == actor.moved_to_uri))
            moved_to = target.handle if target else actor.moved_to_uri
        handle = f"{actor.username}@{hub_of(request).settings.domain}"
    return render(request, template, {
        "nav": "settings", "error": error, "value": value, "handle": handle,
        "aliases": [(uri, known.get(uri, uri)) for uri in aliases], "moved_to": moved_to,
        "saved": request.query_params.get("saved"),
    }, status=status)


# -- « Alias » ----------------------------------------------------------------------------

@require_member
async def aliases_page(request: Request) -> Response:
    return _page(request, "site/aliases.html")


@require_member
async def add_alias_form(request: Request) -> Response:
    hub = hub_of(request)
    form = await read_form(request, ("acct",), limit=MAX_HANDLE + 1)
    value = form["acct"]
    try:
        alias = await find_account(hub, value, refresh=False)
    except NotFound:
        return _page(request, "site/aliases.html", error="not_found", value=value, status=422)
    try:
        with writing(request) as (session, actor, _user):
            stored = session.get(Actor, alias.id)
            if stored is None:
                raise MoveError("alias_unknown", "gone")
            add_alias(session, publish_ctx(hub), actor, stored)
    except MoveError as exc:
        return _page(request, "site/aliases.html", error=exc.code, value=value, status=422)
    return back("/settings/aliases?saved=1")


@require_member
async def remove_alias_form(request: Request) -> Response:
    form = await read_form(request, ("uri",), limit=2049)
    try:
        with writing(request) as (session, actor, _user):
            remove_alias(session, publish_ctx(hub_of(request)), actor, form["uri"])
    except MoveError as exc:
        return _page(request, "site/aliases.html", error=exc.code, status=422)
    return back("/settings/aliases?saved=1")


# -- « Déménager » ------------------------------------------------------------------------

@require_member
async def migration_page(request: Request) -> Response:
    return _page(request, "site/migration.html")


@require_member
async def move_form(request: Request) -> Response:
    hub = hub_of(request)
    form = await read_form(request, ("acct", "password"), limit=MAX_PASSWORD + 1)
    value = form["acct"][:MAX_HANDLE + 1]
    with reading(request) as (_session, actor, user):
        stored_hash = user.password_hash
        already = actor.moved_to_uri
    ok = len(form["password"]) <= MAX_PASSWORD and await run_in_threadpool(
        check_password, stored_hash, form["password"])
    if not ok:
        return _page(request, "site/migration.html", error="password_wrong", value=value,
                     status=422)
    if already:
        return _page(request, "site/migration.html", error="move_done", value=value,
                     status=422)
    try:
        target = await find_account(hub, value, refresh=True)
    except NotFound:
        return _page(request, "site/migration.html", error="not_found", value=value,
                     status=422)
    try:
        with writing(request) as (session, actor, user):
            stored = session.get(Actor, target.id)
            if stored is None or session.get(User, user.id) is None:
                raise MoveError("move_unknown", "gone")
            start_move(session, publish_ctx(hub), actor, stored)
    except MoveError as exc:
        return _page(request, "site/migration.html", error=exc.code, value=value, status=422)
    return back("/settings/migration?saved=1")


routes = [
    Route("/settings/aliases", aliases_page, methods=["GET"], name="settings_aliases"),
    Route("/settings/aliases", add_alias_form, methods=["POST"]),
    Route("/settings/aliases/remove", remove_alias_form, methods=["POST"]),
    Route("/settings/migration", migration_page, methods=["GET"], name="settings_migration"),
    Route("/settings/migration", move_form, methods=["POST"]),
]
