"""Accounts: verify/update credentials, lookup, profile, statuses, followers, following."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.routing import Route

from fedi.api.auth import Call, endpoint, json_response
from fedi.api.errors import ApiError, not_found, unprocessable
from fedi.api.media import apply_profile_images
from fedi.api.pagination import link_header, page_of
from fedi.api.registration import ValidationFailed
from fedi.api.search import search_accounts
from fedi.convert.model_to_api import FROM_API
from fedi.i18n import browser_language
from fedi.models import Actor, Follow, UserSettings
from fedi.services.accounts import INSTANCE_USERNAME
from fedi.services.accounts_profile import ProfileChanges, ProfileError, update_profile
from fedi.services.registration import RegistrationError
from fedi.services.relationships import may_list_follows
from fedi.services.timelines import Page, ProfileFilter, by_account, newest_first, paginate

ACCOUNT_TYPES = ("Person", "Service", "Group", "Organization")


def account_or_404(session: Session, actor_id: int) -> Actor:
    actor = session.get(Actor, actor_id)
    if (actor is None or actor.deleted_at is not None or actor.type not in ACCOUNT_TYPES
            or (actor.local and actor.username == INSTANCE_USERNAME)):
        raise not_found()
    return actor


async def verify_credentials(call: Call) -> Any:
    return call.render.credential_account(call.actor, call.user)


def _fields(call: Call) -> list[tuple[str, str]] | None:
    raw = call.params.data.get("fields_attributes")
    if raw is None:
        return None
    items = raw.values() if isinstance(raw, dict) else raw
    if not isinstance(items, (list, type({}.values()))):
        raise unprocessable("fields_attributes must be a list")
    out = []
    for item in list(items)[:16]:
        if not isinstance(item, dict):
            raise unprocessable("fields_attributes must hold name and value")
        name, value = item.get("name", ""), item.get("value", "")
        if not isinstance(name, str) or not isinstance(value, str):
            raise unprocessable("field name and value must be strings")
        out.append((name, value))
    return out


async def update_credentials(call: Call) -> Any:
    p = call.params
    actor, user = call.actor, call.user
    changes = ProfileChanges(
        display_name=p.str("display_name", max_len=1000), note=p.str("note", max_len=5000),
        fields=_fields(call),
        discoverable=p.bool("discoverable") if p.has("discoverable") else None,
        trade=p.str("trade", max_len=1000), business_name=p.str("business_name", max_len=1000),
        postal_code=p.str("postal_code", max_len=100), website=p.str("website", max_len=4000),
        hide_collections=p.bool("hide_collections") if p.has("hide_collections") else None)
    source = p.sub("source")
    privacy = source.str("privacy", max_len=32)
    if privacy is not None and (privacy not in FROM_API or privacy == "local"):
        raise unprocessable("source[privacy] must be public, unlisted, private or direct")
    language = source.str("language", max_len=16)
    await apply_profile_images(call)  # avatar, header (multipart files)
    try:
        update_profile(call.session, call.ctx, actor, changes)
    except ProfileError as exc:
        raise unprocessable(str(exc)) from None
    except RegistrationError as exc:  # the sign-up rules: same answer as POST /api/v1/accounts
        raise ValidationFailed(exc, _language(call)) from None
    settings = call.session.get(UserSettings, user.id)
    if settings is None:
        settings = UserSettings(user_id=user.id, note_source="", default_sensitive=False)
        call.session.add(settings)
    if changes.note is not None:
        settings.note_source = changes.note.strip()
    if source.has("sensitive"):
        settings.default_sensitive = source.bool("sensitive")
    if language is not None:
        settings.default_language = language or None
    if privacy is not None:
        user.default_visibility = privacy
    call.session.flush()
    return call.render.credential_account(actor, user)


def _language(call: Call) -> str:
    """The app's Accept-Language when it sends one, else the member's own language."""
    if call.request.headers.get("accept-language"):
        return browser_language(call.request.headers.get("accept-language"))
    return "en" if call.user.locale == "en" else "fr"


def find_by_acct(session: Session, acct: str, local_domain: str) -> Actor | None:
    acct = acct.strip().removeprefix("acct:").lstrip("@")
    user, _, domain = acct.partition("@")
    if not user:
        return None
    domain = domain.lower() or local_domain
    if domain == local_domain:
        user = user.lower()
    actor = session.scalar(select(Actor).where(Actor.username == user, Actor.domain == domain,
                                               Actor.deleted_at.is_(None)))
    if actor is None or actor.type not in ACCOUNT_TYPES or actor.username == INSTANCE_USERNAME:
        return None
    return actor


async def lookup(call: Call) -> Any:
    acct = call.params.str("acct", "", max_len=600) or ""
    actor = find_by_acct(call.session, acct, call.hub.settings.domain)
    if actor is None:
        raise not_found()
    return call.render.account(actor)


async def accounts_search(call: Call) -> Any:
    p = call.params
    q = p.str("q", "", max_len=500) or ""
    actors = await search_accounts(call, q, limit=p.int("limit", 40, low=1, high=80),
                                   offset=p.int("offset", 0, low=0, high=10_000),
                                   resolve=p.bool("resolve"), following=p.bool("following"))
    return call.render.accounts(actors)


async def get_accounts(call: Call) -> Any:
    """``GET /api/v1/accounts?id[]=`` (Mastodon 4.3): the known ones, unknown ids skipped."""
    found = []
    for actor_id in call.params.id_list("id", max_items=40):
        try:
            found.append(account_or_404(call.session, actor_id))
        except ApiError:
            continue
    return call.render.accounts(found)


async def get_account(call: Call) -> Any:
    return call.render.account(account_or_404(call.session, call.path_id()))


async def account_statuses(call: Call) -> Any:
    target = account_or_404(call.session, call.path_id())
    p = call.params
    page = page_of(p)
    flt = ProfileFilter(exclude_replies=p.bool("exclude_replies"),
                        exclude_reblogs=p.bool("exclude_reblogs"),
                        only_media=p.bool("only_media"), pinned=p.bool("pinned"),
                        tagged=p.str("tagged", max_len=128))
    rows = by_account(call.session, call.actor, call.render.linked, target, page, flt,
                      rows=True)
    return json_response(call.render.statuses(rows), headers=link_header(
        call.hub.urls.base, call.request.url.path, p, [r.id for r in rows]))


def _follow_list(call: Call, *, followers: bool) -> Any:
    target = account_or_404(call.session, call.path_id())
    if not may_list_follows(call.actor, target):
        return []  # as Mastodon answers for hidden collections; the counts stay
    page: Page = page_of(call.params, default=40, maximum=80)
    other = Follow.follower_id if followers else Follow.followee_id
    mine = Follow.followee_id if followers else Follow.follower_id
    query = (select(Follow.id, Actor).join(Actor, Actor.id == other)
             .where(mine == target.id, Follow.state == "accepted", Actor.deleted_at.is_(None)))
    rows = newest_first(call.session.execute(paginate(query, Follow.id, page)).all(), page)
    return json_response(call.render.accounts([a for _i, a in rows]), headers=link_header(
        call.hub.urls.base, call.request.url.path, call.params, [i for i, _a in rows]))


async def followers(call: Call) -> Any:
    return _follow_list(call, followers=True)


async def following(call: Call) -> Any:
    return _follow_list(call, followers=False)


async def empty_list(call: Call) -> Any:
    account_or_404(call.session, call.path_id())
    return []


read = endpoint("read:accounts", body=False)
routes = [
    Route("/api/v1/accounts/verify_credentials", read(verify_credentials)),
    Route("/api/v1/accounts/update_credentials", endpoint("write:accounts")(update_credentials),
          methods=["PATCH", "PUT", "POST"]),
    Route("/api/v1/accounts/lookup", read(lookup)),
    Route("/api/v1/accounts/search", endpoint(("read:accounts", "read:search"),
                                              body=False)(accounts_search)),
    Route("/api/v1/accounts", read(get_accounts), methods=["GET"]),
    Route("/api/v1/accounts/{id}", read(get_account)),
    Route("/api/v1/accounts/{id}/statuses",
          endpoint("read:statuses", body=False, read_only=True)(account_statuses)),
    Route("/api/v1/accounts/{id}/followers", read(followers)),
    Route("/api/v1/accounts/{id}/following", read(following)),
    Route("/api/v1/accounts/{id}/featured_tags", read(empty_list)),
    Route("/api/v1/accounts/{id}/identity_proofs", read(empty_list)),
]
