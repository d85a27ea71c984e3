"""Profile cards: ``/@name`` (a member of this hub) and ``/@name@hub`` (a member of a linked
hub): trade label, business, postal code, bio, fields, links, the posts the viewer may see,
and the follow / unfollow / request button."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fedi.convert.ap_to_model import InvalidObject
from fedi.db import transaction
from fedi.http import RemoteError
from fedi.i18n import translate
from fedi.models import Actor
from fedi.services import relationships, timelines
from fedi.services.accounts import find_local_actor
from fedi.services.moves import verified_move_target
from fedi.services.relationships import RelationshipError
from fedi.services.trades import find_trade, label
from fedi.site.page import back, linked, page_of, publish_ctx, read_form, reading, show
from fedi.site.posts import build_posts, profile_path, safe_html
from fedi.web.session import member_of, require_member
from fedi.web.state import Hub, hub_of
from fedi.web.templating import request_language
from fedi.webfinger import lookup

MAX_ACCT = 300


def split_acct(acct: str, local_domain: str) -> tuple[str, str] | None:
    """(username, domain) of ``name`` or ``name@host``; None when malformed."""
    acct = acct.strip().lstrip("@")
    if not acct or len(acct) > MAX_ACCT:
        return None
    user, _, domain = acct.partition("@")
    domain = domain.lower() or local_domain
    if not user or "@" in domain or "/" in domain:
        return None
    return user, domain


def find_profile(session: Session, local_domain: str, acct: str,
                 allowed: Callable[[str], bool] | None = None) -> Actor | None:
    """A stored person by ``name`` or ``name@host``; others' only while their hub is allowed."""
    parts = split_acct(acct, local_domain)
    if parts is None:
        return None
    user, domain = parts
    if domain == local_domain:
        return find_local_actor(session, user)
    if allowed is not None and not allowed(domain):
        return None
    return session.scalar(select(Actor).where(
        Actor.username == user, Actor.domain == domain, Actor.type == "Person",
        Actor.deleted_at.is_(None)))


async def resolve_profile(hub: Hub, acct: str) -> Actor | None:
    """A member of a linked hub not stored yet: WebFinger, then a signed fetch of the actor."""
    parts = split_acct(acct, hub.settings.domain)
    if (parts is None or parts[1] == hub.settings.domain or hub.fetcher is None
            or hub.resolver is None or not hub.peers.is_allowed(parts[1])):
        return None
    try:
        uri = await lookup(hub.fetcher, f"{parts[0]}@{parts[1]}", scheme=hub.settings.scheme)
        actor = await hub.resolver.actor(uri)
    except (RemoteError, InvalidObject, ValueError):
        return None
    if actor.type != "Person" or actor.domain != parts[1]:
        return None
    return actor


@dataclass(frozen=True)
class Card:
    actor: Actor
    trade: str
    bio: Markup
    fields: list[tuple[str, Markup]]
    website: str | None
    remote_url: str | None


def trade_label(session: Session, value: str | None, lang: str) -> str:
    """« Plombier·ère » for ``plombier``; another hub's own trade is shown as it came."""
    if not value:
        return ""
    category = find_trade(session, value)
    return label(category, lang) if category is not None else value


def card_of(session: Session, actor: Actor, lang: str) -> Card:
    fields = []
    for item in actor.fields or []:
        name, value = str(item.get("name", "")), str(item.get("value", ""))
        # Ours are plain text; a remote hub's were sanitized HTML when they arrived.
        fields.append((name, safe_html(value) if not actor.local else Markup.escape(value)))
    website = actor.website if actor.website and actor.website.startswith(
        ("https://", "http://")) else None
    remote_url = None if actor.local else (actor.url or actor.uri)
    return Card(actor=actor, trade=trade_label(session, actor.trade, lang),
                bio=safe_html(actor.summary), fields=fields, website=website,
                remote_url=remote_url if remote_url and remote_url.startswith(
                    ("https://", "http://")) else None)


async def _target(request: Request, *, resolve: bool) -> Actor:
    hub = hub_of(request)
    acct = request.path_params["acct"]
    with hub.read_sessions() as session:
        actor = find_profile(session, hub.settings.domain, acct, hub.peers.is_allowed)
    if actor is None and resolve:
        actor = await resolve_profile(hub, acct)
    if actor is None:
        raise HTTPException(404)
    return actor


@require_member
async def profile_page(request: Request) -> Response:
    target = await _target(request, resolve=True)
    page = page_of(request)
    lang = request_language(request)
    with reading(request) as (session, viewer, _user):
        nb = linked(request)
        actor = session.get(Actor, target.id)
        if actor is None:
            raise HTTPException(404)
        rows = timelines.by_account(session, viewer, nb, actor, page, timelines.ProfileFilter())
        posts = build_posts(session, viewer, nb, rows)
        out = relationships.find_follow(session, viewer.id, actor.id)
        back_row = relationships.find_follow(session, actor.id, viewer.id)
        card = card_of(session, actor, lang)
        moved = verified_move_target(session, actor)
        moved_to = (profile_path(moved), moved.handle) if moved is not None else None
    return show(request, "site/pages/profile.html", {
        "moved_to": moved_to,
        "nav": "profile" if actor.id == viewer.id else "", "card": card, "posts": posts,
        "me": actor.id == viewer.id, "following": out is not None and out.state == "accepted",
        "requested": out is not None and out.state == "requested",
        "follows_me": back_row is not None and back_row.state == "accepted",
        "path": profile_path(actor), "limit": page.limit,
    })


def _error_page(request: Request, message: str, status: int = 422) -> Response:
    return show(request, "site/pages/problem.html", {"message": message}, status=status)


@require_member
async def follow(request: Request) -> Response:
    target = await _target(request, resolve=False)
    form = await read_form(request, ("next",))
    hub = hub_of(request)
    lang = request_language(request)
    member = member_of(request)
    try:
        with transaction(hub.write_sessions) as session:
            viewer = session.get(Actor, member.actor.id)
            actor = session.get(Actor, target.id)
            assert viewer is not None and actor is not None
            relationships.follow(session, publish_ctx(hub), viewer, actor)
    except RelationshipError:
        return _error_page(request, translate(lang, "This account cannot be followed."))
    return back(form["next"] or profile_path(target))


@require_member
async def unfollow(request: Request) -> Response:
    target = await _target(request, resolve=False)
    form = await read_form(request, ("next",))
    hub = hub_of(request)
    member = member_of(request)
    with transaction(hub.write_sessions) as session:
        viewer = session.get(Actor, member.actor.id)
        actor = session.get(Actor, target.id)
        assert viewer is not None and actor is not None
        relationships.unfollow(session, publish_ctx(hub), viewer, actor)
    return back(form["next"] or profile_path(target))


routes = [
    Route("/@{acct}", profile_page, methods=["GET"], name="profile"),
    Route("/@{acct}/follow", follow, methods=["POST"]),
    Route("/@{acct}/unfollow", unfollow, methods=["POST"]),
]
